import type { Store } from 'hono-rate-limiter';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { UsageStore } from '../usage/usage-store.ts';

/** Tokens a client has spent in the current window, and when that window ends. */
export type TokenWindow = { used: number; resetMs: number };

/** Token budgets: fixed windows aligned to the epoch, so every instance agrees on where one starts. */
export interface TokenStore {
  used(clientKey: string): Promise<TokenWindow>;
  charge(clientKey: string, tokens: number): Promise<void>;
}

/** The state limits share: one process's memory, or a Redis every instance talks to. */
export type Stores = {
  kind: 'memory' | 'redis' | 'durable-object';
  /** hono-rate-limiter's store: request counts per window. */
  requests: Store<AppEnv>;
  tokens: TokenStore;
  /** Who spent how many tokens, for GET /api/usage. */
  usage: UsageStore;
  close(): Promise<void>;
};

/** Chosen by the adapter: Redis where TCP sockets exist (Node, Lambda), a Durable Object on Workers. */
export type StoreFactory = (config: Config, log: Logger) => Stores;

/**
 * A shared store could not answer (down, unreachable, too slow). The limit middleware turns it
 * into REDIS_FAILURE_POLICY: serve without the limit, or refuse with a 503.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
