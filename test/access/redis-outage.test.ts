import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-server.ts';
import { chat, startGateway, type TestGateway, waitFor } from '../support/start-gateway.ts';
import { ALICE, bearer, errorOf, KEY_BINDINGS } from './fixtures.ts';

const redis = await startRedisServer();

const gatewayWith = (policy: 'open' | 'closed') =>
  startGateway({
    bindings: {
      ...KEY_BINDINGS,
      REDIS_URL: redis.url,
      REDIS_PREFIX: `${policy}:`,
      REDIS_FAILURE_POLICY: policy,
      REDIS_TIMEOUT_MS: '300',
      RATE_LIMIT_MAX: '100',
      TOKEN_LIMIT_MAX: '100000',
    },
  });

const ask = (gateway: TestGateway) => gateway.post('/api/completions', chat(), { headers: bearer(ALICE) });
const events = (gateway: TestGateway, event: string) => gateway.logs.filter((line) => line.event === event);

describe('Redis killed mid-test, then restarted', () => {
  it('fails open or closed by REDIS_FAILURE_POLICY, logs the outage once, and recovers', async () => {
    const open = await gatewayWith('open');
    const closed = await gatewayWith('closed');
    for (const gateway of [open, closed]) {
      const response = await ask(gateway);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-remaining')).toBe('99');
    }

    await redis.kill();
    expect(await redis.answers()).toBe(false);
    const closedCalls = closed.upstream.requests.length;
    for (let i = 0; i < 3; i++) {
      const served = await ask(open);
      expect(served.status).toBe(200);
      // Served without a limit, so without limit headers that would claim one.
      expect(served.headers.get('ratelimit-remaining')).toBeNull();
      expect(served.headers.get('x-ratelimit-remaining-tokens')).toBeNull();

      const refused = await ask(closed);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await errorOf(refused)).error).toEqual({
        message: expect.stringContaining('rate limits'),
        type: 'server_error',
        param: null,
        code: 'limits_unavailable',
      });
    }
    expect(closed.upstream.requests.length).toBe(closedCalls);
    expect(
      open.logs.filter((line) => line.event === 'request' && line.limits === 'unavailable'),
    ).toHaveLength(3);
    for (const [gateway, policy] of [
      [open, 'open'],
      [closed, 'closed'],
    ] as const) {
      expect(events(gateway, 'redis_unavailable')).toEqual([
        expect.objectContaining({ level: 'error', policy }),
      ]);
      // The log names the outage, never the URL (which may carry a password).
      expect(JSON.stringify(events(gateway, 'redis_unavailable'))).not.toContain(redis.url);
    }

    await redis.restart();
    expect(await redis.answers()).toBe(true);
    const recovered = await waitFor(async () => {
      const response = await ask(closed);
      return response.status === 200 ? response : undefined;
    });
    // A fresh Redis: the counts start again.
    expect(recovered.headers.get('ratelimit-remaining')).toBe('99');
    const again = await waitFor(async () => {
      const response = await ask(open);
      return response.headers.get('ratelimit-remaining') ? response : undefined;
    });
    expect(again.status).toBe(200);
    for (const gateway of [open, closed]) {
      expect(events(gateway, 'redis_recovered')).toHaveLength(1);
      expect(events(gateway, 'redis_unavailable')).toHaveLength(1);
    }
  });
});

describe('Redis unreachable from the start', () => {
  it('serves by the policy at once instead of queueing every request for REDIS_TIMEOUT_MS', async () => {
    const timeoutMs = 10_000;
    const gateway = await startGateway({
      bindings: { ...KEY_BINDINGS, REDIS_URL: 'redis://127.0.0.1:9', REDIS_TIMEOUT_MS: String(timeoutMs) },
    });
    // Once the outage is known (the first connection attempt is refused), no request waits.
    await waitFor(() => events(gateway, 'redis_unavailable').length);
    const started = Date.now();
    for (let i = 0; i < 5; i++) expect((await ask(gateway)).status).toBe(200);
    // Queued, even the first of them would have waited REDIS_TIMEOUT_MS; five take less than one.
    expect(Date.now() - started).toBeLessThan(timeoutMs);
    expect(events(gateway, 'redis_unavailable')).toHaveLength(1);
  });
});

describe('Redis that stalls (SIGSTOP) instead of dying', () => {
  it('costs a request REDIS_TIMEOUT_MS, not forever, then applies the policy; answers again on SIGCONT', async () => {
    const timeoutMs = 1_000;
    const stalled = (policy: 'open' | 'closed') =>
      startGateway({
        bindings: {
          ...KEY_BINDINGS,
          REDIS_URL: redis.url,
          REDIS_PREFIX: `stall-${policy}:`,
          REDIS_FAILURE_POLICY: policy,
          REDIS_TIMEOUT_MS: String(timeoutMs),
          RATE_LIMIT_MAX: '100',
        },
      });
    const [open, closed] = [await stalled('open'), await stalled('closed')];
    // Connected and counting before the stall.
    for (const gateway of [open, closed])
      expect((await ask(gateway)).headers.get('ratelimit-remaining')).toBe('99');

    redis.pause();
    try {
      // The connection stays open and nothing answers: only REDIS_TIMEOUT_MS ends the wait.
      const timed = async (gateway: TestGateway) => {
        const started = Date.now();
        const response = await ask(gateway);
        return { response, elapsed: Date.now() - started };
      };
      const refused = await timed(closed);
      expect(refused.response.status).toBe(503);
      expect((await errorOf(refused.response)).error.code).toBe('limits_unavailable');
      // It waited for the bound (timers never fire early), and the bound, not a hang, ended it:
      // one command timed out and the policy answered.
      expect(refused.elapsed).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(refused.elapsed).toBeLessThan(5 * timeoutMs);
      expect(closed.upstream.requests).toHaveLength(1);

      const served = await timed(open);
      expect(served.response.status).toBe(200);
      expect(served.response.headers.get('ratelimit-remaining')).toBeNull();
      expect(served.elapsed).toBeGreaterThanOrEqual(timeoutMs - 50);
      await served.response.arrayBuffer();
      for (const [gateway, policy] of [
        [open, 'open'],
        [closed, 'closed'],
      ] as const) {
        expect(events(gateway, 'redis_unavailable')).toEqual([
          expect.objectContaining({ level: 'error', policy }),
        ]);
      }
    } finally {
      redis.resume();
    }

    // The same connection answers again: the limits are back with their counts, kept by Redis.
    for (const gateway of [closed, open]) {
      const counted = await waitFor(async () => {
        const response = await ask(gateway);
        return response.headers.get('ratelimit-remaining') ? response : undefined;
      });
      expect(counted.status).toBe(200);
      expect(Number(counted.headers.get('ratelimit-remaining'))).toBeLessThan(99);
      await waitFor(() => events(gateway, 'redis_recovered').length);
    }
  });
});
