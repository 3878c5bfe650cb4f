import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY } from './support/fake-upstream.ts';
import { contentOf, expectedGatewayStream, readSse, sseEvents } from './support/sse.ts';
import { chat, startGateway, waitFor } from './support/start-gateway.ts';

const gateway = await startGateway({ bindings: { REQUEST_TIMEOUT: '400' } });
const words = DEFAULT_REPLY.match(/\S+\s*/g) ?? [];

describe('POST /api/completions/stream', () => {
  it('streams one data frame per delta, then a usage event, then [DONE]', async () => {
    const response = await gateway.post('/api/completions/stream', chat());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toContain('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');

    const raw = await response.text();
    expect(raw).toBe(expectedGatewayStream(words));
  });

  it('asks the upstream for usage and forwards the model and parameters it was given', async () => {
    await gateway
      .post('/api/completions/stream', chat('hi', { model: 'gpt-4.1', temperature: 0.3, seed: 7 }))
      .then((r) => r.text());
    const body = gateway.upstream.requests.at(-1)?.body;
    expect(body).toMatchObject({
      model: 'gpt-4.1',
      temperature: 0.3,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('uses DEFAULT_MODEL when the body names none', async () => {
    await gateway.post('/api/completions/stream', chat()).then((r) => r.text());
    expect(gateway.upstream.requests.at(-1)?.body?.model).toBe('gpt-4o-mini');
  });

  it('delivers deltas as they arrive, not at the end', async () => {
    gateway.upstream.enqueue({ chunkDelayMs: 60 });
    const response = await gateway.post('/api/completions/stream', chat());
    const events = await readSse(response);
    const deltas = events.filter((event) => event.event === 'message' && event.data !== '[DONE]');
    expect(deltas).toHaveLength(words.length);
    // Spread over time: the first frame came long before the last.
    const last = deltas.at(-1);
    const first = deltas[0];
    expect(first && last && last.at - first.at).toBeGreaterThan(60 * (words.length - 3));
  });

  it('turns an upstream error after the stream began into an error event and ends the stream', async () => {
    gateway.upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(contentOf(events.slice(0, 2))).toBe(words.slice(0, 2).join(''));
    const last = events.at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '')).toEqual({
      error: {
        message: expect.stringContaining('upstream'),
        type: 'upstream_error',
        param: null,
        code: 'upstream_unavailable',
      },
    });
    expect(events.some((event) => event.data === '[DONE]')).toBe(false);
  });

  it('reports a connection reset mid-stream as an error event', async () => {
    gateway.upstream.enqueue({ reset: true, afterChunks: 3 });
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(events.filter((event) => event.event === 'message')).toHaveLength(3);
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '').error.type).toBe('upstream_error');
  });

  it('reports a malformed upstream chunk as an error event', async () => {
    gateway.upstream.enqueue({ malformed: true, afterChunks: 1 });
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '').error.code).toBe('upstream_unavailable');
  });

  it('ends a stream whose upstream goes quiet for REQUEST_TIMEOUT with a timeout event', async () => {
    gateway.upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
    const started = Date.now();
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '').error).toMatchObject({
      type: 'timeout_error',
      code: 'upstream_timeout',
    });
    await waitFor(() => gateway.upstream.requests.at(-1)?.aborted === true);
  });

  it('bounds the idle gap, not the total: a slow but steady stream completes', async () => {
    gateway.upstream.enqueue({ chunkDelayMs: 150 });
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(contentOf(events)).toBe(DEFAULT_REPLY);
  });

  it('answers 504 JSON when the upstream sends no headers within REQUEST_TIMEOUT', async () => {
    gateway.upstream.enqueue({ hang: 'before-headers' });
    const response = await gateway.post('/api/completions/stream', chat());
    expect(response.status).toBe(504);
    expect((await response.json()).error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' });
  });

  it.each([
    [429, 429],
    [500, 502],
    [503, 502],
    [400, 400],
  ])('maps an upstream %i before the stream to a %i JSON error', async (upstreamStatus, status) => {
    gateway.upstream.enqueue({ status: upstreamStatus, headers: { 'retry-after': '7' } });
    const response = await gateway.post('/api/completions/stream', chat());
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = await response.json();
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    if (status === 429) expect(response.headers.get('retry-after')).toBe('7');
  });

  it('aborts the upstream request when the client disconnects, and keeps serving', async () => {
    gateway.upstream.enqueue({ chunkDelayMs: 50 });
    const client = new AbortController();
    const response = await gateway.post('/api/completions/stream', chat(), { signal: client.signal });
    const iterator = sseEvents(response);
    await iterator.next();
    await iterator.next();
    const upstreamRequest = gateway.upstream.requests.at(-1);
    client.abort();
    await waitFor(() => upstreamRequest?.aborted === true, 2_000);
    expect(upstreamRequest?.chunksSent).toBeLessThan(words.length);
    await waitFor(() => gateway.logs.some((line) => line.outcome === 'client_aborted'), 2_000);

    const next = await gateway.post('/api/completions/stream', chat());
    expect(contentOf(await readSse(next))).toBe(DEFAULT_REPLY);
  });

  it('writes one access log line per stream, when it ends, with usage and outcome', async () => {
    const response = await gateway.post('/api/completions/stream', chat(), {
      headers: { 'x-request-id': 'stream-log-1' },
    });
    expect(response.headers.get('x-request-id')).toBe('stream-log-1');
    await response.text();
    const lines = gateway.logs.filter((line) => line.request_id === 'stream-log-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: 'request',
      method: 'POST',
      path: '/api/completions/stream',
      status: 200,
      outcome: 'ok',
      model: 'gpt-4o-mini',
      finish_reason: 'stop',
      usage: { prompt_tokens: 12, completion_tokens: words.length },
    });
    expect(typeof lines[0]?.ttft_ms).toBe('number');
  });

  it('keeps a quiet stream alive with SSE comments, which clients skip', async () => {
    const quiet = await startGateway({
      bindings: { SSE_KEEPALIVE_MS: '100', REQUEST_TIMEOUT: '2000' },
      upstreamDefaults: { chunkDelayMs: 350 },
    });
    const raw = await (await quiet.post('/api/completions/stream', chat())).text();
    // About three keepalives in each 350 ms gap between words.
    expect(raw.split(': keepalive\n\n').length - 1).toBeGreaterThanOrEqual(words.length);
    const withoutComments = raw.replaceAll(': keepalive\n\n', '');
    expect(withoutComments.startsWith(`data: ${JSON.stringify({ content: words[0] })}\n\n`)).toBe(true);
    expect(withoutComments.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
