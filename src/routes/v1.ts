import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import { openaiFrames } from '../streaming/openai-frames.ts';
import type { AllowedChatRequest, ChatUpstream } from '../upstream/chat-upstream.ts';
import { CompletionRequest } from './completion-request.ts';
import type { CompletionRunner } from './completion-runner.ts';
import { allowOnly } from './method-not-allowed.ts';

type Options = {
  chatRequest: (body: CompletionRequest) => AllowedChatRequest;
  completions: CompletionRunner;
  upstream: ChatUpstream;
  /** ALLOWED_MODELS: /v1/models lists only these when set. */
  allowedModels: string[];
};

/**
 * The OpenAI-compatible surface: an OpenAI SDK with `baseURL: <gateway>/v1` works unchanged.
 * Bodies, chunks and errors are OpenAI's own; the gateway's middleware applies as on /api.
 */
export function v1Route({ chatRequest, completions, upstream, allowedModels }: Options) {
  return new Hono<AppEnv>()
    .post('/chat/completions', requireJson, validateJson(CompletionRequest), async (c) => {
      const body = c.req.valid('json');
      const request = chatRequest(body);
      if (body.stream) {
        const includeUsage = body.stream_options?.include_usage === true;
        return completions.stream(
          c,
          { ...request, ...(body.stream_options ? { stream_options: body.stream_options } : {}) },
          openaiFrames({ includeUsage }),
        );
      }
      // OpenAI's own bytes, as the upstream sent them: an SDK reads every field it knows.
      const { body: answer } = await completions.complete(c, request);
      return c.body(answer, 200, { 'Content-Type': 'application/json' });
    })
    .get('/models', async (c) => {
      const models = await upstream.models({
        signal: c.req.raw.signal,
        requestId: c.get('requestId'),
        attempts: [],
      });
      const data = allowedModels.length ? models.filter((model) => allowedModels.includes(model.id)) : models;
      return c.json({ object: 'list', data });
    })
    .all('/chat/completions', allowOnly('POST'))
    .all('/models', allowOnly('GET'));
}
