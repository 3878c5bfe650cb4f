import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import OpenAI from 'openai';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';

/**
 * The reference the bench measures the gateway against: the obvious relay a user would write with
 * Hono's `streamSSE` and the official SDK, on the same endpoints and frames as the gateway's
 * (`{"content":...}` deltas on /api/completions/stream, OpenAI's chunks on /v1). No auth, limits,
 * usage accounting or logs: what people would otherwise deploy.
 */
type Body = Omit<ChatCompletionCreateParams, 'model' | 'stream'> & { model?: string; stream?: boolean };

export function referenceRelay({ apiKey, baseURL }: { apiKey: string; baseURL: string }): Hono {
  const client = new OpenAI({ apiKey, baseURL });
  const app = new Hono();

  app.post('/api/completions', async (c) => {
    const body = await c.req.json<Body>();
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', ...body, stream: false });
    return c.json({ content: completion.choices[0]?.message.content ?? '', usage: completion.usage });
  });

  app.post('/api/completions/stream', async (c) => {
    const body = await c.req.json<Body>();
    return streamSSE(c, async (sse) => {
      // A client that leaves cancels the upstream call, as the gateway does (without it, every
      // aborted stream would run to its end upstream).
      const controller = new AbortController();
      sse.onAbort(() => controller.abort());
      const stream = await client.chat.completions.create(
        // include_usage as the gateway asks it, so the upstream does the same work for both.
        { model: 'gpt-4o-mini', ...body, stream: true, stream_options: { include_usage: true } },
        { signal: controller.signal },
      );
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta?.content;
        if (content) await sse.writeSSE({ data: JSON.stringify({ content }) });
      }
      if (!sse.aborted) await sse.writeSSE({ data: '[DONE]' });
    });
  });

  app.post('/v1/chat/completions', async (c) => {
    const body = await c.req.json<Body>();
    if (!body.stream) return c.json(await client.chat.completions.create({ model: 'gpt-4o-mini', ...body }));
    return streamSSE(c, async (sse) => {
      const controller = new AbortController();
      sse.onAbort(() => controller.abort());
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', ...body, stream: true },
        { signal: controller.signal },
      );
      for await (const chunk of stream) await sse.writeSSE({ data: JSON.stringify(chunk) });
      if (!sse.aborted) await sse.writeSSE({ data: '[DONE]' });
    });
  });

  // The Responses API as the same obvious relay writes it: each event the SDK yields, re-sent.
  app.post('/v1/responses', async (c) => {
    const body = await c.req.json<Record<string, unknown>>();
    return streamSSE(c, async (sse) => {
      const controller = new AbortController();
      sse.onAbort(() => controller.abort());
      const stream = await client.responses.create(
        { model: 'gpt-4o-mini', ...body, stream: true },
        { signal: controller.signal },
      );
      for await (const event of stream)
        await sse.writeSSE({ event: event.type, data: JSON.stringify(event) });
    });
  });

  return app;
}
