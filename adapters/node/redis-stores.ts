import { type RedisClient, RedisStore, type Store } from 'hono-rate-limiter';
import { Redis } from 'ioredis';
import type { AppEnv } from '../../src/app-env.ts';
import type { Config } from '../../src/config.ts';
import { describeError, type Logger } from '../../src/logger.ts';
import { type Stores, StoreUnavailableError, type TokenStore } from '../../src/stores/stores.ts';
import { redisCooldownStore } from './redis-cooldown-store.ts';
import { redisResponseOwners } from './redis-response-owners.ts';
import { redisStreamLogStore } from './redis-stream-log-store.ts';
import { redisUsageStore } from './redis-usage-store.ts';

/**
 * Limits, usage and upstream cooldowns shared by every instance through one Redis. Node and Lambda
 * only (ioredis opens TCP sockets), so it lives beside their adapters and the Workers bundle never
 * contains it.
 */
export function redisStores(config: Config, log: Logger): Stores {
  const redis = new Redis(config.REDIS_URL ?? '', {
    // Bounds every command, queued ones included: a slow Redis costs a request at most this long
    // before REDIS_FAILURE_POLICY applies.
    commandTimeout: config.REDIS_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_TIMEOUT_MS, 1_000),
    maxRetriesPerRequest: 1,
    // Reconnect forever, at most 2 s apart, so limits come back on their own when Redis does.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  const run = watchConnection(redis, log, config.REDIS_FAILURE_POLICY);
  const prefix = config.REDIS_PREFIX;
  const streamLogs = redisStreamLogStore(redis, run, config);
  return {
    kind: 'redis',
    requests: guardedRequestStore(new RedisStore<AppEnv>({ client: scriptClient(redis), prefix }), run),
    tokens: redisTokenStore(redis, run, `${prefix}tokens:`, config.TOKEN_LIMIT_WINDOW_MS),
    usage: redisUsageStore(redis, run, `${prefix}usage:`),
    cooldowns: redisCooldownStore(redis, run, prefix),
    responseOwners: redisResponseOwners(redis, run, `${prefix}response:`, config.RESPONSE_OWNER_TTL_SECONDS),
    streamLogs,
    async close() {
      run.closing = true;
      await streamLogs.close?.();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

type Run = (<T>(command: () => Promise<T>) => Promise<T>) & { closing: boolean };

/**
 * Runs store commands; any failure becomes a StoreUnavailableError. An outage is logged once when
 * it starts and once when it ends, not once per request.
 */
function watchConnection(redis: Redis, log: Logger, policy: string): Run {
  let down = false;
  const failed = (error: unknown) => {
    if (down || run.closing) return;
    down = true;
    log.error('redis_unavailable', { policy, ...describeError(error) });
  };
  const recovered = () => {
    if (!down) return;
    down = false;
    log.info('redis_recovered', { policy });
  };
  redis.on('ready', recovered);
  // Without an 'error' listener ioredis prints every failed reconnect to stderr.
  redis.on('error', failed);
  redis.on('close', () => failed(new Error('Redis connection closed')));
  const run = (async (command) => {
    // Queueing is right while the first connection opens. Once an outage began, each request
    // waiting REDIS_TIMEOUT_MS in the queue would only add latency, and pile up stale commands.
    if (down && redis.status !== 'ready') throw new StoreUnavailableError('Redis is not connected');
    try {
      const result = await command();
      recovered();
      return result;
    } catch (error) {
      failed(error);
      throw new StoreUnavailableError('Redis did not answer', { cause: error });
    }
  }) as Run;
  run.closing = false;
  return run;
}

/** hono-rate-limiter's client shape over ioredis (its docs show @upstash/redis, whose calls differ). */
function scriptClient(redis: Redis): RedisClient {
  return {
    scriptLoad: (script) => redis.script('LOAD', script) as Promise<string>,
    evalsha: <TArgs extends unknown[], TData = unknown>(sha1: string, keys: string[], args: TArgs) =>
      redis.evalsha(sha1, keys.length, ...keys, ...(args as string[])) as Promise<TData>,
    decr: (key) => redis.decr(key),
    del: (key) => redis.del(key),
  };
}

function guardedRequestStore(inner: RedisStore<AppEnv>, run: Run): Store<AppEnv> {
  return {
    prefix: inner.prefix,
    localKeys: false,
    init: (options) => inner.init(options),
    get: (key) => run(() => inner.get(key)),
    increment: (key) => run(() => inner.increment(key)),
    decrement: (key) => run(() => inner.decrement(key)),
    resetKey: (key) => run(() => inner.resetKey(key)),
  };
}

function redisTokenStore(redis: Redis, run: Run, prefix: string, windowMs: number): TokenStore {
  // The window's number is part of the key, so instances agree without sharing a start time;
  // the expiry only tidies up.
  const slot = (clientKey: string) => {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    return { key: `${prefix}${window}:${clientKey}`, resetMs: (window + 1) * windowMs - now };
  };
  return {
    used: (clientKey) =>
      run(async () => {
        const { key, resetMs } = slot(clientKey);
        return { used: Number((await redis.get(key)) ?? 0), resetMs };
      }),
    charge: (clientKey, tokens) =>
      run(async () => {
        const { key, resetMs } = slot(clientKey);
        const results = await redis
          .multi()
          .incrby(key, tokens)
          .pexpire(key, resetMs + 1_000)
          .exec();
        for (const [error] of results ?? []) if (error) throw error;
      }),
  };
}
