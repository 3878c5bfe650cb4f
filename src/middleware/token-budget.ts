import type { Context, MiddlewareHandler } from 'hono';
import { tokenLimitReached } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { TokenStore, TokenWindow } from '../stores/stores.ts';
import { limitKeyOf, type StoreFailurePolicy } from './limit-policy.ts';

type Options = {
  store: TokenStore;
  /** TOKEN_LIMIT_MAX; 0 turns budgets off. */
  limit: number;
  windowMs: number;
  onStoreFailure: StoreFailurePolicy;
};

/**
 * TOKEN_LIMIT_MAX tokens per TOKEN_LIMIT_WINDOW_MS per client. A request is refused (429) when the
 * budget is already spent; the usage ledger charges it afterwards with what each completion really
 * used (JSON or stream, reported or estimated). Requests already running when the budget runs out
 * still finish, so it can be overshot by them.
 */
export function tokenBudget({ store, limit, windowMs, onStoreFailure }: Options): MiddlewareHandler<AppEnv> {
  return async function tokenBudget(c, next) {
    if (!limit) return next();
    let window: TokenWindow | null = null;
    try {
      window = await store.used(limitKeyOf(c));
    } catch (error) {
      onStoreFailure(c, error);
    }
    if (window) checkBudget(c, limit, windowMs, window);
    await next();
  };
}

/** OpenAI's x-ratelimit-*-tokens headers, and a 429 once nothing is left. */
function checkBudget(c: Context<AppEnv>, limit: number, windowMs: number, window: TokenWindow) {
  const remaining = Math.max(0, limit - window.used);
  const resetSeconds = Math.max(1, Math.ceil(window.resetMs / 1000));
  const headers = {
    'X-RateLimit-Limit-Tokens': String(limit),
    'X-RateLimit-Remaining-Tokens': String(remaining),
    'X-RateLimit-Reset-Tokens': `${resetSeconds}s`,
  };
  if (remaining === 0) {
    throw tokenLimitReached(limit, windowMs, { ...headers, 'Retry-After': String(resetSeconds) });
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}
