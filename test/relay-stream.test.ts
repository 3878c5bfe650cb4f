import { describe, expect, it } from 'vitest';
import { gatewayFrames } from '../src/streaming/gateway-frames.ts';
import { openaiFrames } from '../src/streaming/openai-frames.ts';
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

const relay = (
  onEnd: (summary: StreamSummary) => Promise<void> | void,
  { body = `${chunk('Hello')}${chunk(' there')}${chunk(null)}data: [DONE]\n\n`, format = gatewayFrames } = {},
) =>
  relayStream({
    body: upstreamBody(body),
    upstream: new AbortController(),
    shutdownSignal: new AbortController().signal,
    idleTimeoutMs: 5_000,
    keepaliveMs: 0,
    startedAt: Date.now(),
    format,
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

  it('takes a usage chunk without a choices array, as some compatible servers send it', async () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const usageOnly = `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', usage })}\n\n`;
    const body = `${chunk('Hi')}${chunk(null)}${usageOnly}data: [DONE]\n\n`;
    const summaries: StreamSummary[] = [];
    const gateway = await new Response(relay((summary) => void summaries.push(summary), { body })).text();
    expect(gateway).toBe(
      'data: {"content":"Hi"}\n\n' +
        `event: usage\ndata: ${JSON.stringify({ finish_reason: 'stop', usage })}\n\ndata: [DONE]\n\n`,
    );
    const format = openaiFrames({ includeUsage: false });
    const openai = await new Response(
      relay((summary) => void summaries.push(summary), { body, format }),
    ).text();
    expect(openai).toBe(`${chunk('Hi')}${chunk(null)}data: [DONE]\n\n`);
    expect(summaries.map(({ outcome, usage: counted }) => ({ outcome, counted }))).toEqual([
      { outcome: 'ok', counted: usage },
      { outcome: 'ok', counted: usage },
    ]);
  });
});
