import { describe, expect, it } from 'vitest';
import { runtimes } from './support/harness.ts';
import { contentOf, readSse } from './support/sse.ts';
import { chat, waitFor } from './support/start-gateway.ts';

const DELAY_MS = 40;

// No OPENAI_API_KEY: the built-in mock model answers through the same relay as a real upstream,
// on Node and in workerd alike.
describe.each(runtimes)('mock mode (no OPENAI_API_KEY) on %s', async (_name, start) => {
  const gateway = await start({ bindings: { OPENAI_API_KEY: '', MOCK_TOKEN_DELAY_MS: String(DELAY_MS) } });

  it('says so in /api/health, and logs the notice with how to switch once, not once per request', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await gateway.get('/api/health');
      expect(await response.json()).toMatchObject({ status: 'ok', mode: 'mock' });
    }
    // Node logs it at start-up, workerd once per isolate, at its first request.
    const notices = await waitFor(() => {
      const found = gateway.logs.filter((line) => line.event === 'mock_mode');
      return found.length && found;
    });
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toContain('Set OPENAI_API_KEY');
  });

  it('streams a deterministic reply word by word, with usage and [DONE], without calling any upstream', async () => {
    const first = await readSse(await gateway.post('/api/completions/stream', chat('Tell me a story')));
    const second = await readSse(await gateway.post('/api/completions/stream', chat('Tell me a story')));
    const text = contentOf(first);
    expect(text).toContain('mock model');
    expect(text).toContain('Tell me a story');
    expect(contentOf(second)).toBe(text);
    const deltas = first.filter((event) => event.event === 'message' && event.data !== '[DONE]');
    expect(deltas.length).toBe(text.trim().split(' ').length);
    // Word by word, MOCK_TOKEN_DELAY_MS apart: the gateway's writes span DELAY_MS per gap at least
    // (timers never fire early). Only a first frame delayed by half the whole stream could bring
    // its arrival spread under half of that.
    const spread = (deltas.at(-1)?.at ?? 0) - (deltas[0]?.at ?? 0);
    expect(spread).toBeGreaterThanOrEqual((DELAY_MS * (deltas.length - 1)) / 2);
    expect(first.slice(-2).map((event) => event.event)).toEqual(['usage', 'message']);
    expect(JSON.parse(first.at(-2)?.data ?? '')).toEqual({
      finish_reason: 'stop',
      usage: {
        prompt_tokens: expect.any(Number),
        completion_tokens: deltas.length,
        total_tokens: expect.any(Number),
      },
    });
    const { usage } = JSON.parse(first.at(-2)?.data ?? '');
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(first.at(-1)?.data).toBe('[DONE]');
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('answers JSON completions and honours max_tokens', async () => {
    const response = await gateway.post('/api/completions', chat('hi', { max_tokens: 4 }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: 4 } });
    expect(body.content.split(' ').filter(Boolean)).toHaveLength(4);
  });
});
