import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_USAGE, DEFAULT_WORDS as words } from './support/fake-upstream.ts';
import { startGateway, waitFor } from './support/start-gateway.ts';

const gateway = await startGateway();
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say hello' }];
const client = new OpenAI({ apiKey: 'gateway-client-key', baseURL: `${gateway.url}/v1`, maxRetries: 0 });

describe('the official openai SDK against /v1', () => {
  it('creates a chat completion, with OpenAI’s body unchanged', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      temperature: 0.2,
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: DEFAULT_REPLY }, finish_reason: 'stop' }],
      usage: DEFAULT_USAGE,
      system_fingerprint: 'fp_fake',
    });
  });

  it('streams chunks to the end, with no usage chunk when none was asked for', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(DEFAULT_REPLY);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((chunk) => chunk.choices.length === 1)).toBe(true);
    // The gateway asked for usage anyway, for its own accounting.
    expect(gateway.upstream.requests.at(-1)?.body?.stream_options).toEqual({ include_usage: true });
  });

  it('honours stream_options.include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: DEFAULT_USAGE,
    });
  });

  it('passes the upstream bytes through: raw frames equal what the upstream sent, then [DONE]', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages, stream: true, stream_options: { include_usage: true } }),
    });
    const text = await response.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const frames = text.split('\n\n').filter(Boolean);
    expect(frames).toHaveLength(words.length + 4); // role, words, finish, usage, [DONE]
    expect(JSON.parse(frames[1]!.slice(6))).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [{ delta: { content: words[0] } }],
    });
  });

  it('passes unknown parameters through to the upstream', async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      seed: 3,
      logit_bias: { '50256': -100 },
      // @ts-expect-error: a parameter the SDK does not know yet still reaches the upstream.
      future_param: { nested: true },
    });
    expect(gateway.upstream.requests.at(-1)?.body).toMatchObject({
      seed: 3,
      logit_bias: { '50256': -100 },
      future_param: { nested: true },
    });
  });

  it('aborts the upstream when the caller breaks out of the iteration', async () => {
    // Three words, then the upstream holds the stream open: only the caller leaving can end it
    // before REQUEST_TIMEOUT (30 s), and the log line says which did.
    gateway.upstream.enqueue({ hang: 'mid-stream', afterChunks: 3 });
    const { data: stream, request_id } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages, stream: true })
      .withResponse();
    let seen = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) seen++;
      if (seen === 2) break;
    }
    const upstreamRequest = gateway.upstream.requests.at(-1);
    await waitFor(() => upstreamRequest?.aborted);
    const line = await waitFor(() => gateway.logs.find((entry) => entry.request_id === request_id));
    expect(line).toMatchObject({ path: '/v1/chat/completions', outcome: 'client_aborted' });
  });

  it('returns the raw response with withResponse, with the gateway request id', async () => {
    const { data, response, request_id } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .withResponse();
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.choices[0]?.message.content).toBe(DEFAULT_REPLY);
  });

  it('lists models', async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toContain('gpt-4o-mini');
  });

  it('raises BadRequestError for an invalid body, naming the field', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [], temperature: 9 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages');
  });

  it('raises AuthenticationError for an upstream 401', async () => {
    gateway.upstream.enqueue({ status: 401 });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it('answers a passing 429 itself, by retrying after Retry-After: the SDK sees one success', async () => {
    gateway.upstream.enqueue({ status: 429, headers: { 'retry-after': '0' } });
    const before = gateway.upstream.requests.length;
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_REPLY);
    expect(gateway.upstream.requests.length - before).toBe(2);
  });

  it('raises RateLimitError for a 429 that stands after the gateway’s attempts, and the SDK’s own retry then succeeds', async () => {
    // UPSTREAM_ATTEMPTS_EACH (2) on the one upstream, then the SDK's retry.
    const limited = { status: 429, headers: { 'retry-after-ms': '10', 'retry-after': '0' } };
    gateway.upstream.enqueue(limited, limited);
    const before = gateway.upstream.requests.length;
    const retrying = new OpenAI({ apiKey: 'k', baseURL: `${gateway.url}/v1`, maxRetries: 1 });
    const completion = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_REPLY);
    expect(gateway.upstream.requests.length - before).toBe(3);

    gateway.upstream.enqueue({ status: 429 }, { status: 429 });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
  });

  it('raises InternalServerError for an upstream 5xx that stands after the gateway’s attempts', async () => {
    gateway.upstream.enqueue({ status: 503 }, { status: 503 });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it('raises an APIError from the stream when the upstream fails mid-stream', async () => {
    gateway.upstream.enqueue({ reset: true, afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const received: string[] = [];
    const iterate = async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    };
    const error = await iterate().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('upstream_error');
    expect(received.join('')).toBe(words.slice(0, 2).join(''));
  });

  it('streams through keepalive comments, which the SDK skips', async () => {
    const quiet = await startGateway({
      bindings: { SSE_KEEPALIVE_MS: '50' },
      upstreamDefaults: { chunkDelayMs: 120 },
    });
    const sdk = new OpenAI({ apiKey: 'k', baseURL: `${quiet.url}/v1`, maxRetries: 0 });
    const stream = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(DEFAULT_REPLY);
  });
});
