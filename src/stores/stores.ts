import type { Store } from 'hono-rate-limiter';
import type { AppEnv } from '../app-env.ts';
import type { UsageStore } from '../usage/usage-store.ts';
import type { StreamLogStore } from './stream-log-store.ts';

/** Tokens a client has spent in the current window, and when that window ends. */
export type TokenWindow = { used: number; resetMs: number };

/** Token budgets: fixed windows aligned to the epoch, so every instance agrees on where one starts. */
export interface TokenStore {
  used(clientKey: string): Promise<TokenWindow>;
  charge(clientKey: string, tokens: number): Promise<void>;
}

/**
 * The state limits and usage share: this process's memory (memory-stores.ts), or a store every
 * instance talks to, which the adapter builds (Redis beside the Node adapter, a Durable Object
 * beside the Workers one) and hands to createApp.
 */
export type Stores = {
  kind: 'memory' | 'redis' | 'dynamodb' | 'durable-object';
  /** hono-rate-limiter's store: request counts per window. */
  requests: Store<AppEnv>;
  tokens: TokenStore;
  /** Who spent how many tokens, for GET /api/usage. */
  usage: UsageStore;
  /** Resumable streams' event logs; createApp keeps them in memory when a store brings none. */
  streamLogs?: StreamLogStore;
  close(): Promise<void>;
};

/**
 * A shared store could not answer (down, unreachable, too slow). The limit middleware turns it
 * into REDIS_FAILURE_POLICY: serve without the limit, or refuse with a 503.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
