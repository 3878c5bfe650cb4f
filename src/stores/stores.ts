import type { Store } from 'hono-rate-limiter';
import type { AppEnv } from '../app-env.ts';
import type { UsageStore } from '../usage/usage-store.ts';
import type { ResponseOwnerStore } from './response-owner-store.ts';
import type { StreamLogStore } from './stream-log-store.ts';

/** Tokens a client has spent in the current window, and when that window ends. */
export type TokenWindow = { used: number; resetMs: number };

/** Token budgets: fixed windows aligned to the epoch, so every instance agrees on where one starts. */
export interface TokenStore {
  used(clientKey: string): Promise<TokenWindow>;
  charge(clientKey: string, tokens: number): Promise<void>;
}

/** One upstream's health as every instance sees it. */
export type UpstreamHealth = {
  /** Failures in a row since its last success. */
  failures: number;
  /**
   * Epoch ms until which the upstream is skipped; 0 when it is healthy. Once past, and until a
   * success clears it, the upstream is on probation: one request at a time may probe it.
   */
  coolUntil: number;
};

/** When a failure starts a cooldown, and for how long. */
export type CooldownRule = {
  /** Failures in a row that start a cooldown. */
  threshold: number;
  cooldownMs: number;
  /** Cool down at once for this long, whatever the count (a 429's Retry-After). */
  coolForMs?: number | undefined;
};

/**
 * Upstream cooldowns shared by every instance. nextHealth (memory-cooldown-store.ts) is the rule
 * every implementation applies, atomically per upstream.
 */
export interface CooldownStore {
  /** The named upstreams' health; a healthy one may be absent. One round trip. */
  health(names: string[]): Promise<Map<string, UpstreamHealth>>;
  /** Counts a failure and applies the rule; returns the health it left. */
  failed(name: string, rule: CooldownRule): Promise<UpstreamHealth>;
  /** A success: the count and any cooldown cleared. */
  succeeded(name: string): Promise<void>;
  /** On probation, lets one caller probe the upstream: true for exactly one caller per `ttlMs`. */
  claimProbe(name: string, ttlMs: number): Promise<boolean>;
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
  /** Which upstreams are cooling down after failures (src/upstream/upstream-pool.ts). */
  cooldowns: CooldownStore;
  /** Which client key created each Responses API response (response-owner-store.ts). */
  responseOwners: ResponseOwnerStore;
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
