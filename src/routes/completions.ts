import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import { gatewayFrames } from '../streaming/gateway-frames.ts';
import type { AllowedChatRequest } from '../upstream/chat-upstream.ts';
import { CompletionRequest } from './completion-request.ts';
import type { CompletionRunner } from './completion-runner.ts';
import { allowOnly } from './method-not-allowed.ts';
import { RESUME_URL_HEADER, type ResumeLinks, resumeLinkFor } from './stream-resume.ts';

type Options = {
  chatRequest: (body: CompletionRequest) => AllowedChatRequest;
  completions: CompletionRunner;
  resumeLinks: ResumeLinks;
};

/** `POST /api/completions` (JSON) and `POST /api/completions/stream` (SSE), the seed's endpoints. */
export function completionsRoute({ chatRequest, completions, resumeLinks }: Options) {
  return new Hono<AppEnv>()
    .post('/', requireJson, validateJson(CompletionRequest), async (c) => {
      const { completion } = await completions.complete(c, chatRequest(c.req.valid('json')));
      const choice = completion.choices[0];
      return c.json({
        id: completion.id,
        model: completion.model,
        content: choice?.message.content ?? '',
        finish_reason: choice?.finish_reason ?? null,
        usage: completion.usage ?? null,
      });
    })
    .post('/stream', requireJson, validateJson(CompletionRequest), async (c) => {
      const request = chatRequest(c.req.valid('json'));
      const link = await resumeLinkFor(c, resumeLinks);
      if (!link) return completions.stream(c, request, gatewayFrames);
      const response = await completions.stream(c, request, gatewayFrames, {
        resume: { id: link.id, withIds: false },
      });
      response.headers.set(RESUME_URL_HEADER, link.url);
      return response;
    })
    .all('/', allowOnly('POST'))
    .all('/stream', allowOnly('POST'));
}
