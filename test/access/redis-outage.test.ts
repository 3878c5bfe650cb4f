import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-server.ts';
import { chat, startGateway, type TestGateway } from '../support/start-gateway.ts';
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

async function eventually<T>(attempt: () => Promise<T | undefined>, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Redis killed mid-test, then restarted', () => {
  it('fails open or closed by REDIS_FAILURE_POLICY, logs the outage once, and recovers', async () => {
    const open = await gatewayWith('open');
    const closed = await gatewayWith('closed');
    for (const gateway of [open, closed]) {
      const response = await ask(gateway);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-remaining')).toBe('99');
    }

    const pid = redis.pid;
    await redis.kill();
    expect(redis.pid).toBeUndefined();
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
    expect(redis.pid).not.toBe(pid);
    const recovered = await eventually(async () => {
      const response = await ask(closed);
      return response.status === 200 ? response : undefined;
    });
    // A fresh Redis: the counts start again.
    expect(recovered.headers.get('ratelimit-remaining')).toBe('99');
    const again = await eventually(async () => {
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
    const gateway = await startGateway({
      bindings: { ...KEY_BINDINGS, REDIS_URL: 'redis://127.0.0.1:9', REDIS_TIMEOUT_MS: '2000' },
    });
    // The first request may wait out the first connection attempt; later ones must not wait.
    await eventually(async () => (events(gateway, 'redis_unavailable').length ? true : undefined));
    const started = Date.now();
    for (let i = 0; i < 5; i++) expect((await ask(gateway)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(events(gateway, 'redis_unavailable')).toHaveLength(1);
  });
});
