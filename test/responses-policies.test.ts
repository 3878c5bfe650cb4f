import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ALICE, BOB, KEY_BINDINGS } from './access/fixtures.ts';
import { DEFAULT_REPLY } from './support/fake-upstream.ts';
import { readSse } from './support/sse.ts';
import { startGateway, waitFor } from './support/start-gateway.ts';

describe('/v1/responses with two client keys', async () => {
  const gateway = await startGateway({
    bindings: { ...KEY_BINDINGS, ALLOWED_MODELS: 'gpt-4o-mini,gpt-4.1' },
  });
  const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  const alice = sdk(ALICE);
  const bob = sdk(BOB);

  it('answers a response id only to the key that created it; any other key gets OpenAI’s 404', async () => {
    const created = await alice.responses.create({ input: 'Say hello', background: true });
    expect((await alice.responses.retrieve(created.id)).output_text).toBe(DEFAULT_REPLY);
    const before = gateway.upstream.requests.length;
    // Sent together, each caught at once: one that fails first must not be an unhandled rejection.
    const refusals = await Promise.all(
      [
        bob.responses.retrieve(created.id),
        bob.responses.retrieve(created.id, { stream: true, starting_after: 0 }),
        bob.responses.inputItems.list(created.id),
        bob.responses.cancel(created.id),
        bob.responses.delete(created.id),
        bob.responses.create({ input: 'Again', previous_response_id: created.id }),
      ].map((refused) =>
        Promise.resolve(refused).then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    for (const refused of refusals) {
      expect(refused).toBeInstanceOf(OpenAI.NotFoundError);
      expect(refused).toMatchObject({ message: expect.stringContaining(created.id) });
    }
    // None of them reached the upstream.
    expect(gateway.upstream.requests.length).toBe(before);
    // And the id is still alice's, untouched.
    const next = await alice.responses.create({ input: 'Again', previous_response_id: created.id });
    expect(next.previous_response_id).toBe(created.id);
    expect((await alice.responses.inputItems.list(created.id)).data).toHaveLength(1);
    await alice.responses.delete(created.id);
  });

  it('records the creator of a streamed response from its first event', async () => {
    const stream = await alice.responses.create({ input: 'Say hello', stream: true });
    let id = '';
    for await (const event of stream) if (event.type === 'response.created') id = event.response.id;
    expect((await alice.responses.retrieve(id)).id).toBe(id);
    await expect(bob.responses.retrieve(id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('applies the model allowlist and the key check as on chat completions', async () => {
    await expect(alice.responses.create({ model: 'o3', input: 'x' })).rejects.toMatchObject({
      status: 400,
      code: 'model_not_allowed',
    });
    const anonymous = new OpenAI({ apiKey: 'not-a-key', baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await expect(anonymous.responses.create({ input: 'x' })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    await expect(anonymous.responses.retrieve('resp_123')).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe('/v1/responses limits and timeouts', async () => {
  const gateway = await startGateway({
    bindings: {
      RATE_LIMIT_MAX: '1000',
      TOKEN_LIMIT_MAX: '40',
      MAX_BODY_BYTES: '2048',
      REQUEST_TIMEOUT: '400',
      SSE_KEEPALIVE_MS: '100',
    },
  });
  const client = new OpenAI({ apiKey: 'k', baseURL: `${gateway.url}/v1`, maxRetries: 0 });

  it('answers a 504 when the upstream sends nothing before the first byte', async () => {
    // Both attempts on the one upstream (UPSTREAM_ATTEMPTS_EACH) wait in vain.
    gateway.upstream.enqueue({ hang: 'before-headers' }, { hang: 'before-headers' });
    await expect(client.responses.create({ input: 'x', stream: true })).rejects.toMatchObject({
      status: 504,
      code: 'upstream_timeout',
    });
  });

  it('ends a stream that went quiet with a timeout error event, and keeps a slow one alive with comments', async () => {
    gateway.upstream.enqueue({ chunkDelayMs: 250, afterChunks: 1, hang: 'mid-stream' });
    const response = await gateway.post('/v1/responses', { input: 'x', stream: true });
    const raw = await response.text();
    expect(raw).toContain(': keepalive\n\n');
    const events = await readSse(new Response(raw));
    expect(events.at(-1)).toMatchObject({ event: 'error' });
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({
      type: 'error',
      code: 'upstream_timeout',
    });
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.outcome === 'timeout' && typeof entry.response_id === 'string'),
    );
    expect(line).toMatchObject({ path: '/v1/responses', usage_estimated: true });
  });

  it('refuses a body over MAX_BODY_BYTES with a 413', async () => {
    const response = await gateway.post('/v1/responses', { input: 'x'.repeat(4096) });
    expect(response.status).toBe(413);
  });

  it('charges the token budget from response.completed, and refuses once it is spent', async () => {
    // 12 input + 11 output tokens per reply: the second spends past 40, the third is refused.
    await client.responses.create({ input: 'x' });
    const stream = await client.responses.create({ input: 'x', stream: true });
    for await (const _ of stream);
    await waitFor(
      () =>
        gateway.logs.filter((line) => line.path === '/v1/responses' && line.usage).length >= 2 || undefined,
    );
    await expect(client.responses.create({ input: 'x' })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });
});

describe('/v1/responses on shutdown, in metrics and with LOG_BODIES', async () => {
  const ADMIN = 'admin-key-0123456789abcdef';
  const gateway = await startGateway({
    bindings: { SHUTDOWN_TIMEOUT_MS: '300', ADMIN_API_KEY: ADMIN, LOG_BODIES: 'on' },
  });

  it('counts the route in /metrics and puts the input and output text on the line with LOG_BODIES', async () => {
    const response = await gateway.post('/v1/responses', { instructions: 'Be brief.', input: 'Say hello' });
    const { id } = (await response.json()) as { id: string };
    const line = await waitFor(() => gateway.logs.find((entry) => entry.response_id === id));
    expect(line).toMatchObject({
      prompt: { instructions: 'Be brief.', input: 'Say hello' },
      completion: DEFAULT_REPLY,
    });
    const metrics = await (
      await gateway.get('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    expect(metrics).toMatch(/gateway_requests_total\{[^}]*route="\/v1\/responses"[^}]*\} 1/);
  });

  it('ends a stream still open at shutdown with an error event, and aborts its upstream', async () => {
    gateway.upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
    const response = await gateway.post('/v1/responses', { input: 'x', stream: true });
    const reading = readSse(response);
    await waitFor(() => gateway.upstream.requests.at(-1)?.chunksSent === 2 || undefined);
    const upstreamRequest = gateway.upstream.requests.at(-1);
    await gateway.shutdown();
    const events = await reading;
    expect(events.filter((event) => event.event === 'response.output_text.delta')).toHaveLength(2);
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({
      type: 'error',
      code: 'server_shutting_down',
    });
    await upstreamRequest?.done;
    expect(upstreamRequest?.aborted).toBe(true);
  });
});
