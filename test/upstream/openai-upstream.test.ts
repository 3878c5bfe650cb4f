import { describe, expect, it } from 'vitest';
import { errorOf } from '../access/fixtures.ts';
import { chat } from '../support/start-gateway.ts';
import { createUpstreamTestApp } from '../support/test-app.ts';

// The gateway's own OpenAI client, seen from the upstream's side: what it sends, and what each
// kind of answer becomes. Through app.request(), so over `fetchTransport` (the runtime's fetch, as
// on Workers); test/completions.test.ts holds the same mapping over the Node adapter's node:http
// transport, and test/v1.test.ts the official SDK against the gateway. One attempt per request:
// what a single failure becomes; retries and fallback are test/upstream/fallback.test.ts's.
const gateway = await createUpstreamTestApp({
  bindings: {
    OPENAI_API_KEY: 'sk-test-upstream-key',
    OPENAI_ORG_ID: 'org-test',
    OPENAI_PROJECT_ID: 'proj_test',
    DEFAULT_MODEL: 'gpt-4.1-mini',
    REQUEST_TIMEOUT: '2000',
    UPSTREAM_ATTEMPTS_EACH: '1',
  },
});
const sent = () => gateway.upstream.requests.at(-1)!;

describe('the upstream request', () => {
  it('carries the key, the organization and the project, and a JSON body with the default model', async () => {
    expect((await gateway.post('/api/completions', chat('Hi', { temperature: 0.2 }))).status).toBe(200);
    expect(sent().headers).toMatchObject({
      authorization: 'Bearer sk-test-upstream-key',
      'openai-organization': 'org-test',
      'openai-project': 'proj_test',
      'content-type': 'application/json',
    });
    expect(sent().body).toMatchObject({ model: 'gpt-4.1-mini', stream: false, temperature: 0.2 });
  });

  it('always asks a stream for usage, keeping the stream options the client gave', async () => {
    const response = await gateway.post(
      '/v1/chat/completions',
      chat('Hi', { stream: true, stream_options: { include_obfuscation: false } }),
    );
    await response.text();
    expect(sent().body).toMatchObject({
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
    });
  });

  it('passes a JSON completion on as the upstream wrote it, fields it does not know included', async () => {
    const response = await gateway.post('/v1/chat/completions', chat('Hi'));
    const body = await response.json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4.1-mini' });
    expect(body).not.toHaveProperty('_request_id');
  });
});

describe('what an upstream failure becomes', () => {
  it.each([
    [400, 400, 'invalid_request_error'],
    [404, 404, 'invalid_request_error'],
    [422, 422, 'invalid_request_error'],
    [500, 502, 'upstream_error'],
    [503, 502, 'upstream_error'],
  ])('an upstream %i is a %i %s', async (upstreamStatus, status, type) => {
    gateway.upstream.enqueue({ status: upstreamStatus, errorMessage: 'upstream says no' });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(status);
    expect((await errorOf(response)).error.type).toBe(type);
  });

  it('an upstream 401 is a 401 that says nothing of the key', async () => {
    gateway.upstream.enqueue({ status: 401, errorMessage: 'Incorrect API key provided: sk-test-upst***' });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(401);
    const { error } = await errorOf(response);
    expect(error.code).toBe('upstream_auth_failed');
    expect(JSON.stringify(error)).not.toContain('sk-');
  });

  it('an upstream 429 is a 429 with its Retry-After', async () => {
    gateway.upstream.enqueue({ status: 429, headers: { 'retry-after': '7' } });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
  });

  it('no answer within REQUEST_TIMEOUT is a 504', async () => {
    gateway.upstream.enqueue({ hang: 'before-headers' });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(504);
    expect((await errorOf(response)).error).toMatchObject({
      code: 'upstream_timeout',
      message: 'The upstream model sent nothing for 2000 ms',
    });
  });

  it('a connection reset before the answer is a 502', async () => {
    gateway.upstream.enqueue({ reset: 'before-headers' });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(502);
    expect((await errorOf(response)).error.code).toBe('upstream_unavailable');
  });
});
