import type { MiddlewareHandler } from 'hono';
import { rateLimiter, type Store } from 'hono-rate-limiter';
import { requestLimitReached } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import { limitKeyOf, type StoreFailurePolicy } from './limit-policy.ts';

type Options = {
  store: Store<AppEnv>;
  /** RATE_LIMIT_MAX; 0 turns the limit off. */
  limit: number;
  windowMs: number;
  onStoreFailure: StoreFailurePolicy;
};

/**
 * RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS per client, with hono-rate-limiter: the
 * standard RateLimit-* headers on every answer, and a 429 with Retry-After in OpenAI's shape.
 */
export function rateLimit({ store, limit, windowMs, onStoreFailure }: Options): MiddlewareHandler<AppEnv> {
  const limiter = rateLimiter<AppEnv>({
    windowMs,
    limit,
    // draft-6: RateLimit-Limit, -Remaining, -Reset and -Policy, plus Retry-After on a 429.
    standardHeaders: 'draft-6',
    keyGenerator: limitKeyOf,
    store,
    handler: () => {
      // RateLimit-* and Retry-After are already on the context: onError's response keeps them.
      throw requestLimitReached(limit, windowMs);
    },
  });
  return async function rateLimit(c, next) {
    if (!limit) return next();
    try {
      return await limiter(c, next);
    } catch (error) {
      // A store failure, or the limiter's own 429 (thrown on). A route's errors never get here:
      // Hono answers them where they are thrown.
      onStoreFailure(c, error);
      return next();
    }
  };
}
