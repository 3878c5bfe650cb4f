import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_WORDS as words } from './support/fake-upstream.ts';
import { startGateway, waitFor } from './support/start-gateway.ts';

const gateway = await startGateway();

describe('the Vercel AI SDK against the gateway', () => {
  it('streams with its default OpenAI model (the Responses API), with its usage', async () => {
    const openai = createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'gateway-client-key' });
    const result = streamText({ model: openai('gpt-4o-mini'), prompt: 'Say hello' });
    const parts: string[] = [];
    for await (const text of result.textStream) parts.push(text);
    expect(parts.join('')).toBe(DEFAULT_REPLY);
    expect(parts.length).toBeGreaterThan(1);
    const usage = await result.usage;
    expect(usage).toMatchObject({
      inputTokens: 12,
      outputTokens: words.length,
      totalTokens: 12 + words.length,
    });
    // It called /v1/responses, and the gateway accounted the stream from its final event.
    const sent = gateway.upstream.requests.at(-1);
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/responses' });
    expect(sent?.body).toMatchObject({ model: 'gpt-4o-mini', stream: true });
    const line = await waitFor(() =>
      gateway.logs.find((entry) => entry.event === 'request' && entry.path === '/v1/responses'),
    );
    expect(line).toMatchObject({
      outcome: 'ok',
      usage_estimated: false,
      usage: { completion_tokens: words.length },
    });
  });
});
