import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import { gatewayFrames } from '../streaming/gateway-frames.ts';
import { streamResponse } from '../streaming/stream-response.ts';
import { CompletionRequest, toChatRequest } from './completion-request.ts';
import { allowOnly } from './method-not-allowed.ts';

/** `POST /api/completions` (JSON) and `POST /api/completions/stream` (SSE), the brief's endpoints. */
export function completionsRoute() {
  return new Hono<AppEnv>()
    .post('/', requireJson, validateJson(CompletionRequest), async (c) => {
      const request = toChatRequest(c.req.valid('json'), c.get('config'));
      const completion = await c.get('upstream').complete(request, c.req.raw.signal);
      const choice = completion.choices[0];
      const result = {
        id: completion.id,
        model: completion.model,
        content: choice?.message.content ?? '',
        finish_reason: choice?.finish_reason ?? null,
        usage: completion.usage ?? null,
      };
      return c.json(result);
    })
    .post('/stream', requireJson, validateJson(CompletionRequest), (c) =>
      streamResponse(c, toChatRequest(c.req.valid('json'), c.get('config')), gatewayFrames),
    )
    .all('/', allowOnly('POST'))
    .all('/stream', allowOnly('POST'));
}
