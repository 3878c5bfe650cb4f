import type { DurableObjectNamespace, DurableObjectStub } from 'cloudflare:workers';
import type { Store } from 'hono-rate-limiter';
import type { AppEnv } from '../../src/app-env.ts';
import type { Config } from '../../src/config.ts';
import { describeError, type Logger } from '../../src/logger.ts';
import { type Stores, StoreUnavailableError } from '../../src/stores/stores.ts';
import { summarise } from '../../src/usage/usage-store.ts';
// A type only: this file loads without workerd's `cloudflare:workers`, so Node tests can run it.
import type { GatewayCounters } from './gateway-counters.ts';
import { workersResponseOwners } from './workers-response-owners.ts';

export type CountersNamespace = DurableObjectNamespace<GatewayCounters>;
type Counters = DurableObjectStub<GatewayCounters>;

const KIND: Stores['kind'] = 'durable-object';

/** Where usage for the whole deployment is counted. */
const USAGE_OBJECT = 'usage';
/** Where every upstream's cooldown is kept. No client's object (`key:<id>`, `ip:<address>`) has either name. */
const COOLDOWN_OBJECT = 'cooldowns';

/**
 * Limits, usage and upstream cooldowns shared by every isolate through the GatewayCounters Durable
 * Object: one object per client key (its request and token windows), one for usage, one for
 * cooldowns. Any failure to reach an object, or an answer slower than REDIS_TIMEOUT_MS, becomes a
 * StoreUnavailableError, so REDIS_FAILURE_POLICY applies exactly as it does to Redis.
 */
export function workersStores(namespace: CountersNamespace): (config: Config, log: Logger) => Stores {
  return (config: Config, log: Logger): Stores => {
    const call = caller(namespace, log, config);
    const windowMs = config.TOKEN_LIMIT_WINDOW_MS;
    let requestWindowMs = config.RATE_LIMIT_WINDOW_MS;
    const requests: Store<AppEnv> = {
      prefix: 'counters:',
      localKeys: false,
      init: (options) => {
        requestWindowMs = options.windowMs;
      },
      get: async (key) => {
        const hits = await call(key, (counters) => counters.getHits(key));
        return hits && { totalHits: hits.totalHits, resetTime: new Date(Date.now() + hits.resetMs) };
      },
      increment: async (key) => {
        const hits = await call(key, (counters) => counters.incrementHits(key, requestWindowMs));
        return { totalHits: hits.totalHits, resetTime: new Date(Date.now() + hits.resetMs) };
      },
      decrement: (key) => call(key, (counters) => counters.decrementHits(key)),
      resetKey: (key) => call(key, (counters) => counters.resetHits(key)),
    };
    return {
      kind: KIND,
      requests,
      tokens: {
        used: (clientKey) => call(clientKey, (counters) => counters.usedTokens(clientKey, windowMs)),
        charge: (clientKey, tokens) =>
          call(clientKey, (counters) => counters.chargeTokens(clientKey, tokens, windowMs)),
      },
      cooldowns: {
        health: async (names) =>
          new Map(
            names.length ? await call(COOLDOWN_OBJECT, (counters) => counters.cooldownHealth(names)) : [],
          ),
        failed: (name, rule) => call(COOLDOWN_OBJECT, (counters) => counters.cooldownFailed(name, rule)),
        succeeded: (name) => call(COOLDOWN_OBJECT, (counters) => counters.cooldownSucceeded(name)),
        claimProbe: (name, ttlMs) =>
          call(COOLDOWN_OBJECT, (counters) => counters.claimCooldownProbe(name, ttlMs)),
      },
      usage: {
        record: (record) => call(USAGE_OBJECT, (counters) => counters.recordUsage(record)),
        totals: async (from, to) =>
          summarise(await call(USAGE_OBJECT, (counters) => counters.usageRows(from, to)), from, to),
      },
      responseOwners: workersResponseOwners(call, config.RESPONSE_OWNER_TTL_SECONDS),
      // Nothing to close: a stub holds no connection.
      async close() {},
    };
  };
}

/**
 * Calls one object, bounded by REDIS_TIMEOUT_MS. An outage is logged once when it starts and once
 * when it ends, per isolate, not once per request.
 */
function caller(namespace: CountersNamespace, log: Logger, config: Config) {
  const { REDIS_TIMEOUT_MS: timeoutMs, REDIS_FAILURE_POLICY: policy } = config;
  let down = false;
  return async <T>(name: string, method: (counters: Counters) => Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result = await Promise.race([attempt(namespace, name, method), timeout]);
      if (down) {
        down = false;
        log.info('limit_store_recovered', { store: KIND, policy });
      }
      return result;
    } catch (error) {
      if (!down) {
        down = true;
        log.error('limit_store_unavailable', { store: KIND, policy, ...describeError(error) });
      }
      throw new StoreUnavailableError('The GatewayCounters Durable Object did not answer', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * A fresh stub per call: one that threw may be broken. Errors Cloudflare marks `retryable` (the
 * object was reset, as on every deploy) are tried once more; `overloaded` ones are not, since
 * retrying only adds load. A retried increment may count twice: stricter, never looser.
 */
async function attempt<T>(
  namespace: CountersNamespace,
  name: string,
  method: (counters: Counters) => Promise<T>,
): Promise<T> {
  const stub = () => namespace.get(namespace.idFromName(name));
  try {
    return await method(stub());
  } catch (error) {
    const flags = error as { retryable?: unknown; overloaded?: unknown };
    if (flags?.retryable !== true || flags.overloaded === true) throw error;
    return method(stub());
  }
}
