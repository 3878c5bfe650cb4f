import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_USAGE } from './support/fake-upstream.ts';
import { chat, startGateway, waitFor } from './support/start-gateway.ts';

// REQUEST_TIMEOUT keeps its 30 s default here: only the timeout case gets a short one, on its own instance.
const gateway = await startGateway({ bindings: { MAX_BODY_BYTES: '4096' } });

const errorOf = async (response: Response) => (await response.json()) as { error: Record<string, unknown> };

describe('POST /api/completions', () => {
  it('answers with the reply, model, finish reason and usage', async () => {
    const response = await gateway.post(
      '/api/completions',
      chat('Hello, how are you?', { model: 'gpt-4-turbo-preview', temperature: 0.7, max_tokens: 500 }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^chatcmpl-fake-/),
      model: 'gpt-4-turbo-preview',
      content: DEFAULT_REPLY,
      finish_reason: 'stop',
      usage: DEFAULT_USAGE,
    });
    const sent = gateway.upstream.requests.at(-1);
    expect(sent?.headers.authorization).toBe('Bearer sk-test-upstream-key');
    expect(sent?.body).toEqual({
      ...chat('Hello, how are you?'),
      model: 'gpt-4-turbo-preview',
      temperature: 0.7,
      max_tokens: 500,
      stream: false,
    });
  });

  it('passes unknown OpenAI parameters through and drops a client-sent stream flag', async () => {
    await gateway.post(
      '/api/completions',
      chat('x', { stream: true, response_format: { type: 'json_object' }, user: 'u-1' }),
    );
    expect(gateway.upstream.requests.at(-1)?.body).toMatchObject({
      stream: false,
      response_format: { type: 'json_object' },
      user: 'u-1',
    });
  });

  it('reports finish_reason length when max_tokens cuts the reply', async () => {
    const body = await (await gateway.post('/api/completions', chat('x', { max_tokens: 3 }))).json();
    expect(body).toMatchObject({
      content: 'Hello from the ',
      finish_reason: 'length',
      usage: { completion_tokens: 3 },
    });
  });
});

describe('validation', () => {
  const cases: [string, unknown, string | null][] = [
    ['missing messages', {}, 'messages'],
    ['empty messages', { messages: [] }, 'messages'],
    ['messages of the wrong type', { messages: 'hello' }, 'messages'],
    ['an unknown role', { messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    ['content of the wrong type', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['temperature above 2', chat('x', { temperature: 2.5 }), 'temperature'],
    ['negative temperature', chat('x', { temperature: -0.1 }), 'temperature'],
    ['temperature as a string', chat('x', { temperature: '0.5' }), 'temperature'],
    ['zero max_tokens', chat('x', { max_tokens: 0 }), 'max_tokens'],
    ['fractional max_tokens', chat('x', { max_tokens: 1.5 }), 'max_tokens'],
    ['an empty model', chat('x', { model: '' }), 'model'],
    ['a JSON array body', [1, 2], null],
  ];
  it.each(cases)('rejects %s with a 400 naming the field, on both endpoints', async (_name, body, param) => {
    const before = gateway.upstream.requests.length;
    for (const path of ['/api/completions', '/api/completions/stream']) {
      const response = await gateway.post(path, body);
      expect(response.status).toBe(400);
      const { error } = await errorOf(response);
      expect(error).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_value' });
      if (param) expect(error.message).toContain(param);
    }
    expect(gateway.upstream.requests.length).toBe(before);
  });

  it('rejects malformed JSON with a 400', async () => {
    const response = await gateway.post('/api/completions', '{"messages": [');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).error).toMatchObject({
      code: 'invalid_json',
      message: 'Malformed JSON in request body',
    });
  });

  it('rejects a body that is not declared as JSON with a 415', async () => {
    const response = await gateway.post('/api/completions', JSON.stringify(chat()), {
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(415);
    expect((await errorOf(response)).error.code).toBe('unsupported_media_type');
  });

  it('rejects a body over MAX_BODY_BYTES with a 413', async () => {
    const response = await gateway.post('/api/completions', chat('x'.repeat(5_000)));
    expect(response.status).toBe(413);
    expect((await errorOf(response)).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'payload_too_large',
    });
  });

  it('counts a chunked body (no Content-Length) against MAX_BODY_BYTES as it arrives', async () => {
    const sendChunked = (body: unknown) => {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      return fetch(`${gateway.url}/api/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // Two pieces, so the body is sent with Transfer-Encoding: chunked and no length.
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(bytes.subarray(0, 10));
            controller.enqueue(bytes.subarray(10));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
    };
    const tooLarge = await sendChunked(chat('x'.repeat(5_000)));
    expect(tooLarge.status).toBe(413);
    expect((await errorOf(tooLarge)).error.code).toBe('payload_too_large');
    const small = await sendChunked(chat('Hello'));
    expect(small.status).toBe(200);
    expect(gateway.upstream.requests.at(-1)?.body).toMatchObject(chat('Hello'));
  });
});

describe('routing errors', () => {
  it('answers an unknown route with a 404 in the error shape', async () => {
    const response = await fetch(`${gateway.url}/api/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: 'No route for /api/nothing-here',
        type: 'invalid_request_error',
        param: null,
        code: 'not_found',
      },
    });
  });

  it.each([
    ['GET', '/api/completions', 'POST'],
    ['PUT', '/api/completions/stream', 'POST'],
    ['POST', '/api/health', 'GET'],
  ])('answers %s %s with a 405 and Allow: %s', async (method, path, allow) => {
    const response = await fetch(`${gateway.url}${path}`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect((await errorOf(response)).error.code).toBe('method_not_allowed');
  });
});

describe('upstream failures', () => {
  it.each([
    [400, 400, 'Fake upstream error 400'],
    [401, 401, 'The gateway could not authenticate with the upstream model service'],
    [403, 403, 'The gateway could not authenticate with the upstream model service'],
    [404, 404, 'Fake upstream error 404'],
    [422, 422, 'Fake upstream error 422'],
    [500, 502, 'The upstream model service failed: status 500'],
    [502, 502, 'The upstream model service failed: status 502'],
    [503, 502, 'The upstream model service failed: status 503'],
  ])('maps an upstream %i to %i with a safe message', async (upstreamStatus, status, message) => {
    // A 5xx is tried UPSTREAM_ATTEMPTS_EACH (2) times on the one upstream; the client's own errors
    // and a wrong upstream key are not retried there.
    const attempts = upstreamStatus >= 500 ? 2 : 1;
    gateway.upstream.enqueue(...Array.from({ length: attempts }, () => ({ status: upstreamStatus })));
    const before = gateway.upstream.requests.length;
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(status);
    expect(gateway.upstream.requests.length - before).toBe(attempts);
    const { error } = await errorOf(response);
    expect(error.message).toBe(message);
    expect(JSON.stringify(error)).not.toContain('sk-test-upstream-key');
  });

  it('maps an upstream 429 to a 429 that keeps Retry-After', async () => {
    gateway.upstream.enqueue({ status: 429, headers: { 'retry-after': '12' } });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('12');
    expect((await errorOf(response)).error).toMatchObject({
      type: 'rate_limit_exceeded',
      code: 'rate_limit_exceeded',
    });
  });

  it('maps an upstream that does not answer within REQUEST_TIMEOUT to a 504', async () => {
    const timeouts = await startGateway({
      bindings: { REQUEST_TIMEOUT: '500' },
      upstreamDefaults: { hang: 'before-headers' },
    });
    const response = await timeouts.post('/api/completions', chat());
    expect(response.status).toBe(504);
    expect((await errorOf(response)).error).toEqual({
      message: expect.stringContaining('upstream model'),
      type: 'timeout_error',
      param: null,
      code: 'upstream_timeout',
    });
    await waitFor(() => timeouts.upstream.requests[0]?.aborted);
  });

  it('maps a connection the upstream resets before answering to a 502', async () => {
    // Every attempt resets: the Node adapter retries once a reset on a reused keep-alive socket.
    const resetting = await startGateway({ upstreamDefaults: { reset: 'before-headers' } });
    const response = await resetting.post('/api/completions', chat());
    expect(response.status).toBe(502);
    expect((await errorOf(response)).error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_unavailable',
    });
    expect(resetting.upstream.requests.length).toBeGreaterThan(0);
  });

  it('maps a refused connection to a 502', async () => {
    const closed = await startGateway({ bindings: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
    const response = await closed.post('/api/completions', chat());
    expect(response.status).toBe(502);
    expect((await errorOf(response)).error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_unavailable',
    });
  });

  it('logs the cause of a 5xx once and never shows it to the client', async () => {
    const failing = { status: 500, errorMessage: 'secret internal detail' };
    gateway.upstream.enqueue(failing, failing);
    const response = await gateway.post('/api/completions', chat(), {
      headers: { 'x-request-id': 'fail-500' },
    });
    expect(JSON.stringify(await response.json())).not.toContain('secret internal detail');
    const lines = gateway.logs.filter((line) => line.request_id === 'fail-500' && line.event === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      status: 502,
      outcome: 'upstream_error',
      code: 'upstream_unavailable',
      upstream_attempts: ['default:status_500', 'default:status_500'],
    });
    expect(String(lines[0]?.cause ?? lines[0]?.error)).toContain('500');
    // Each failed attempt has its own line, at warn: the request's line is the one error.
    const attempts = gateway.logs.filter(
      (line) => line.request_id === 'fail-500' && line.event === 'upstream_attempt_failed',
    );
    expect(attempts.map((line) => [line.level, line.upstream, line.kind])).toEqual([
      ['warn', 'default', 'status_500'],
      ['warn', 'default', 'status_500'],
    ]);
  });

  it('is parsed by the official SDK as its own typed errors', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${gateway.url}/api`, maxRetries: 0 });
    // Without Retry-After the gateway retries a 429 once itself; this one stands.
    gateway.upstream.enqueue({ status: 429 }, { status: 429 });
    const error = await client.post('/completions', { body: chat() }).catch((caught: unknown) => caught);
    if (!(error instanceof OpenAI.RateLimitError)) throw error;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.code).toBe('rate_limit_exceeded');
  });
});
