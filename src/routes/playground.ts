import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { notFound } from '../errors.ts';
import { playgroundPage } from '../playground/page.ts';

/** `GET /playground` (and `/` redirects there): on by default outside production, or with PLAYGROUND=on. */
export function playgroundRoute() {
  return new Hono<AppEnv>()
    .get('/', (c) => {
      requireEnabled(c);
      return c.redirect('/playground');
    })
    .get('/playground', (c) => {
      requireEnabled(c);
      // The page's own script and style only: a nonce per response, nothing else may run.
      const nonce = crypto.randomUUID().replaceAll('-', '');
      c.header(
        'Content-Security-Policy',
        `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
      );
      return c.html(playgroundPage(nonce));
    });
}

function requireEnabled(c: Context<AppEnv>) {
  const { PLAYGROUND, NODE_ENV } = c.get('config');
  const enabled = PLAYGROUND ? PLAYGROUND === 'on' : NODE_ENV !== 'production';
  if (!enabled) throw notFound(c.req.path);
}
