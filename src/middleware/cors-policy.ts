import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';

type Policy = { allows: (origin: string) => boolean; anyOrigin: boolean; handler: MiddlewareHandler };

/**
 * CORS from CORS_ORIGINS: exact origins, or `*` only when it is listed. Preflights (any OPTIONS)
 * are answered here, before auth and limits, since browsers send no credentials on them. A
 * disallowed or missing Origin gets no CORS headers at all, so the browser blocks the call.
 */
export function corsPolicy(): MiddlewareHandler<AppEnv> {
  const policies = new WeakMap<Config, Policy>();
  return async function corsPolicy(c, next) {
    const config = c.get('config');
    let policy = policies.get(config);
    if (!policy) {
      policy = buildPolicy(config.CORS_ORIGINS);
      policies.set(config, policy);
    }
    const origin = c.req.header('origin');
    if (origin && policy.allows(origin)) return policy.handler(c, next);
    if (c.req.method === 'OPTIONS') return c.body(null, 204);
    await next();
    // The answer depends on Origin (an allowed one would get headers): caches must key on it.
    if (!policy.anyOrigin) c.header('Vary', 'Origin', { append: true });
  };
}

function buildPolicy(origins: string[]): Policy {
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  return {
    anyOrigin,
    allows: (origin) => anyOrigin || allowed.has(origin),
    handler: cors({
      origin: anyOrigin ? '*' : origins,
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'X-Api-Key', 'X-Request-Id'],
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
      ],
      maxAge: 600,
    }),
  };
}
