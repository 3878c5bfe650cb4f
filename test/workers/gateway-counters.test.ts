import { MemoryStore } from 'hono-rate-limiter';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { workersStores } from '../../adapters/workers/workers-stores.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { memoryTokenStore } from '../../src/stores/memory-stores.ts';
import { StoreUnavailableError } from '../../src/stores/stores.ts';
import { HOUR_MS, memoryUsageStore, type UsageRecord } from '../../src/usage/usage-store.ts';
import { localCounters } from './support/local-counters.ts';

/**
 * GatewayCounters' SQL and the store client, in Node: the object on Node's SQLite (workerd's
 * storage is SQLite too), called as RPC calls it. Each contract is checked against the memory
 * store it must behave like, step by step on a fake clock. In workerd itself: shared-state.test.ts
 * (two processes, one object), counters-alarm.test.ts (the alarm as workerd fires it).
 */
const WINDOW_MS = 60_000;
// 12:00:30: half-way through an epoch-aligned minute.
const T0 = Date.UTC(2026, 10, 24, 12, 0, 30);

const setup = (bindings: Record<string, string> = {}) => {
  const local = localCounters();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line)) });
  const config: Config = loadConfig({
    RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
    TOKEN_LIMIT_WINDOW_MS: String(WINDOW_MS),
    ...bindings,
  });
  const stores = workersStores(local.namespace)(config, log);
  stores.requests.init?.({ windowMs: WINDOW_MS } as never);
  return { ...local, stores, lines };
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('GatewayCounters behind the Workers stores', () => {
  it("counts request windows as hono-rate-limiter's MemoryStore does", async () => {
    const { stores } = setup();
    const memory = new MemoryStore();
    memory.init({ windowMs: WINDOW_MS } as never);
    const both = async (step: (store: typeof stores.requests) => unknown) => {
      const results = [await step(memory as never), await step(stores.requests)];
      return results.map((info) =>
        info && typeof info === 'object'
          ? { ...info, resetTime: (info as { resetTime?: Date }).resetTime?.getTime() }
          : info,
      );
    };
    const steps: [number, (store: typeof stores.requests) => unknown][] = [
      [0, (store) => store.increment('ip:a')],
      [1_000, (store) => store.increment('ip:a')],
      [0, (store) => store.increment('ip:b')],
      [0, (store) => store.decrement('ip:a')],
      [0, (store) => store.increment('ip:a')],
      [0, (store) => store.get?.('ip:a')],
      // The window began at the first hit, not on the epoch: it ends 60 s after it.
      [58_999, (store) => store.increment('ip:a')],
      [1, (store) => store.increment('ip:a')],
      [0, (store) => store.resetKey('ip:b')],
      [0, (store) => store.increment('ip:b')],
      // A decrement after its window ended must not reach into the next one.
      [WINDOW_MS, (store) => store.decrement('ip:b')],
      [0, (store) => store.increment('ip:b')],
      [0, (store) => store.decrement('ip:b')],
      [0, (store) => store.decrement('ip:b')],
      [0, (store) => store.increment('ip:b')],
    ];
    for (const [advance, step] of steps) {
      vi.advanceTimersByTime(advance);
      const [expected, actual] = await both(step);
      expect(actual).toEqual(expected);
    }
    memory.shutdown();
  });

  it('counts token windows, aligned to the epoch, as the memory token store does', async () => {
    const { stores } = setup();
    const memory = memoryTokenStore(WINDOW_MS);
    for (const [advance, key, tokens] of [
      [0, 'key:a', 100],
      [10_000, 'key:a', 50],
      [0, 'key:b', 7],
      [19_999, 'key:a', 1],
      [1, 'key:a', 3], // 12:01:00.000, the next window
      [60_000, 'key:b', 0],
    ] as const) {
      vi.advanceTimersByTime(advance);
      if (tokens) {
        await memory.charge(key, tokens);
        await stores.tokens.charge(key, tokens);
      }
      for (const client of ['key:a', 'key:b'])
        expect(await stores.tokens.used(client)).toEqual(await memory.used(client));
    }
  });

  it('sums usage per hour, key and model as the memory usage store does', async () => {
    const { stores } = setup();
    const memory = memoryUsageStore();
    const record = (hoursAgo: number, keyId: string, model: string, estimated = false): UsageRecord => ({
      time: T0 - hoursAgo * HOUR_MS,
      keyId,
      model,
      promptTokens: 10 + hoursAgo,
      completionTokens: 3,
      estimated,
    });
    for (const entry of [
      record(0, 'alice', 'gpt-4o-mini'),
      record(0, 'alice', 'gpt-4o-mini', true),
      record(0, 'bob', 'gpt-4.1'),
      record(2, 'alice', 'gpt-4.1'),
      record(30, 'bob', 'gpt-4o-mini'),
    ]) {
      await memory.record(entry);
      await stores.usage.record(entry);
    }
    for (const [from, to] of [
      [T0 - 48 * HOUR_MS, T0 + 1],
      [T0 - 3 * HOUR_MS, T0 - HOUR_MS],
      [T0 - 1, T0 + 1],
    ]) {
      expect(await stores.usage.totals(from!, to!)).toEqual(await memory.totals(from!, to!));
    }
  });

  it('keeps one object per client, and one for usage', async () => {
    const { stores, object } = setup();
    await stores.requests.increment('key:alice');
    await stores.tokens.charge('key:alice', 5);
    await stores.usage.record({
      time: T0,
      keyId: 'alice',
      model: 'm',
      promptTokens: 1,
      completionTokens: 1,
      estimated: false,
    });
    expect(object('key:alice').storage.count('hits')).toBe(1);
    expect(object('key:alice').storage.count('tokens')).toBe(1);
    expect(object('usage').storage.count('usage')).toBe(1);
    expect(object('usage').storage.count('hits')).toBe(0);
  });

  it("deletes a client's storage once its windows have ended, and counts afresh after", async () => {
    const { stores, object } = setup();
    await stores.requests.increment('key:alice');
    vi.advanceTimersByTime(10_000);
    await stores.tokens.charge('key:alice', 5);
    const { counters, storage } = object('key:alice');
    // One alarm, at the latest end: the request window's (first hit + 60 s), not the token
    // window's (the end of the epoch-aligned minute, T0 + 30 s).
    expect(storage.alarm).toBe(T0 + WINDOW_MS);

    vi.setSystemTime(T0 + 30_000);
    await counters.alarm();
    expect([storage.count('hits'), storage.count('tokens')]).toEqual([1, 0]);
    expect(storage.alarm).toBe(T0 + WINDOW_MS);

    vi.setSystemTime(T0 + WINDOW_MS);
    await counters.alarm();
    expect(storage.alarm).toBeNull();
    expect([storage.count('hits'), storage.count('tokens'), storage.count('usage')]).toEqual([0, 0, 0]);
    expect((await stores.requests.increment('key:alice')).totalHits).toBe(1);
  });
});

describe('the Workers stores when the object fails', () => {
  it('turns a failed call into a StoreUnavailableError, logging the outage and the recovery once', async () => {
    const { stores, control, lines } = setup({ REDIS_FAILURE_POLICY: 'closed' });
    control.failWith = async () => {
      throw new Error('Durable Object is overloaded');
    };
    for (let i = 0; i < 3; i++)
      await expect(stores.tokens.used('key:a')).rejects.toBeInstanceOf(StoreUnavailableError);
    control.failWith = null;
    await stores.tokens.used('key:a');
    await stores.tokens.used('key:a');
    expect(lines.map(({ level, event, store, policy }) => ({ level, event, store, policy }))).toEqual([
      { level: 'error', event: 'limit_store_unavailable', store: 'durable-object', policy: 'closed' },
      { level: 'info', event: 'limit_store_recovered', store: 'durable-object', policy: 'closed' },
    ]);
    expect(lines[0]?.error).toBe('Error: Durable Object is overloaded');
  });

  it('gives up after REDIS_TIMEOUT_MS when the object does not answer', async () => {
    const { stores, control } = setup({ REDIS_TIMEOUT_MS: '250' });
    control.failWith = () => new Promise<never>(() => {});
    const used = stores.tokens.used('key:a');
    const settled = vi.fn();
    used.catch(settled);
    await vi.advanceTimersByTimeAsync(249);
    expect(settled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toHaveBeenCalledWith(expect.any(StoreUnavailableError));
  });

  it('retries once, on a fresh stub, an error Cloudflare marks retryable, but not an overloaded one', async () => {
    const { stores, control } = setup();
    const reset = Object.assign(new Error('Durable Object reset because its code was updated'), {
      retryable: true,
    });
    control.failWith = async (call) => {
      throw call === 1 ? reset : new Error('second attempt');
    };
    await expect(stores.tokens.used('key:a')).rejects.toMatchObject({ cause: { message: 'second attempt' } });
    expect(control.calls).toBe(2);

    const overloaded = Object.assign(new Error('Durable Object is overloaded'), {
      retryable: true,
      overloaded: true,
    });
    control.failWith = async () => {
      throw overloaded;
    };
    await expect(stores.tokens.used('key:a')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(control.calls).toBe(3);
  });
});
