import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError } from '../logger.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import { relayCompletionStream } from '../streaming/completion-stream.ts';
import { SSE_HEADERS } from '../streaming/sse-frames.ts';
import { StopReason } from '../streaming/stop-reason.ts';
import type { ChatRequest } from '../upstream/chat-upstream.ts';
import { CompletionRequest } from './completion-request.ts';
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
      Object.assign(c.get('logFields'), { model: result.model, usage: result.usage });
      return c.json(result);
    })
    .post('/stream', requireJson, validateJson(CompletionRequest), async (c) => {
      const request = toChatRequest(c.req.valid('json'), c.get('config'));
      const upstream = new AbortController();
      abortWith(c.req.raw.signal, upstream, StopReason.clientGone);
      // Resolves when the upstream answered with a status: errors until then are plain HTTP errors.
      const chunks = await c.get('upstream').stream(request, upstream.signal);
      const writeLog = c.get('deferAccessLog')();
      const body = relayCompletionStream({
        chunks,
        upstream,
        shutdownSignal: c.get('shutdownSignal'),
        idleTimeoutMs: c.get('config').REQUEST_TIMEOUT,
        startedAt: c.get('startedAt'),
        onEnd: ({ outcome, finishReason, usage, firstTokenMs, error }) =>
          writeLog({
            outcome,
            model: request.model,
            finish_reason: finishReason,
            usage,
            ttft_ms: firstTokenMs,
            ...(error ? { code: error.code, ...describeError(error.cause ?? error) } : {}),
          }),
      });
      return c.body(body, 200, SSE_HEADERS);
    })
    .all('/', allowOnly('POST'))
    .all('/stream', allowOnly('POST'));
}

function toChatRequest(body: CompletionRequest, config: Config): ChatRequest {
  // The endpoint decides whether to stream, not the body.
  const { stream: _stream, stream_options: _options, ...rest } = body;
  return { ...rest, model: body.model ?? config.DEFAULT_MODEL } as ChatRequest;
}

function abortWith(signal: AbortSignal, controller: AbortController, reason: Error) {
  if (signal.aborted) controller.abort(reason);
  else signal.addEventListener('abort', () => controller.abort(reason), { once: true });
}
