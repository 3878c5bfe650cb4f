import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { notFound } from '../errors.ts';
import { playgroundPage } from '../playground/page.ts';

/** `GET /playground` (and `/` redirects there): on by default outside production, or with PLAYGROUND=on. */
export function playgroundRoute({ enabled }: { enabled: boolean }) {
  return new Hono<AppEnv>()
    .get('/', (c) => {
      if (!enabled) throw notFound(c.req.path);
      return c.redirect('/playground');
    })
    .get('/playground', (c) => {
      if (!enabled) throw notFound(c.req.path);
      // The page's own script and style only: a nonce per response, nothing else may run.
      const nonce = crypto.randomUUID().replaceAll('-', '');
      c.header(
        'Content-Security-Policy',
        `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
      );
      return c.html(playgroundPage(nonce));
    });
}

export const playgroundEnabled = ({ PLAYGROUND, NODE_ENV }: Config) =>
  PLAYGROUND ?? NODE_ENV !== 'production';
