import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_REPLY,
  DEFAULT_USAGE,
  DEFAULT_WORDS,
  LONG_REPLY,
  LONG_REPLY_WORDS,
  startFakeUpstream,
} from '../support/fake-upstream.ts';
import { startForwardProxy } from '../support/forward-proxy.ts';
import {
  apiGatewayV1Event,
  CLIENT_IP,
  functionUrlEvent,
  type HttpRequest,
} from '../support/lambda-events.ts';
import { buildBundle, startLambdaFunction } from '../support/lambda-function.ts';
import { contentOf, expectedGatewayStream, readSse, type SseEvent, sseEvents } from '../support/sse.ts';
import { chat } from '../support/start-gateway.ts';

// The deployed file, run by the real aws-lambda-ric against a local Runtime API.
const taskRoot = await buildBundle();
const upstream = await startFakeUpstream();
afterAll(() => upstream.close());
const fn = await startLambdaFunction({
  taskRoot,
  env: {
    NODE_ENV: 'test',
    OPENAI_API_KEY: 'sk-test-upstream-key',
    OPENAI_BASE_URL: upstream.baseURL,
    // Generous: a busy machine must not turn a slow moment into a 504.
    REQUEST_TIMEOUT: '10000',
    CORS_ORIGINS: 'https://app.example.com',
  },
});
const words = DEFAULT_WORDS;

const invoke = (request: HttpRequest, options?: { timeoutMs?: number }) =>
  fn.invoke(functionUrlEvent(request), options);
const postStream = (body: unknown, extra: Partial<HttpRequest> = {}, options?: { timeoutMs?: number }) =>
  invoke({ path: '/api/completions/stream', body, ...extra }, options);

describe('Lambda Function URL handler (bundle under aws-lambda-ric)', () => {
  it('streams SSE behind a prelude with status, SSE headers and no hop-by-hop headers', async () => {
    const invocation = postStream(chat());
    const response = await invocation.response;
    expect(invocation.postHeaders['lambda-runtime-function-response-mode']).toBe('streaming');
    expect(invocation.postHeaders['content-type']).toBe(
      'application/vnd.awslambda.http-integration-response',
    );
    const prelude = JSON.parse(invocation.prelude ?? '{}');
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(prelude.headers['cache-control']).toContain('no-cache');
    expect(prelude.headers['x-request-id']).toMatch(/\S/);
    expect(Object.keys(prelude.headers)).not.toContain('transfer-encoding');
    expect(Object.keys(prelude.headers)).not.toContain('connection');

    expect(response.status).toBe(200);
    const raw = await response.text();
    expect(raw).toBe(expectedGatewayStream(words));
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
    await invocation.settled;
  });

  it('relays each delta as it arrives', async () => {
    // Four words, then the upstream holds the rest until the test has received those four.
    let release!: () => void;
    upstream.enqueue({ afterChunks: 4, holdUntil: new Promise<void>((resolve) => (release = resolve)) });
    const invocation = postStream(chat());
    const events = sseEvents(await invocation.response);
    const first: SseEvent[] = [];
    for (const _ of words.slice(0, 4)) first.push((await events.next()).value as SseEvent);
    // They reached the client while the upstream stream was still open: relayed as they came.
    expect(contentOf(first)).toBe(words.slice(0, 4).join(''));
    expect(upstream.requests.at(-1)).toMatchObject({ chunksSent: 4, aborted: false });
    release();
    const rest: SseEvent[] = [];
    for await (const event of events) rest.push(event);
    expect(contentOf([...first, ...rest])).toBe(DEFAULT_REPLY);
    expect(rest.at(-1)?.data).toBe('[DONE]');
    await invocation.settled;
  });

  it('ends a stream still open near the function timeout with an error event, and logs it', async () => {
    // Two words, then the upstream sends nothing more: only the deadline can end this stream.
    upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
    const deadline = Date.now() + 1_800;
    const invocation = postStream(
      chat(),
      { headers: { 'x-request-id': 'lambda-deadline-1' } },
      { timeoutMs: 1_800 },
    );
    const events = await readSse(await invocation.response);
    expect(contentOf(events)).toBe(words.slice(0, 2).join(''));
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '').error.code).toBe('function_timeout');
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
    await invocation.settled;
    // DEADLINE_MARGIN_MS (1 s) before the timeout, when Lambda would have cut it off without a word.
    expect(Date.now()).toBeLessThan(deadline);
    const upstreamRequest = upstream.requests.at(-1);
    await upstreamRequest?.done;
    expect(upstreamRequest?.aborted).toBe(true);
    expect(fn.logs.filter((line) => line.request_id === 'lambda-deadline-1')).toEqual([
      expect.objectContaining({ status: 200, outcome: 'shutdown', code: 'function_timeout' }),
    ]);
  });

  it('streams a Responses API response, its events as the upstream sent them, with its usage logged', async () => {
    const invocation = invoke({
      path: '/v1/responses',
      body: { input: 'Say hello', stream: true },
      headers: { 'x-request-id': 'lambda-responses-1' },
    });
    const response = await invocation.response;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = await readSse(response);
    expect(events[0]?.event).toBe('response.created');
    const deltas = events.filter((event) => event.event === 'response.output_text.delta');
    expect(deltas.map((event) => JSON.parse(event.data).delta).join('')).toBe(DEFAULT_REPLY);
    expect(events.at(-1)?.event).toBe('response.completed');
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
    await invocation.settled;
    expect(fn.logs.filter((line) => line.request_id === 'lambda-responses-1')).toEqual([
      expect.objectContaining({
        path: '/v1/responses',
        status: 200,
        outcome: 'ok',
        finish_reason: 'completed',
        usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length },
      }),
    ]);
  });

  it('answers a request that fails validation with 400 JSON in the prelude', async () => {
    const invocation = postStream({ messages: [] });
    const response = await invocation.response;
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = await response.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: expect.anything() });
    await invocation.settled;
  });

  it('maps an upstream 500 before the stream began to a 502 JSON error', async () => {
    // Tried twice on the one upstream (UPSTREAM_ATTEMPTS_EACH), then the failure stands.
    upstream.enqueue({ status: 500 }, { status: 500 });
    const response = await postStream(chat()).response;
    expect(response.status).toBe(502);
    expect((await response.json()).error.type).toBe('upstream_error');
  });

  it('ends the stream with an error event when the upstream fails after headers', async () => {
    upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    const invocation = postStream(chat());
    const events = await readSse(await invocation.response);
    expect(contentOf(events.slice(0, 2))).toBe(words.slice(0, 2).join(''));
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '')).toEqual({
      error: {
        message: expect.stringContaining('upstream'),
        type: 'upstream_error',
        param: null,
        code: 'upstream_unavailable',
      },
    });
    expect(events.some((event) => event.data === '[DONE]')).toBe(false);
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
    await invocation.settled;
  });

  it('serves the JSON endpoint through the same streaming handler', async () => {
    const response = await invoke({ path: '/api/completions', body: chat() }).response;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect((await response.json()).content).toBe(DEFAULT_REPLY);
  });

  it('serves a path with repeated slashes, as `$URL/api/...` with the printed URL asks (rawPath `//api/...`)', async () => {
    const response = await postStream(chat(), { path: '//api/completions/stream' }).response;
    expect(response.status).toBe(200);
    expect(contentOf(await readSse(response))).toBe(DEFAULT_REPLY);
    expect((await invoke({ path: '//api/health' }).response).status).toBe(200);
  });

  it('reads a base64 body and the cookies Function URLs move out of the headers', async () => {
    const response = await postStream(chat('hi'), { base64: true, cookies: ['a=1', 'b=2'] }).response;
    expect(response.status).toBe(200);
    expect(contentOf(await readSse(response))).toBe(DEFAULT_REPLY);
  });

  it('answers a CORS preflight with a 204 prelude and no body', async () => {
    const invocation = invoke({
      method: 'OPTIONS',
      path: '/api/completions/stream',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    const response = await invocation.response;
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
    expect(invocation.chunks).toHaveLength(0);
    await invocation.settled;
  });

  it("logs the request context's source IP, not a forwarded header the client can forge", async () => {
    const invocation = invoke({
      path: '/api/completions',
      body: chat(),
      headers: { 'x-request-id': 'lambda-ip-1', 'x-forwarded-for': '203.0.113.9' },
    });
    await (await invocation.response).text();
    await invocation.settled;
    const line = fn.logs.find((entry) => entry.request_id === 'lambda-ip-1');
    expect(line).toMatchObject({ event: 'request', client_ip: CLIENT_IP, status: 200 });
  });

  it('writes the access log line of a stream before the invocation ends', async () => {
    const invocation = postStream(chat(), { headers: { 'x-request-id': 'lambda-log-1' } });
    await (await invocation.response).text();
    await invocation.settled;
    expect(fn.logs.filter((line) => line.request_id === 'lambda-log-1')).toEqual([
      expect.objectContaining({
        level: 'info',
        event: 'request',
        method: 'POST',
        path: '/api/completions/stream',
        status: 200,
        client_ip: CLIENT_IP,
        latency_ms: expect.any(Number),
        model: 'gpt-4o-mini',
        upstream_request_id: upstream.requests.at(-1)?.requestId,
        // The fake's own figures, as the stream's usage event reported them.
        usage: DEFAULT_USAGE,
        usage_estimated: false,
        finish_reason: 'stop',
        ttft_ms: expect.any(Number),
        outcome: 'ok',
      }),
    ]);
  });

  it('settles the invocation as soon as the response has ended', async () => {
    const invocation = postStream(chat());
    await (await invocation.response).text();
    await invocation.finished;
    const ended = Date.now();
    await invocation.settled;
    // Well below REQUEST_TIMEOUT (10 s here), which an idle timer or open upstream call left
    // behind would hold it for.
    expect(Date.now() - ended).toBeLessThan(5_000);
  });
});

describe('Lambda Function URL handler when the runtime connection drops', () => {
  it('aborts the upstream call and logs the stream as client_aborted', async () => {
    // Its own instance: aws-lambda-ric 4.0.2 exits on an unhandled "socket hang up" when the
    // Runtime API drops a streamed response, which is also what a real sandbox would do.
    const dropping = await startLambdaFunction({
      taskRoot,
      env: { OPENAI_API_KEY: 'sk-test-upstream-key', OPENAI_BASE_URL: upstream.baseURL },
    });
    upstream.enqueue({ content: LONG_REPLY, chunkDelayMs: 50 });
    const invocation = dropping.invoke(
      functionUrlEvent({
        path: '/api/completions/stream',
        body: chat(),
        headers: { 'x-request-id': 'lambda-drop-1' },
      }),
    );
    const events = sseEvents(await invocation.response);
    await events.next();
    await events.next();
    const upstreamRequest = upstream.requests.at(-1);
    invocation.disconnect();
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: true });
    await upstreamRequest?.done;
    expect(upstreamRequest?.aborted).toBe(true);
    expect(upstreamRequest?.chunksSent).toBeLessThan(LONG_REPLY_WORDS);
    // The runtime exits on the dropped connection: by then it has printed all it will.
    await dropping.closed;
    expect(dropping.logs.filter((line) => line.request_id === 'lambda-drop-1')).toEqual([
      expect.objectContaining({ status: 200, outcome: 'client_aborted' }),
    ]);
  });
});

describe('Lambda upstream calls behind an egress proxy', () => {
  it('go through HTTP_PROXY when the function sets NODE_USE_ENV_PROXY=1', async () => {
    const proxy = await startForwardProxy();
    try {
      const proxiedFn = await startLambdaFunction({
        taskRoot,
        // The Runtime API is the sandbox's own, never behind the proxy.
        env: (api) => ({
          OPENAI_API_KEY: 'sk-test-upstream-key',
          OPENAI_BASE_URL: upstream.baseURL,
          NODE_USE_ENV_PROXY: '1',
          HTTP_PROXY: proxy.url,
          NO_PROXY: api.address,
        }),
      });
      const response = await proxiedFn.invoke(functionUrlEvent({ path: '/api/completions', body: chat() }))
        .response;
      expect(response.status).toBe(200);
      expect((await response.json()).content).toBe(DEFAULT_REPLY);
      expect(proxy.proxied).toEqual([`POST ${upstream.baseURL}/chat/completions`]);
    } finally {
      await proxy.close();
    }
  });
});

describe('Lambda streaming handler behind a REST API with responseTransferMode STREAM', () => {
  it('streams payload 1.0 events the same way as Function URL ones', async () => {
    let release!: () => void;
    upstream.enqueue({ afterChunks: 2, holdUntil: new Promise<void>((resolve) => (release = resolve)) });
    const invocation = fn.invoke(
      apiGatewayV1Event({
        path: '/api/completions/stream',
        query: 'trace=1',
        body: chat(),
        headers: { 'x-request-id': 'rest-stream-1' },
        sourceIp: '198.51.100.23',
      }),
    );
    const response = await invocation.response;
    const prelude = JSON.parse(invocation.prelude ?? '{}');
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const stream = sseEvents(response);
    const events: SseEvent[] = [];
    // The first two words arrive while the upstream holds back the rest: relayed as they came.
    for (const _ of words.slice(0, 2)) events.push((await stream.next()).value as SseEvent);
    expect(contentOf(events)).toBe(words.slice(0, 2).join(''));
    release();
    for await (const event of stream) events.push(event);
    expect(contentOf(events)).toBe(DEFAULT_REPLY);
    expect(events.at(-1)?.data).toBe('[DONE]');
    await invocation.settled;
    expect(fn.logs.find((line) => line.request_id === 'rest-stream-1')).toMatchObject({
      path: '/api/completions/stream',
      client_ip: '198.51.100.23',
      outcome: 'ok',
    });
  });
});

describe('Lambda access log lines with METRICS_EMF=on', () => {
  it('carry CloudWatch Embedded Metric Format as printed on stdout, upstream_errors counting failed upstream calls', async () => {
    const emf = await startLambdaFunction({
      taskRoot,
      env: {
        NODE_ENV: 'test',
        OPENAI_API_KEY: 'sk-test-upstream-key',
        OPENAI_BASE_URL: upstream.baseURL,
        METRICS_EMF: 'on',
      },
    });
    const before = Date.now();
    // The one line the function printed for a request, read as CloudWatch reads an EMF line.
    const send = async (id: string, path: string, body: unknown) => {
      const invocation = emf.invoke(functionUrlEvent({ path, body, headers: { 'x-request-id': id } }));
      const { status } = await invocation.response;
      await invocation.settled;
      const lines = emf.logs.filter((line) => line.request_id === id && line.event === 'request');
      expect(lines).toHaveLength(1);
      return { status, ...readEmf(lines[0] ?? {}) };
    };

    const ok = await send('emf-ok', '/api/completions/stream', chat());
    expect(ok.status).toBe(200);
    expect(ok.line).toMatchObject({ route: '/api/completions/stream', model: 'gpt-4o-mini', outcome: 'ok' });
    expect(ok.directive.Dimensions).toEqual([['route'], ['model']]);
    expect(ok.metrics).toEqual({
      requests: 1,
      request_latency_ms: ok.line.latency_ms,
      ttft_ms: ok.line.ttft_ms,
      prompt_tokens: DEFAULT_USAGE.prompt_tokens,
      completion_tokens: DEFAULT_USAGE.completion_tokens,
      upstream_errors: 0,
    });
    expect(ok.units).toEqual({
      requests: 'Count',
      request_latency_ms: 'Milliseconds',
      ttft_ms: 'Milliseconds',
      prompt_tokens: 'Count',
      completion_tokens: 'Count',
      upstream_errors: 'Count',
    });

    // A request the gateway refuses itself is no upstream error.
    const invalid = await send('emf-400', '/api/completions', { messages: [] });
    expect(invalid.status).toBe(400);
    expect(invalid.line).toMatchObject({ route: '/api/completions', outcome: 'rejected' });
    expect(invalid.metrics).toMatchObject({ requests: 1, upstream_errors: 0 });

    upstream.enqueue({ status: 500 }, { status: 500 });
    const refused = await send('emf-502', '/api/completions', chat());
    expect(refused.status).toBe(502);
    expect(refused.line).toMatchObject({ route: '/api/completions', outcome: 'upstream_error' });
    expect(refused.metrics).toMatchObject({
      requests: 1,
      request_latency_ms: refused.line.latency_ms,
      upstream_errors: 1,
    });

    // Broken off after two words: an upstream error too, with the tokens the gateway counted.
    upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    const broken = await send('emf-broken', '/api/completions/stream', chat());
    expect(broken.line).toMatchObject({
      route: '/api/completions/stream',
      model: 'gpt-4o-mini',
      outcome: 'upstream_error',
    });
    const usage = broken.line.usage as { prompt_tokens: number; completion_tokens: number };
    expect(broken.metrics).toEqual({
      requests: 1,
      request_latency_ms: broken.line.latency_ms,
      ttft_ms: broken.line.ttft_ms,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      upstream_errors: 1,
    });

    for (const { timestamp } of [ok, invalid, refused, broken]) {
      expect(timestamp).toBeGreaterThanOrEqual(before);
      expect(timestamp).toBeLessThanOrEqual(Date.now());
    }
  });
});

type EmfDirective = {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: string }[];
};

/**
 * An EMF log line as CloudWatch reads it: one directive under `_aws` in our namespace; every
 * dimension it names a string, every metric a number, both at the top level of the line.
 */
function readEmf(line: Record<string, unknown>) {
  const aws = line._aws as { Timestamp: unknown; CloudWatchMetrics: EmfDirective[] } | undefined;
  expect(aws?.CloudWatchMetrics).toHaveLength(1);
  const directive = aws?.CloudWatchMetrics[0] as EmfDirective;
  expect(directive.Namespace).toBe('OpenAIGateway');
  expect(directive.Dimensions).toEqual(line.model === undefined ? [['route']] : [['route'], ['model']]);
  for (const name of directive.Dimensions.flat()) expect(typeof line[name], name).toBe('string');
  for (const { Name } of directive.Metrics) expect(typeof line[Name], Name).toBe('number');
  expect(typeof aws?.Timestamp).toBe('number');
  return {
    line,
    directive,
    timestamp: aws?.Timestamp as number,
    metrics: Object.fromEntries(directive.Metrics.map(({ Name }) => [Name, line[Name]])),
    units: Object.fromEntries(directive.Metrics.map(({ Name, Unit }) => [Name, Unit])),
  };
}
