import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REPLY,
  LONG_REPLY,
  LONG_REPLY_WORDS,
  DEFAULT_WORDS as words,
} from './support/fake-upstream.ts';
import { readSse } from './support/sse.ts';
import { startGateway, waitFor } from './support/start-gateway.ts';

const ADMIN = 'admin-key-0123456789abcdef';
const gateway = await startGateway({ bindings: { ADMIN_API_KEY: ADMIN, REQUEST_TIMEOUT: '10000' } });
const client = new OpenAI({ apiKey: 'gateway-client-key', baseURL: `${gateway.url}/v1`, maxRetries: 0 });
const lastUpstream = () => gateway.upstream.requests.at(-1);
const lineOf = (requestId: string | null) =>
  waitFor(() => gateway.logs.find((line) => line.event === 'request' && line.request_id === requestId));

describe('the official openai SDK against /v1/responses', () => {
  it('creates a response (JSON), with OpenAI’s body unchanged and DEFAULT_MODEL filled in', async () => {
    const { data: response, response: raw } = await client.responses
      .create({ input: 'Say hello' } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
      .withResponse();
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-4o-mini' });
    expect(response.output_text).toBe(DEFAULT_REPLY);
    expect(response.usage).toMatchObject({ input_tokens: 12, output_tokens: words.length });
    expect(lastUpstream()?.body).toMatchObject({ model: 'gpt-4o-mini', input: 'Say hello', stream: false });
    const line = await lineOf(raw.headers.get('x-request-id'));
    expect(line).toMatchObject({
      path: '/v1/responses',
      status: 200,
      outcome: 'ok',
      response_id: response.id,
      finish_reason: 'completed',
      usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length },
      usage_estimated: false,
    });
  });

  it('streams with stream: true: every event in order, then response.completed with usage', async () => {
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'Say hello', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events[0]?.type).toBe('response.created');
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const deltas = events.filter((event) => event.type === 'response.output_text.delta');
    expect(deltas.map((event) => event.delta)).toEqual(words);
    const last = events.at(-1);
    expect(last?.type).toBe('response.completed');
    expect(last?.type === 'response.completed' && last.response.usage).toMatchObject({
      input_tokens: 12,
      output_tokens: words.length,
    });
    expect(lastUpstream()?.body).toMatchObject({ model: 'gpt-4.1', stream: true });
  });

  it('passes the events on as the upstream wrote them: named events, no [DONE], nothing added', async () => {
    const response = await gateway.post('/v1/responses', { input: 'Say hello', stream: true });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const text = await response.text();
    const frames = text.split('\n\n').filter(Boolean);
    const parsed = frames.map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      expect(rest).toEqual([]);
      const data = JSON.parse(dataLine?.slice('data: '.length) ?? '') as { type: string };
      expect(eventLine).toBe(`event: ${data.type}`);
      return data;
    });
    expect(parsed.at(-1)?.type).toBe('response.completed');
    expect(text).not.toContain('[DONE]');
    // Byte for byte: each frame is the upstream's JSON with its event line, as OpenAI writes them.
    expect(text).toBe(
      parsed.map((data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`).join(''),
    );
  });

  it('responses.stream() gives the final text and response, and the log line its usage', async () => {
    const stream = client.responses.stream({ input: 'Say hello' });
    const texts: string[] = [];
    stream.on('response.output_text.delta', (event) => texts.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(DEFAULT_REPLY);
    expect(texts.join('')).toBe(DEFAULT_REPLY);
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.response_id === final.id),
    );
    expect(line).toMatchObject({
      outcome: 'ok',
      finish_reason: 'completed',
      usage: { prompt_tokens: 12, completion_tokens: words.length },
      usage_estimated: false,
      ttft_ms: expect.any(Number),
    });
  });

  it('aborts the upstream when the client breaks out of the loop, and estimates the usage', async () => {
    gateway.upstream.enqueue({ content: LONG_REPLY, chunkDelayMs: 50 });
    const stream = await client.responses.create({ input: 'Say hello', stream: true });
    let deltas = 0;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta' && ++deltas === 2) break;
    }
    const upstream = lastUpstream();
    await waitFor(() => upstream?.aborted || undefined);
    expect(upstream?.chunksSent).toBeLessThan(LONG_REPLY_WORDS);
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.outcome === 'client_aborted'),
    );
    expect(line).toMatchObject({ path: '/v1/responses', usage_estimated: true });
    expect((line.usage as { completion_tokens: number }).completion_tokens).toBeGreaterThanOrEqual(2);
  });

  it('caps max_output_tokens at MAX_TOKENS_CAP and passes response.incomplete on, logged with its reason', async () => {
    const capped = await startGateway({ bindings: { MAX_TOKENS_CAP: '3' } });
    const sdk = new OpenAI({ apiKey: 'k', baseURL: `${capped.url}/v1`, maxRetries: 0 });
    const stream = await sdk.responses.create({ input: 'Say hello', stream: true, max_output_tokens: 50 });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(capped.upstream.requests.at(-1)?.body?.max_output_tokens).toBe(3);
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { incomplete_details: { reason: 'max_output_tokens' } },
    });
    const line = await waitFor(() => capped.logs.find((entry) => entry.event === 'request'));
    expect(line).toMatchObject({
      outcome: 'ok',
      finish_reason: 'incomplete',
      reason: 'max_output_tokens',
      usage: { completion_tokens: 3 },
    });
  });

  it('refuses what the gateway relies on with OpenAI-shaped 400s, before the upstream is called', async () => {
    const before = gateway.upstream.requests.length;
    const missing = client.responses.create({} as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    await expect(missing).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(missing).rejects.toMatchObject({ param: 'input' });
    const hot = client.responses.create({ input: 'x', temperature: 3 });
    await expect(hot).rejects.toMatchObject({ status: 400, param: 'temperature' });
    const zero = client.responses.create({ input: 'x', max_output_tokens: 0 });
    await expect(zero).rejects.toMatchObject({ status: 400, param: 'max_output_tokens' });
    const notText = client.responses.create({ input: 42 as unknown as string });
    await expect(notText).rejects.toMatchObject({ status: 400, param: 'input' });
    expect(gateway.upstream.requests.length).toBe(before);
  });

  it('turns upstream failures before the stream into the SDK’s error classes', async () => {
    gateway.upstream.enqueue({ status: 429, headers: { 'retry-after': '7' } });
    await expect(client.responses.create({ input: 'x' })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    // Tried twice on the one upstream (UPSTREAM_ATTEMPTS_EACH) before it stands.
    gateway.upstream.enqueue({ status: 500 }, { status: 500 });
    const stream = client.responses.create({ input: 'x', stream: true });
    await expect(stream).rejects.toBeInstanceOf(OpenAI.APIError);
    await expect(stream).rejects.toMatchObject({ status: 502, code: 'upstream_unavailable' });
  });

  it('passes the upstream’s error event on, which the SDK raises, and logs the stream as failed', async () => {
    gateway.upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    const stream = await client.responses.create({ input: 'x', stream: true });
    const seen: string[] = [];
    let id = '';
    const read = (async () => {
      for await (const event of stream) {
        seen.push(event.type);
        if (event.type === 'response.created') id = event.response.id;
      }
    })();
    await expect(read).rejects.toMatchObject({
      message: expect.stringContaining('The server had an error'),
      code: 'server_error',
    });
    expect(seen.filter((type) => type === 'response.output_text.delta')).toHaveLength(2);
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.response_id === id),
    );
    expect(line).toMatchObject({
      path: '/v1/responses',
      outcome: 'upstream_error',
      code: 'upstream_unavailable',
      usage_estimated: true,
    });
  });

  it('ends a stream the upstream broke off with an error event in OpenAI’s shape, never silently', async () => {
    gateway.upstream.enqueue({ reset: true, afterChunks: 3 });
    const response = await gateway.post('/v1/responses', { input: 'x', stream: true });
    const text = await response.text();
    const last = text.split('\n\n').filter(Boolean).at(-1) ?? '';
    expect(last.startsWith('event: error\ndata: ')).toBe(true);
    const data = JSON.parse(last.split('\n')[1]?.slice(6) ?? '');
    const previous = JSON.parse(text.split('\n\n').filter(Boolean).at(-2)?.split('\n')[1]?.slice(6) ?? '');
    expect(data).toMatchObject({
      type: 'error',
      code: 'upstream_unavailable',
      message: expect.stringContaining('broke off'),
      error: { type: 'upstream_error', code: 'upstream_unavailable' },
      sequence_number: previous.sequence_number + 1,
    });
    // And the SDK raises it.
    gateway.upstream.enqueue({ reset: true, afterChunks: 3 });
    const stream = await client.responses.create({ input: 'x', stream: true });
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });

  it('passes response.failed on and logs it as an upstream failure with its reason', async () => {
    gateway.upstream.enqueue({ responseFailed: true, afterChunks: 1 });
    const stream = await client.responses.create({ input: 'x', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed' } });
    const id = events[0]?.type === 'response.created' ? events[0].response.id : '';
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.response_id === id),
    );
    expect(line).toMatchObject({
      outcome: 'upstream_error',
      finish_reason: 'failed',
      reason: 'server_error: The model failed to generate a response.',
    });
  });

  it('counts Responses usage in /api/usage', async () => {
    const usage = async () =>
      (await (await gateway.get('/api/usage', { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
        by_model: Record<string, { requests: number; prompt_tokens: number; completion_tokens: number }>;
      };
    const before = (await usage()).by_model['gpt-usage-test'];
    expect(before).toBeUndefined();
    await client.responses.create({ model: 'gpt-usage-test', input: 'x' });
    const stream = await client.responses.create({ model: 'gpt-usage-test', input: 'x', stream: true });
    for await (const _ of stream);
    await waitFor(async () =>
      (await usage()).by_model['gpt-usage-test']?.requests === 2 ? true : undefined,
    );
    expect((await usage()).by_model['gpt-usage-test']).toMatchObject({
      requests: 2,
      prompt_tokens: 24,
      completion_tokens: 2 * words.length,
    });
  });

  it('continues a conversation with previous_response_id (one tenant: ids pass as they are)', async () => {
    const first = await client.responses.create({ input: 'Say hello' });
    const second = await client.responses.create({ input: 'Again', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    expect(lastUpstream()?.body?.previous_response_id).toBe(first.id);
    const items = await client.responses.inputItems.list(first.id);
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user' });
    expect((await client.responses.retrieve(first.id)).output_text).toBe(DEFAULT_REPLY);
    await client.responses.delete(first.id);
    await expect(client.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('replays a background response’s events from starting_after', async () => {
    const stream = await client.responses.create({ input: 'Say hello', stream: true, background: true });
    const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (event.type === 'response.output_text.delta' && seen.length >= 6) break;
    }
    const created = seen[0];
    const id = created?.type === 'response.created' ? created.response.id : '';
    const cursor = seen.at(-1)?.sequence_number ?? 0;
    const replay = await client.responses.retrieve(id, { stream: true, starting_after: cursor });
    const rest: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of replay) rest.push(event);
    expect(rest[0]?.sequence_number).toBe(cursor + 1);
    expect(rest.at(-1)?.type).toBe('response.completed');
    const text = [...seen, ...rest]
      .map((event) => (event.type === 'response.output_text.delta' ? event.delta : ''))
      .join('');
    expect(text).toBe(DEFAULT_REPLY);
    expect(lastUpstream()?.path).toBe(`/v1/responses/${id}?stream=true&starting_after=${cursor}`);
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.replay === true),
    );
    expect(line).toMatchObject({ outcome: 'ok', finish_reason: 'completed', response_id: id });
  });

  it('never answers a replay the upstream left empty with a bare 200: it ends with an error event', async () => {
    const stream = await client.responses.create({ input: 'Say hello', stream: true, background: true });
    let id = '';
    let last = 0;
    for await (const event of stream) {
      if (event.type === 'response.created') id = event.response.id;
      last = event.sequence_number;
    }
    // Past the last event, the upstream has nothing to send and closes a 200 at once.
    const response = await gateway.get(`/v1/responses/${id}?stream=true&starting_after=${last + 100}`);
    expect(response.status).toBe(200);
    const events = await readSse(response);
    expect(events).toHaveLength(1);
    expect(events[0]?.event).toBe('error');
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({
      type: 'error',
      code: 'upstream_unavailable',
      sequence_number: last + 101,
    });
  });

  it('settles a background response’s usage once, when a request first sees it finished', async () => {
    const byModel = async (model: string) => {
      const response = await gateway.get('/api/usage', { headers: { authorization: `Bearer ${ADMIN}` } });
      return (
        (await response.json()) as {
          by_model: Record<string, { requests: number; completion_tokens: number }>;
        }
      ).by_model[model];
    };
    const { data: queued, response: raw } = await client.responses
      .create({ model: 'gpt-background-json', input: 'x', background: true })
      .withResponse();
    expect(queued.status).toBe('queued');
    expect(await lineOf(raw.headers.get('x-request-id'))).toMatchObject({ usage_deferred: true });
    expect(await byModel('gpt-background-json')).toBeUndefined();
    // The first retrieval sees it completed, with its usage: charged then, and never again.
    for (let round = 0; round < 2; round++) {
      const { data: done } = await client.responses.retrieve(queued.id).withResponse();
      expect(done.status).toBe('completed');
    }
    await waitFor(async () => (await byModel('gpt-background-json'))?.requests === 1 || undefined);
    expect(await byModel('gpt-background-json')).toMatchObject({
      requests: 1,
      completion_tokens: words.length,
    });

    // A background stream the client left early is not estimated: its replay settles it.
    gateway.upstream.enqueue({ content: LONG_REPLY, chunkDelayMs: 50 });
    const stream = await client.responses.create({
      model: 'gpt-background-stream',
      input: 'x',
      stream: true,
      background: true,
    });
    let id = '';
    for await (const event of stream) {
      if (event.type === 'response.created') id = event.response.id;
      if (event.type === 'response.output_text.delta') break;
    }
    const left = await waitFor(() =>
      gateway.logs.find((entry) => entry.response_id === id && entry.outcome === 'client_aborted'),
    );
    expect(left).toMatchObject({ usage_deferred: true });
    expect(left.usage).toBeUndefined();
    const replay = await client.responses.retrieve(id, { stream: true, starting_after: 0 });
    for await (const _ of replay);
    await waitFor(async () => (await byModel('gpt-background-stream'))?.requests === 1 || undefined);
    expect(await byModel('gpt-background-stream')).toMatchObject({
      requests: 1,
      completion_tokens: LONG_REPLY_WORDS,
    });
  });

  it('cancels a background response', async () => {
    const queued = await client.responses.create({ input: 'x', background: true });
    expect(queued.status).toBe('queued');
    const cancelled = await client.responses.cancel(queued.id);
    expect(cancelled.status).toBe('cancelled');
    expect(lastUpstream()).toMatchObject({ method: 'POST', path: `/v1/responses/${queued.id}/cancel` });
  });

  it('refuses an id that is not an OpenAI id without calling the upstream', async () => {
    const before = gateway.upstream.requests.length;
    const response = await gateway.get('/v1/responses/..%2Fchat%2Fcompletions');
    expect(response.status).toBe(404);
    expect(gateway.upstream.requests.length).toBe(before);
  });
});
