import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import { openaiFrames } from '../streaming/openai-frames.ts';
import { streamResponse } from '../streaming/stream-response.ts';
import { CompletionRequest, toChatRequest } from './completion-request.ts';
import { allowOnly } from './method-not-allowed.ts';

/**
 * The OpenAI-compatible surface: an OpenAI SDK with `baseURL: <gateway>/v1` works unchanged.
 * Bodies, chunks and errors are OpenAI's own; the gateway's middleware applies as on /api.
 */
export function v1Route() {
  return new Hono<AppEnv>()
    .post('/chat/completions', requireJson, validateJson(CompletionRequest), async (c) => {
      const body = c.req.valid('json');
      const request = toChatRequest(body, c.get('config'));
      if (body.stream) {
        const includeUsage = body.stream_options?.include_usage === true;
        return streamResponse(
          c,
          { ...request, ...(body.stream_options ? { stream_options: body.stream_options } : {}) },
          openaiFrames({ includeUsage }),
        );
      }
      const completion = await c.get('upstream').complete(request, c.req.raw.signal);
      return c.json(completion);
    })
    .get('/models', async (c) =>
      c.json({ object: 'list', data: await c.get('upstream').models(c.req.raw.signal) }),
    )
    .all('/chat/completions', allowOnly('POST'))
    .all('/models', allowOnly('GET'));
}
