import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../app-env.ts';

/**
 * CORS from CORS_ORIGINS: exact origins, or `*` only when it is listed. Preflights (any OPTIONS)
 * are answered here, before auth and limits, since browsers send no credentials on them. A
 * disallowed or missing Origin gets no CORS headers at all, so the browser blocks the call.
 */
export function corsPolicy({ origins }: { origins: string[] }): MiddlewareHandler<AppEnv> {
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  const handler = cors({
    origin: anyOrigin ? '*' : origins,
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    // X-Stream-Resume and Last-Event-ID: a fetch client's resumable stream (README, "Resumable streams").
    allowHeaders: [
      'Content-Type',
      'Authorization',
      'X-Api-Key',
      'X-Request-Id',
      'X-Stream-Resume',
      'Last-Event-ID',
    ],
    exposeHeaders: [
      'X-Request-Id',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'RateLimit-Policy',
      'X-RateLimit-Limit-Tokens',
      'X-RateLimit-Remaining-Tokens',
      'X-RateLimit-Reset-Tokens',
      'X-Gateway-Upstream',
      'X-Stream-Resume-Url',
    ],
    maxAge: 600,
  });
  return async function corsPolicy(c, next) {
    const origin = c.req.header('origin');
    if (origin && (anyOrigin || allowed.has(origin))) return handler(c, next);
    if (c.req.method === 'OPTIONS') return c.body(null, 204);
    await next();
    // The answer depends on Origin (an allowed one would get headers): caches must key on it.
    if (!anyOrigin) c.header('Vary', 'Origin', { append: true });
  };
}
