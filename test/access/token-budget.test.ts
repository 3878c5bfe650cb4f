import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-server.ts';
import { readSse } from '../support/sse.ts';
import { chat, startGateway, type TestGateway } from '../support/start-gateway.ts';
import { ALICE, BOB, bearer, errorOf, KEY_BINDINGS } from './fixtures.ts';

// The fake upstream reports 12 prompt tokens and one completion token per word: 23 per request.
const PER_REQUEST = 23;
// A day, so the epoch-aligned window cannot roll over mid-test.
const budget = { ...KEY_BINDINGS, TOKEN_LIMIT_MAX: '50', TOKEN_LIMIT_WINDOW_MS: '86400000' };

const redis = await startRedisServer();

const setups: [string, () => Promise<[TestGateway, TestGateway]>][] = [
  [
    'in memory, one instance',
    async () => {
      const gateway = await startGateway({ bindings: budget });
      return [gateway, gateway];
    },
  ],
  [
    'in Redis, shared by two instances',
    async () => {
      const bindings = { ...budget, REDIS_URL: redis.url, REDIS_PREFIX: 'budget:' };
      return Promise.all([startGateway({ bindings }), startGateway({ bindings })]);
    },
  ],
];

describe.each(setups)('token budgets %s', (_name, start) => {
  it('charge JSON and streamed usage, and refuse the request after the budget is spent', async () => {
    const [first, second] = await start();
    const remaining = (response: Response) => response.headers.get('x-ratelimit-remaining-tokens');
    const headers = bearer(ALICE);

    const json = await first.post('/api/completions', chat(), { headers });
    expect(json.status).toBe(200);
    expect(remaining(json)).toBe('50');
    expect(json.headers.get('x-ratelimit-limit-tokens')).toBe('50');
    expect((await json.json()).usage.total_tokens).toBe(PER_REQUEST);

    // Charged with the stream's usage before the stream closed: the next request already sees it.
    const stream = await second.post('/api/completions/stream', chat(), { headers });
    expect(remaining(stream)).toBe(String(50 - PER_REQUEST));
    expect((await readSse(stream)).at(-1)?.data).toBe('[DONE]');

    const v1 = await first.post('/v1/chat/completions', { model: 'gpt-4o-mini', ...chat() }, { headers });
    expect(v1.status).toBe(200);
    expect(remaining(v1)).toBe(String(50 - 2 * PER_REQUEST));
    await v1.json();

    const upstreamCalls =
      first.upstream.requests.length + (first === second ? 0 : second.upstream.requests.length);
    expect(upstreamCalls).toBe(3);
    const refused = await second.post('/api/completions', chat(), { headers });
    expect(refused.status).toBe(429);
    expect(remaining(refused)).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await errorOf(refused)).error).toEqual({
      message: expect.stringContaining('50 tokens per 86400 s'),
      type: 'tokens',
      param: null,
      code: 'rate_limit_exceeded',
    });
    expect(first.upstream.requests.length + (first === second ? 0 : second.upstream.requests.length)).toBe(3);

    // Another key has its own budget.
    const other = await second.post('/api/completions', chat(), { headers: bearer(BOB) });
    expect(other.status).toBe(200);
    expect(remaining(other)).toBe('50');
  });
});
