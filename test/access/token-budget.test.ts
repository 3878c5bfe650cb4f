import { describe, expect, it } from 'vitest';
import { leaveMidStream } from '../support/leave-mid-stream.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { readSse } from '../support/sse.ts';
import { chat, startGateway, type TestGateway, waitFor } from '../support/start-gateway.ts';
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
      // A prefix of its own each time: every start counts from zero.
      const bindings = { ...budget, REDIS_URL: redis.url, REDIS_PREFIX: `budget-${crypto.randomUUID()}:` };
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

describe.each(setups)('token budgets %s, for streams that end early', (_name, start) => {
  it("charge the gateway's own count of a stream the client left or the upstream broke off", async () => {
    const [first, second] = await start();
    const headers = bearer(BOB);
    const remaining = async (gateway: TestGateway) => {
      // Health is not limited; a refused body costs no tokens and still reports the budget.
      const response = await gateway.post('/api/completions', { messages: [] }, { headers });
      expect(response.status).toBe(400);
      return Number(response.headers.get('x-ratelimit-remaining-tokens'));
    };
    expect(await remaining(second)).toBe(50);

    // The client leaves after two words: no usage chunk ever comes, the gateway counts.
    const { logLine } = await leaveMidStream(first, { body: chat(), chunks: 2, headers });
    expect(logLine).toMatchObject({ outcome: 'client_aborted', usage_estimated: true });
    const left = (logLine.usage as { total_tokens: number }).total_tokens;
    expect(left).toBeGreaterThan(0);
    expect(await remaining(second)).toBe(50 - left);

    // The upstream breaks off after one word.
    first.upstream.enqueue({ reset: true, afterChunks: 1 });
    const events = await readSse(
      await first.post('/api/completions/stream', chat(), {
        headers: { ...headers, 'x-request-id': 'broke-off' },
      }),
    );
    expect(events.at(-1)?.event).toBe('error');
    const line = await waitFor(() => first.logs.find((entry) => entry.request_id === 'broke-off'));
    expect(line).toMatchObject({ outcome: 'upstream_error', usage_estimated: true });
    const broke = (line.usage as { total_tokens: number }).total_tokens;
    expect(await remaining(second)).toBe(Math.max(0, 50 - left - broke));
  });
});
