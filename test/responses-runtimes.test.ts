import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ALICE, BOB, KEY_BINDINGS } from './access/fixtures.ts';
import {
  DEFAULT_REPLY,
  LONG_REPLY,
  LONG_REPLY_WORDS,
  DEFAULT_WORDS as words,
} from './support/fake-upstream.ts';
import { runtimes } from './support/harness.ts';
import { waitFor } from './support/start-gateway.ts';

// What every runtime must do with the Responses API: the Node adapter, and the Worker in workerd.
// The Lambda runtime's case is in test/lambda/function-url.test.ts.
describe.each(runtimes)('/v1/responses on %s', async (_name, start) => {
  // With client keys, so the response-owner store is used: memory on Node, the GatewayCounters
  // Durable Object in workerd.
  const gateway = await start({ bindings: KEY_BINDINGS });
  const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  const client = sdk(ALICE);

  it('streams a response through responses.stream(), with its usage accounted', async () => {
    const stream = client.responses.stream({ input: 'Say hello' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(DEFAULT_REPLY);
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: words.length });
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.response_id === final.id),
    );
    expect(line).toMatchObject({
      path: '/v1/responses',
      outcome: 'ok',
      finish_reason: 'completed',
      usage_estimated: false,
      usage: { prompt_tokens: 12, completion_tokens: words.length },
    });
  });

  it('answers a streamed response’s id to its creator only', async () => {
    const stream = await client.responses.create({ input: 'Say hello', stream: true });
    let id = '';
    for await (const event of stream) if (event.type === 'response.created') id = event.response.id;
    expect((await client.responses.retrieve(id)).output_text).toBe(DEFAULT_REPLY);
    await expect(sdk(BOB).responses.retrieve(id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const store = gateway.logs.find((line) => line.event === 'limit_store');
    expect(store?.kind).toBe(gateway.runtime === 'workerd' ? 'durable-object' : 'memory');
  });

  it('aborts the upstream when the client breaks out of the loop', async () => {
    // A 30 s reply: workerd notices the client left at its next write, which a loaded machine
    // delays; a short reply could end first and never be aborted.
    gateway.upstream.enqueue({ content: LONG_REPLY, chunkDelayMs: 50 });
    const stream = await client.responses.create({ input: 'Say hello', stream: true });
    let deltas = 0;
    for await (const event of stream)
      if (event.type === 'response.output_text.delta' && ++deltas === 2) break;
    const upstream = gateway.upstream.requests.at(-1);
    await waitFor(() => upstream?.aborted || undefined);
    expect(upstream?.chunksSent).toBeLessThan(LONG_REPLY_WORDS);
  });
});
