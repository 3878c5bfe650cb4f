import { describe, expect, it } from 'vitest';
import { contentOf, readSse } from '../support/sse.ts';
import { chat } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

// No OPENAI_API_KEY secret: the built-in mock model answers, in workerd as on Node.
const worker = await startWorker({ vars: { OPENAI_API_KEY: '', MOCK_TOKEN_DELAY_MS: '15' } });

describe('mock mode in workerd (no OPENAI_API_KEY)', () => {
  it('says so in /api/health, and logs the notice once per isolate, not once per request', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await worker.get('/api/health');
      expect(await response.json()).toMatchObject({ status: 'ok', mode: 'mock' });
    }
    const notices = worker.logs.filter((line) => line.event === 'mock_mode');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toContain('Set OPENAI_API_KEY');
  });

  it('streams the mock reply word by word, with usage and [DONE], without calling any upstream', async () => {
    const events = await readSse(await worker.post('/api/completions/stream', chat('Tell me a story')));
    const text = contentOf(events);
    expect(text).toContain('mock model');
    expect(text).toContain('Tell me a story');
    const deltas = events.filter((event) => event.event === 'message' && event.data !== '[DONE]');
    expect((deltas.at(-1)?.at ?? 0) - (deltas[0]?.at ?? 0)).toBeGreaterThan(15 * (deltas.length - 4));
    expect(events.at(-2)?.event).toBe('usage');
    expect(JSON.parse(events.at(-2)?.data ?? '')).toMatchObject({
      finish_reason: 'stop',
      usage: { completion_tokens: deltas.length },
    });
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(worker.upstream.requests).toHaveLength(0);
  });

  it('answers JSON completions and honours max_tokens', async () => {
    const response = await worker.post('/api/completions', chat('hi', { max_tokens: 4 }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: 4 } });
    expect(body.content.split(' ').filter(Boolean)).toHaveLength(4);
  });
});
