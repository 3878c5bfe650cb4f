import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../src/usage/estimate-tokens.ts';
import { ALICE, BOB, bearer, KEY_BINDINGS } from '../access/fixtures.ts';
import { leaveMidStream } from '../support/leave-mid-stream.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { contentOf, readSse } from '../support/sse.ts';
import { chat, startGateway, waitFor } from '../support/start-gateway.ts';

const redis = await startRedisServer();
const ADMIN = 'admin-key-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };
const bindings = { ...KEY_BINDINGS, ADMIN_API_KEY: ADMIN, RATE_LIMIT_MAX: '0' };

const usageOf = async (url: string, headers: Record<string, string> = admin, query = '') =>
  fetch(`${url}/api/usage${query}`, { headers });

describe('usage tracking', () => {
  it('records exactly the upstream usage of JSON and streamed completions, per key and per model', async () => {
    const gateway = await startGateway({ bindings });
    await gateway.post('/api/completions', chat('a', { model: 'gpt-4.1' }), { headers: bearer(ALICE) });
    await (await gateway.post('/api/completions/stream', chat('b'), { headers: bearer(ALICE) })).text();
    // /v1 without include_usage: the client gets no usage chunk, the gateway still records it.
    const v1 = await gateway.post('/v1/chat/completions', chat('c', { stream: true }), {
      headers: bearer(BOB),
    });
    expect(await v1.text()).not.toContain('"prompt_tokens"');

    const totals = await (await usageOf(gateway.url)).json();
    const one = {
      requests: 1,
      prompt_tokens: 12,
      completion_tokens: 11,
      total_tokens: 23,
      estimated_requests: 0,
    };
    const two = {
      requests: 2,
      prompt_tokens: 24,
      completion_tokens: 22,
      total_tokens: 46,
      estimated_requests: 0,
    };
    expect(totals.by_key).toEqual({ alice: two, bob: one });
    expect(totals.by_model).toEqual({ 'gpt-4.1': one, 'gpt-4o-mini': two });
    expect(totals.total).toMatchObject({ requests: 3, total_tokens: 69 });
    expect(Date.parse(totals.from)).toBeLessThan(Date.now());
  });

  it('accounts a stream the client left as estimated: the prompt and the completion actually relayed', async () => {
    const gateway = await startGateway({ bindings });
    const { logLine: line, replyChunks } = await leaveMidStream(gateway, {
      body: chat('Count me in, please'),
      chunks: 3,
      headers: bearer(ALICE),
    });
    expect(line).toMatchObject({ outcome: 'client_aborted', usage_estimated: true, key_id: 'alice' });
    const usage = line?.usage as { prompt_tokens: number; completion_tokens: number };
    // One token per content delta relayed by the time the abort landed: at least the 3 the client
    // read, fewer than the whole reply.
    expect(usage.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(usage.completion_tokens).toBeLessThan(replyChunks);
    // 3 to prime the reply, 3 per message and its text's estimate (test/usage/estimate-tokens.test.ts).
    const prompt =
      3 + (3 + estimateTokens('You are a helpful assistant.')) + (3 + estimateTokens('Count me in, please'));
    expect(usage.prompt_tokens).toBe(prompt);

    const totals = await (await usageOf(gateway.url)).json();
    expect(totals.by_key.alice).toMatchObject({ requests: 1, estimated_requests: 1, prompt_tokens: prompt });
  });

  it('accounts a stream the upstream broke off as estimated, with its outcome', async () => {
    const gateway = await startGateway({ bindings });
    gateway.upstream.enqueue({ reset: true, afterChunks: 4 });
    const events = await readSse(
      await gateway.post('/api/completions/stream', chat(), {
        headers: { ...bearer(BOB), 'x-request-id': 'broken-1' },
      }),
    );
    expect(events.at(-1)?.event).toBe('error');
    const line = await waitFor(() => gateway.logs.find((entry) => entry.request_id === 'broken-1'));
    expect(line).toMatchObject({ outcome: 'upstream_error', usage_estimated: true, key_id: 'bob' });
    // The fake's words are one delta each: one token per delta relayed.
    const relayed = events.filter((event) => event.event === 'message');
    expect(relayed).toHaveLength(4);
    expect(contentOf(relayed)).toMatch(/\S/);
    expect((line?.usage as { completion_tokens: number } | undefined)?.completion_tokens).toBe(4);
  });

  it('guards /api/usage with ADMIN_API_KEY: 401 without a key, 403 with any other', async () => {
    const gateway = await startGateway({ bindings });
    expect((await usageOf(gateway.url, {})).status).toBe(401);
    const withClientKey = await usageOf(gateway.url, bearer(ALICE));
    expect(withClientKey.status).toBe(403);
    expect((await withClientKey.json()).error.code).toBe('admin_key_required');
    expect((await usageOf(gateway.url, { 'x-api-key': ADMIN })).status).toBe(200);
    expect((await usageOf(gateway.url, admin, '?from=yesterday')).status).toBe(400);
    expect((await usageOf(gateway.url, admin, `?from=${Date.now()}&to=${Date.now() - 1000}`)).status).toBe(
      400,
    );

    const noAdmin = await startGateway({ bindings: KEY_BINDINGS });
    const disabled = await usageOf(noAdmin.url, bearer(ALICE));
    expect(disabled.status).toBe(403);
    expect((await disabled.json()).error.code).toBe('admin_disabled');
  });
});

describe('usage shared through Redis', () => {
  it('two instances on one Redis report one total', async () => {
    const shared = { ...bindings, REDIS_URL: redis.url, REDIS_PREFIX: `usage-${Date.now()}:` };
    const first = await startGateway({ bindings: shared });
    const second = await startGateway({ bindings: shared });
    await first.post('/api/completions', chat(), { headers: bearer(ALICE) });
    await (await second.post('/api/completions/stream', chat(), { headers: bearer(ALICE) })).text();
    await second.post('/api/completions', chat(), { headers: bearer(BOB) });
    for (const gateway of [first, second]) {
      const totals = await (await usageOf(gateway.url)).json();
      expect(totals.by_key.alice).toMatchObject({ requests: 2, total_tokens: 46 });
      expect(totals.by_key.bob).toMatchObject({ requests: 1, total_tokens: 23 });
      expect(totals.total.requests).toBe(3);
    }
  });
});
