import { describe, expect, it } from 'vitest';
import { responsesReader } from '../../src/streaming/responses-reader.ts';
import { sseRelay } from '../../src/streaming/sse-relay.ts';

const event = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

/** The relay over a Responses reader, fed `frames` (split at awkward places), to the end. */
async function relay(frames: string[]) {
  const reader = responsesReader({ startedAt: Date.now() });
  async function* body() {
    for (const text of frames) yield new TextEncoder().encode(text);
  }
  const out = sseRelay({
    body: body(),
    upstream: new AbortController(),
    shutdownSignal: new AbortController().signal,
    idleTimeoutMs: 5_000,
    keepaliveMs: 0,
    reader,
    onEnd: () => {},
  });
  return { text: await new Response(out).text(), summary: reader.summary };
}

describe('the Responses stream reader', () => {
  it('reads text deltas without parsing them, escapes and all, and usage from response.completed', async () => {
    const deltas = ['He said "hi"', '\n\u00e9\u4f60', ' \\o/ ', '\ud83d\ude00'];
    const stream = [
      event({
        type: 'response.created',
        response: { id: 'resp_1', status: 'in_progress' },
        sequence_number: 0,
      }),
      ...deltas.map((delta, index) =>
        event({
          type: 'response.output_text.delta',
          item_id: 'm',
          delta,
          logprobs: [],
          sequence_number: index + 1,
        }),
      ),
      event({
        type: 'response.completed',
        response: {
          id: 'resp_1',
          status: 'completed',
          usage: { input_tokens: 5, output_tokens: 4, total_tokens: 9 },
        },
        sequence_number: 5,
      }),
    ].join('');
    // Split every 7 bytes: events and UTF-8 sequences arrive in pieces.
    const pieces = Array.from({ length: Math.ceil(stream.length / 7) }, (_, i) =>
      stream.slice(i * 7, i * 7 + 7),
    );
    const { text, summary } = await relay(pieces);
    expect(text).toBe(stream);
    expect(summary).toMatchObject({
      outcome: 'ok',
      responseId: 'resp_1',
      finishReason: 'completed',
      completionText: deltas.join(''),
      contentDeltas: 4,
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
  });

  it('ends a stream that stops before its final event with an error event numbered after the last', async () => {
    const { text, summary } = await relay([
      event({ type: 'response.created', response: { id: 'resp_2' }, sequence_number: 0 }),
      event({ type: 'response.output_text.delta', delta: 'Hi', sequence_number: 1 }),
    ]);
    const last = text.split('\n\n').filter(Boolean).at(-1) ?? '';
    expect(last.split('\n')[0]).toBe('event: error');
    expect(JSON.parse(last.split('\n')[1]?.slice(6) ?? '')).toMatchObject({
      type: 'error',
      code: 'upstream_unavailable',
      sequence_number: 2,
    });
    expect(summary).toMatchObject({ outcome: 'upstream_error', completionText: 'Hi', usage: null });
  });
});
