import { describe, expect, it } from 'vitest';
import { readSse } from './support/sse.ts';
import { createTestApp } from './support/test-app.ts';

describe('/v1/responses in mock mode (no OPENAI_API_KEY)', () => {
  const { app, post, logs } = createTestApp();

  it('answers JSON with the mock model’s reply and usage', async () => {
    const response = await post('/v1/responses', { input: 'Tell me a story' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      id: string;
      status: string;
      output: { content: { text: string }[] }[];
      usage: { input_tokens: number; output_tokens: number; total_tokens: number };
    };
    expect(body).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-4o-mini' });
    expect(body.output[0]?.content[0]?.text).toContain('You said: \u201cTell me a story\u201d');
    expect(body.usage.output_tokens).toBeGreaterThan(5);
    expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
    const retrieved = await app.request(`/v1/responses/${body.id}`);
    expect(((await retrieved.json()) as { id: string }).id).toBe(body.id);
  });

  it('streams OpenAI’s events, ending with response.completed and its usage, accounted as reported', async () => {
    const response = await post('/v1/responses', { input: 'hi', stream: true });
    const events = await readSse(response);
    const types = events.map((event) => event.event);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    const deltas = events.filter((event) => event.event === 'response.output_text.delta');
    const text = deltas.map((event) => (JSON.parse(event.data) as { delta: string }).delta).join('');
    expect(text).toContain('mock model');
    const final = JSON.parse(events.at(-1)?.data ?? '{}') as {
      response: { usage: { output_tokens: number } };
    };
    expect(final.response.usage.output_tokens).toBe(deltas.length);
    const line = logs.find(
      (entry) =>
        entry.event === 'request' && entry.finish_reason === 'completed' && entry.ttft_ms !== undefined,
    );
    expect(line).toMatchObject({ usage_estimated: false, usage: { completion_tokens: deltas.length } });
  });
});
