import { describe, expect, it } from 'vitest';
import { gatewayFrames } from '../src/streaming/gateway-frames.ts';
import { relayStream, type StreamSummary } from '../src/streaming/relay-stream.ts';

const chunk = (content: string | null, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [
      {
        index: 0,
        delta: content === null ? {} : { content },
        finish_reason: content === null ? 'stop' : null,
      },
    ],
    ...extra,
  })}\n\n`;

const upstreamBody = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });

const relay = (onEnd: (summary: StreamSummary) => Promise<void> | void) =>
  relayStream({
    body: upstreamBody(`${chunk('Hello')}${chunk(' there')}${chunk(null)}data: [DONE]\n\n`),
    upstream: new AbortController(),
    shutdownSignal: new AbortController().signal,
    idleTimeoutMs: 5_000,
    keepaliveMs: 0,
    startedAt: Date.now(),
    format: gatewayFrames,
    onEnd,
  });

describe('relayStream', () => {
  it('ends the stream after every frame even when the end-of-stream work fails', async () => {
    let ran = false;
    const text = await new Response(
      relay(async () => {
        ran = true;
        throw new Error('accounting broke');
      }),
    ).text();
    expect(ran).toBe(true);
    expect(text).toBe(
      'data: {"content":"Hello"}\n\ndata: {"content":" there"}\n\n' +
        'event: usage\ndata: {"finish_reason":"stop","usage":null}\n\ndata: [DONE]\n\n',
    );
  });
});
