import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY } from '../support/fake-upstream.ts';
import { contentOf, expectedGatewayStream, readSse, sseEvents } from '../support/sse.ts';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

// One workerd for the whole file; a short REQUEST_TIMEOUT keeps the timeout cases quick.
const worker = await startWorker({ vars: { REQUEST_TIMEOUT: '500' } });
const words = DEFAULT_REPLY.match(/\S+\s*/g) ?? [];

describe('the gateway in workerd', () => {
  it('starts without runtime warnings (compatibility date and flags are ones workerd accepts)', () => {
    const warnings = worker.runtimeMessages.filter((line) => line.level === 'warn' || line.level === 'error');
    expect(warnings).toEqual([]);
  });

  it('answers health with the upstream mode and a request id', async () => {
    const response = await worker.get('/api/health');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[\w-]{36}$/);
    expect(await response.json()).toMatchObject({ status: 'ok', mode: 'upstream' });
  });

  it('answers a JSON completion from the upstream, with the key sent as a secret', async () => {
    const response = await worker.post('/api/completions', chat('hi', { model: 'gpt-4.1' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^chatcmpl-fake-/),
      model: 'gpt-4.1',
      content: DEFAULT_REPLY,
      finish_reason: 'stop',
      usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length },
    });
    const received = worker.upstream.requests.at(-1);
    expect(received?.headers.authorization).toBe('Bearer sk-test-upstream-key');
    expect(received?.body).toMatchObject({ model: 'gpt-4.1', stream: false });
  });

  it('streams the same frames as on Node: one per delta, then usage, then [DONE]', async () => {
    const response = await worker.post('/api/completions/stream', chat());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.text()).toBe(expectedGatewayStream(words));
    expect(worker.upstream.requests.at(-1)?.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('delivers frames while the upstream is still sending, not when it finishes', async () => {
    worker.upstream.enqueue({ chunkDelayMs: 60 });
    const response = await worker.post('/api/completions/stream', chat());
    const upstreamRequest = worker.upstream.requests.at(-1);
    const frames = sseEvents(response);
    const first = (await frames.next()).value;
    const sentByThen = upstreamRequest?.chunksSent;
    const events = first ? [first] : [];
    for await (const event of frames) events.push(event);

    expect(sentByThen).toBeLessThan(words.length);
    const deltas = events.filter((event) => event.event === 'message' && event.data !== '[DONE]');
    expect(contentOf(deltas)).toBe(DEFAULT_REPLY);
    expect((deltas.at(-1)?.at ?? 0) - (deltas[0]?.at ?? 0)).toBeGreaterThan(60 * (words.length - 3));
  });

  it.each([
    ['messages', { messages: [] }],
    ['temperature', chat('hi', { temperature: 3 })],
  ])('rejects an invalid %s with a 400 naming it, before calling the upstream', async (param, body) => {
    const sent = worker.upstream.requests.length;
    const response = await worker.post('/api/completions/stream', body);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ type: 'invalid_request_error', param });
    expect(worker.upstream.requests).toHaveLength(sent);
  });

  it.each([
    ['/api/completions', 429, 429, 'rate_limit_exceeded'],
    ['/api/completions/stream', 429, 429, 'rate_limit_exceeded'],
    ['/api/completions/stream', 500, 502, 'upstream_error'],
    ['/api/completions/stream', 503, 502, 'upstream_error'],
  ])('maps an upstream %s %i to a %i JSON error', async (path, upstreamStatus, status, type) => {
    worker.upstream.enqueue({ status: upstreamStatus, headers: { 'retry-after': '7' } });
    const response = await worker.post(path, chat());
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect((await response.json()).error).toMatchObject({ type });
    if (status === 429) expect(response.headers.get('retry-after')).toBe('7');
  });

  it('answers 504 when the upstream sends no headers within REQUEST_TIMEOUT', async () => {
    worker.upstream.enqueue({ hang: 'before-headers' });
    const response = await worker.post('/api/completions/stream', chat());
    expect(response.status).toBe(504);
    expect((await response.json()).error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' });
  });

  it('turns an upstream error after the stream began into an error event, and ends the stream', async () => {
    worker.upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    const events = await readSse(await worker.post('/api/completions/stream', chat()));
    expect(contentOf(events.slice(0, 2))).toBe(words.slice(0, 2).join(''));
    expect(events.slice(2).map((event) => event.event)).toEqual(['error']);
    expect(JSON.parse(events[2]?.data ?? '')).toEqual({
      error: {
        message: expect.stringContaining('upstream'),
        type: 'upstream_error',
        param: null,
        code: 'upstream_unavailable',
      },
    });
  });

  it('reports a connection reset mid-stream as an error event', async () => {
    worker.upstream.enqueue({ reset: true, afterChunks: 3 });
    const events = await readSse(await worker.post('/api/completions/stream', chat()));
    expect(events.filter((event) => event.event === 'message')).toHaveLength(3);
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '').error.type).toBe('upstream_error');
  });

  it('ends a stream whose upstream goes quiet for REQUEST_TIMEOUT with a timeout event', async () => {
    worker.upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
    const events = await readSse(await worker.post('/api/completions/stream', chat()));
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '').error).toMatchObject({
      type: 'timeout_error',
      code: 'upstream_timeout',
    });
    await waitFor(() => worker.upstream.requests.at(-1)?.aborted === true);
  });

  // Only once the response has begun: before that, workerd run locally does not notice a client
  // that leaves (it finds out when it writes), so that case cannot be tested here; docs/workers.md.
  it('aborts the upstream stream when the client disconnects, and keeps serving', async () => {
    worker.upstream.enqueue({ chunkDelayMs: 50 });
    const client = new AbortController();
    const response = await worker.post('/api/completions/stream', chat(), {
      signal: client.signal,
      headers: { 'x-request-id': 'workers-gone-1' },
    });
    const frames = sseEvents(response);
    await frames.next();
    await frames.next();
    const upstreamRequest = worker.upstream.requests.at(-1);
    client.abort();
    await waitFor(() => upstreamRequest?.aborted === true, 2_000);
    expect(upstreamRequest?.chunksSent).toBeLessThan(words.length);
    await waitFor(() => worker.logs.some((line) => line.request_id === 'workers-gone-1'));
    expect(worker.logs.find((line) => line.request_id === 'workers-gone-1')).toMatchObject({
      outcome: 'client_aborted',
    });

    const next = await worker.post('/api/completions/stream', chat());
    expect(contentOf(await readSse(next))).toBe(DEFAULT_REPLY);
  });

  // Cloudflare's edge sets CF-Connecting-IP on every request; locally workerd only fills it in when
  // the client sent none, so here the test plays the edge.
  it('logs the client address Cloudflare puts in CF-Connecting-IP', async () => {
    await worker.get('/api/health', {
      headers: { 'cf-connecting-ip': '203.0.113.9', 'x-request-id': 'workers-ip-1' },
    });
    await waitFor(() => worker.logs.some((line) => line.request_id === 'workers-ip-1'));
    expect(worker.logs.find((line) => line.request_id === 'workers-ip-1')).toMatchObject({
      event: 'request',
      path: '/api/health',
      client_ip: '203.0.113.9',
    });
  });
});
