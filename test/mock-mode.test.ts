import { describe, expect, it } from 'vitest';
import { contentOf, readSse } from './support/sse.ts';
import { chat, startGateway } from './support/start-gateway.ts';

// No OPENAI_API_KEY: the built-in mock model answers through the same relay as a real upstream.
const gateway = await startGateway({ bindings: { OPENAI_API_KEY: '', MOCK_TOKEN_DELAY_MS: '15' } });

describe('mock mode (no OPENAI_API_KEY)', () => {
  it('says so once, with how to switch, and in /api/health', async () => {
    const notices = gateway.logs.filter((line) => line.event === 'mock_mode');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toContain('Set OPENAI_API_KEY');
    expect(gateway.mode).toBe('mock');
    expect((await (await fetch(`${gateway.url}/api/health`)).json()).mode).toBe('mock');
  });

  it('streams a deterministic reply word by word, with usage and [DONE]', async () => {
    const first = await readSse(await gateway.post('/api/completions/stream', chat('Tell me a story')));
    const second = await readSse(await gateway.post('/api/completions/stream', chat('Tell me a story')));
    const text = contentOf(first);
    expect(text).toContain('mock model');
    expect(text).toContain('Tell me a story');
    expect(contentOf(second)).toBe(text);
    const deltas = first.filter((event) => event.event === 'message' && event.data !== '[DONE]');
    expect(deltas.length).toBe(text.split(' ').length);
    expect((deltas.at(-1)?.at ?? 0) - (deltas[0]?.at ?? 0)).toBeGreaterThan(15 * (deltas.length - 4));
    const usage = first.find((event) => event.event === 'usage');
    expect(JSON.parse(usage?.data ?? '')).toEqual({
      finish_reason: 'stop',
      usage: {
        prompt_tokens: expect.any(Number),
        completion_tokens: deltas.length,
        total_tokens: expect.any(Number),
      },
    });
    expect(first.at(-1)?.data).toBe('[DONE]');
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('answers JSON completions and honours max_tokens', async () => {
    const body = await (await gateway.post('/api/completions', chat('hi', { max_tokens: 4 }))).json();
    expect(body).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: 4 } });
    expect(body.content.split(' ').filter(Boolean)).toHaveLength(4);
  });
});
