import type { Context, MiddlewareHandler } from 'hono';
import { tokenLimitReached } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError, type Logger } from '../logger.ts';
import { type Stores, StoreUnavailableError, type TokenStore, type TokenWindow } from '../stores/stores.ts';
import { limitKeyOf, whenStoreFails } from './limit-policy.ts';

type Options = {
  stores: (config: Config, log: Logger) => Stores;
  isPublic: (path: string) => boolean;
};

type Usage = { total_tokens: number } | null | undefined;

const noCharge = async () => {};

/**
 * TOKEN_LIMIT_MAX tokens per TOKEN_LIMIT_WINDOW_MS per client. A request is refused (429) when the
 * budget is already spent; it is charged afterwards, through `chargeTokens`, with the usage that
 * usage accounting settles for every completion (JSON or stream, reported or estimated).
 * Requests already running when the budget runs out still finish, so it can be overshot by them.
 */
export function tokenBudget({ stores, isPublic }: Options): MiddlewareHandler<AppEnv> {
  return async function tokenBudget(c, next) {
    const config = c.get('config');
    const limit = config.TOKEN_LIMIT_MAX;
    if (!limit || isPublic(c.req.path)) {
      c.set('chargeTokens', noCharge);
      return next();
    }
    const tokens = stores(config, c.get('log')).tokens;
    const clientKey = limitKeyOf(c);
    let window: TokenWindow | null = null;
    try {
      window = await tokens.used(clientKey);
    } catch (error) {
      whenStoreFails(c, error);
    }
    if (window) checkBudget(c, limit, config.TOKEN_LIMIT_WINDOW_MS, window);
    c.set('chargeTokens', charger(c, tokens, clientKey));
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

function charger(c: Context<AppEnv>, tokens: TokenStore, clientKey: string) {
  return async (usage: Usage) => {
    const spent = usage?.total_tokens;
    if (typeof spent !== 'number' || !(spent > 0)) return;
    try {
      await tokens.charge(clientKey, Math.ceil(spent));
    } catch (error) {
      // The store logs its own outage once; a lost charge only under-counts, so the answer stands.
      if (!(error instanceof StoreUnavailableError)) {
        c.get('log').error('usage_not_charged', { request_id: c.get('requestId'), ...describeError(error) });
      }
    }
  };
}
