import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_USAGE, DEFAULT_WORDS as words } from './support/fake-upstream.ts';
import { runtimes } from './support/harness.ts';
import { leaveMidStream } from './support/leave-mid-stream.ts';
import { contentOf, expectedGatewayStream, readSse, type SseEvent, sseEvents } from './support/sse.ts';
import { chat, startGateway, waitFor } from './support/start-gateway.ts';

// REQUEST_TIMEOUT for the timeout cases only, on their own instance: every other request keeps the
// 30 s default, so a stall on a busy machine cannot turn it into a 504. The steady stream below
// sends a word every 300 ms: each gap is 1.2 s inside the bound, the whole stream over twice it.
const TIMEOUT_MS = 1_500;

describe.each(runtimes)('POST /api/completions/stream on %s', async (_name, start) => {
  const gateway = await start();
  const timeouts = await start({ bindings: { REQUEST_TIMEOUT: String(TIMEOUT_MS) } });

  it('streams one data frame per delta, then a usage event, then [DONE]', async () => {
    const response = await gateway.post('/api/completions/stream', chat());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toContain('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.text()).toBe(expectedGatewayStream(words));
  });

  it('asks the upstream for usage and forwards the model and parameters it was given', async () => {
    await gateway
      .post('/api/completions/stream', chat('hi', { model: 'gpt-4.1', temperature: 0.3, seed: 7 }))
      .then((r) => r.text());
    const received = gateway.upstream.requests.at(-1);
    expect(received?.headers.authorization).toBe('Bearer sk-test-upstream-key');
    expect(received?.body).toMatchObject({
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

  it('delivers deltas while the upstream is still sending, not when it finishes', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    gateway.upstream.enqueue({ afterChunks: 3, holdUntil: held });
    const frames = sseEvents(await gateway.post('/api/completions/stream', chat()));
    const events: SseEvent[] = [];
    // The upstream holds the rest of its stream until released: these three can only have come
    // through while it was still open.
    for (let i = 0; i < 3; i++) events.push((await frames.next()).value as SseEvent);
    expect(gateway.upstream.requests.at(-1)?.chunksSent).toBe(3);
    expect(contentOf(events)).toBe(words.slice(0, 3).join(''));
    release();
    for await (const event of frames) events.push(event);
    expect(contentOf(events)).toBe(DEFAULT_REPLY);
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it.each([
    ['messages', { messages: [] }],
    ['temperature', chat('hi', { temperature: 3 })],
  ])('rejects an invalid %s with a 400 naming it, before calling the upstream', async (param, body) => {
    const sent = gateway.upstream.requests.length;
    const response = await gateway.post('/api/completions/stream', body);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ type: 'invalid_request_error', param });
    expect(gateway.upstream.requests).toHaveLength(sent);
  });

  it('turns an upstream error after the stream began into an error event and ends the stream', async () => {
    gateway.upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
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

  it('answers 502 JSON when the upstream resets the connection before any header', async () => {
    // Every attempt: on Node a reset on a reused keep-alive socket is retried once on a fresh one
    // (adapters/node/upstream-fetch.ts), so a single reset would be answered by the retry.
    const sent = gateway.upstream.requests.length;
    gateway.upstream.setDefault({ reset: 'before-headers' });
    const response = await gateway.post('/api/completions/stream', chat()).finally(() => {
      gateway.upstream.setDefault({});
    });
    expect(gateway.upstream.requests.length - sent).toBeGreaterThan(0);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect((await response.json()).error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_unavailable',
    });
  });

  it.each([
    ['/api/completions', 429, 429, 'rate_limit_exceeded', '7'],
    ['/api/completions/stream', 429, 429, 'rate_limit_exceeded', '7'],
    ['/api/completions/stream', 500, 502, 'upstream_error', null],
    ['/api/completions/stream', 503, 502, 'upstream_error', null],
    ['/api/completions/stream', 400, 400, 'invalid_request_error', null],
  ])(
    'maps an upstream %s %i to a %i JSON error, Retry-After only on a 429',
    async (path, upstreamStatus, status, type, retryAfter) => {
      // Every row's upstream sends Retry-After: only a 429 passes it on. A 5xx is tried twice
      // (UPSTREAM_ATTEMPTS_EACH); a 429 waits Retry-After only within UPSTREAM_RETRY_WAIT_MS.
      const failing = { status: upstreamStatus, headers: { 'retry-after': '7' } };
      gateway.upstream.enqueue(...(upstreamStatus >= 500 ? [failing, failing] : [failing]));
      const response = await gateway.post(path, chat());
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(response.headers.get('retry-after')).toBe(retryAfter);
      const body = await response.json();
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.error.type).toBe(type);
    },
  );

  it('answers 504 JSON when the upstream sends no headers within REQUEST_TIMEOUT', async () => {
    timeouts.upstream.enqueue({ hang: 'before-headers' }, { hang: 'before-headers' });
    const response = await timeouts.post('/api/completions/stream', chat());
    expect(response.status).toBe(504);
    expect((await response.json()).error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' });
  });

  it('ends a stream whose upstream goes quiet for REQUEST_TIMEOUT with a timeout event, and aborts it', async () => {
    timeouts.upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
    const events = await readSse(await timeouts.post('/api/completions/stream', chat()));
    expect(contentOf(events.slice(0, 2))).toBe(words.slice(0, 2).join(''));
    expect(events.slice(2).map((event) => event.event)).toEqual(['error']);
    expect(JSON.parse(events[2]?.data ?? '').error).toMatchObject({
      type: 'timeout_error',
      code: 'upstream_timeout',
      message: `The upstream model sent nothing for ${TIMEOUT_MS} ms`,
    });
    const upstreamRequest = timeouts.upstream.requests.at(-1);
    await waitFor(() => upstreamRequest?.aborted);
  });

  it('bounds the idle gap, not the total: a slow but steady stream completes', async () => {
    timeouts.upstream.enqueue({ chunkDelayMs: 300 });
    const started = Date.now();
    const events = await readSse(await timeouts.post('/api/completions/stream', chat()));
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(contentOf(events)).toBe(DEFAULT_REPLY);
    // Longer than REQUEST_TIMEOUT in total, so a total bound would have cut it.
    expect(Date.now() - started).toBeGreaterThan(TIMEOUT_MS);
  });

  it('aborts the upstream request when the client disconnects, logs it, and keeps serving', async () => {
    const left = await leaveMidStream(gateway, { body: chat(), chunks: 2 });
    const { relayed, upstreamRequest, logLine } = left;
    expect(relayed).toBe('word0 word1 ');
    expect(upstreamRequest.chunksSent).toBeLessThan(left.replyChunks);
    expect(logLine).toMatchObject({ path: '/api/completions/stream', outcome: 'client_aborted' });

    const next = await gateway.post('/api/completions/stream', chat());
    expect(contentOf(await readSse(next))).toBe(DEFAULT_REPLY);
  });

  it('writes one access log line per stream, when it ends, with usage and outcome', async () => {
    const id = `stream-log-${gateway.runtime}`;
    const response = await gateway.post('/api/completions/stream', chat(), {
      headers: { 'x-request-id': id },
    });
    expect(response.headers.get('x-request-id')).toBe(id);
    await response.text();
    const line = await waitFor(() => gateway.logs.find((entry) => entry.request_id === id));
    expect(line).toMatchObject({
      event: 'request',
      method: 'POST',
      path: '/api/completions/stream',
      status: 200,
      outcome: 'ok',
      model: 'gpt-4o-mini',
      finish_reason: 'stop',
      usage: DEFAULT_USAGE,
      usage_estimated: false,
    });
    expect(typeof line.ttft_ms).toBe('number');
    expect(gateway.logs.filter((entry) => entry.request_id === id)).toHaveLength(1);
  });
});

describe('POST /api/completions/stream on Node, keepalives', () => {
  it('keeps a quiet stream alive with SSE comments, which clients skip', async () => {
    // A keepalive every 100 ms, a word every 350 ms: several in each gap, and none needed to pass.
    const quiet = await startGateway({
      bindings: { SSE_KEEPALIVE_MS: '100' },
      upstreamDefaults: { chunkDelayMs: 350 },
    });
    const raw = await (await quiet.post('/api/completions/stream', chat())).text();
    expect(raw.split(': keepalive\n\n').length - 1).toBeGreaterThanOrEqual(words.length);
    expect(raw.replaceAll(': keepalive\n\n', '')).toBe(expectedGatewayStream(words));
  });
});
