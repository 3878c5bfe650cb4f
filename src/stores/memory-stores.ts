import { MemoryStore } from 'hono-rate-limiter';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { memoryUsageStore } from '../usage/usage-store.ts';
import { memoryCooldownStore } from './memory-cooldown-store.ts';
import { memoryResponseOwners } from './memory-response-owners.ts';
import { memoryStreamLogStore } from './memory-stream-log-store.ts';
import type { Stores, TokenStore, TokenWindow } from './stores.ts';
import type { StreamLogLimits } from './stream-log-store.ts';

/**
 * Limits kept in this process (or isolate) only. Right for one Node server; on Lambda and Workers
 * every instance counts on its own, so a client gets the limit once per instance.
 */
export function memoryStores(
  config: Pick<
    Config,
    | 'TOKEN_LIMIT_WINDOW_MS'
    | 'RESPONSE_OWNER_TTL_SECONDS'
    | 'STREAM_RESUME_TTL_SECONDS'
    | 'STREAM_RESUME_MAX_STREAMS'
  >,
): Stores {
  const requests = new MemoryStore<AppEnv>();
  return {
    kind: 'memory',
    requests,
    tokens: memoryTokenStore(config.TOKEN_LIMIT_WINDOW_MS),
    usage: memoryUsageStore(),
    cooldowns: memoryCooldownStore(),
    responseOwners: memoryResponseOwners(config.RESPONSE_OWNER_TTL_SECONDS),
    streamLogs: memoryStreamLogStore(streamLogLimits(config)),
    async close() {
      requests.shutdown();
    },
  };
}

// Past this many clients, windows that have ended are swept on the next charge. A sweep on a
// write instead of a timer, because Workers allows no timers outside a request.
const SWEEP_AT = 10_000;

export function memoryTokenStore(windowMs: number): TokenStore {
  const windows = new Map<string, { window: number; used: number }>();
  const current = (): TokenWindow & { window: number } => {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    return { window, used: 0, resetMs: (window + 1) * windowMs - now };
  };
  return {
    async used(clientKey) {
      const now = current();
      const entry = windows.get(clientKey);
      return { used: entry?.window === now.window ? entry.used : 0, resetMs: now.resetMs };
    },
    async charge(clientKey, tokens) {
      const { window } = current();
      const entry = windows.get(clientKey);
      if (entry?.window === window) entry.used += tokens;
      else windows.set(clientKey, { window, used: tokens });
      if (windows.size > SWEEP_AT) {
        for (const [key, value] of windows) if (value.window < window) windows.delete(key);
      }
    },
  };
}

export const streamLogLimits = (
  config: Pick<Config, 'STREAM_RESUME_TTL_SECONDS' | 'STREAM_RESUME_MAX_STREAMS'>,
): StreamLogLimits => ({
  ttlMs: config.STREAM_RESUME_TTL_SECONDS * 1000,
  maxStreams: config.STREAM_RESUME_MAX_STREAMS,
});
