import type { MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import { requestLimitReached } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Stores } from '../stores/stores.ts';
import { limitKeyOf, whenStoreFails } from './limit-policy.ts';

type Options = {
  stores: (config: Config, log: Logger) => Stores;
  isPublic: (path: string) => boolean;
};

/**
 * RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS per client, with hono-rate-limiter: the
 * standard RateLimit-* headers on every answer, and a 429 with Retry-After in OpenAI's shape.
 */
export function rateLimit({ stores, isPublic }: Options): MiddlewareHandler<AppEnv> {
  const limiters = new WeakMap<Config, MiddlewareHandler<AppEnv>>();
  return async function rateLimit(c, next) {
    const config = c.get('config');
    // Built before the first check, so the Node adapter's start-up request opens Redis.
    const { requests } = stores(config, c.get('log'));
    if (!config.RATE_LIMIT_MAX || isPublic(c.req.path)) return next();
    let limiter = limiters.get(config);
    if (!limiter) {
      const { RATE_LIMIT_MAX: limit, RATE_LIMIT_WINDOW_MS: windowMs } = config;
      limiter = rateLimiter<AppEnv>({
        windowMs,
        limit,
        // draft-6: RateLimit-Limit, -Remaining, -Reset and -Policy, plus Retry-After on a 429.
        standardHeaders: 'draft-6',
        keyGenerator: limitKeyOf,
        store: requests,
        handler: () => {
          // RateLimit-* and Retry-After are already on the context: onError's response keeps them.
          throw requestLimitReached(limit, windowMs);
        },
      });
      limiters.set(config, limiter);
    }
    try {
      return await limiter(c, next);
    } catch (error) {
      // A store failure, or the limiter's own 429 (thrown on). A route's errors never get here:
      // Hono answers them where they are thrown.
      whenStoreFails(c, error);
      return next();
    }
  };
}
