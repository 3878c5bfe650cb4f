import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { describeError } from '../logger.ts';
import type { ChatRequest } from '../upstream/chat-upstream.ts';
import { type FrameFormat, relayStream } from './relay-stream.ts';
import { SSE_HEADERS } from './sse-frames.ts';
import { StopReason } from './stop-reason.ts';

/**
 * Starts an upstream stream and answers with the relay in `format`. Errors before the upstream
 * answered throw (and become JSON errors); after that they travel inside the stream.
 */
export async function streamResponse(
  c: Context<AppEnv>,
  request: ChatRequest,
  format: FrameFormat,
  { prelude }: { prelude?: string } = {},
) {
  const upstream = new AbortController();
  const clientSignal = c.req.raw.signal;
  if (clientSignal.aborted) upstream.abort(StopReason.clientGone);
  else clientSignal.addEventListener('abort', () => upstream.abort(StopReason.clientGone), { once: true });

  const body = await c.get('upstream').stream(request, upstream.signal);
  const writeLog = c.get('deferAccessLog')();
  const recordUsage = c.get('recordUsage');
  const relay = relayStream({
    body,
    upstream,
    shutdownSignal: c.get('shutdownSignal'),
    idleTimeoutMs: c.get('config').REQUEST_TIMEOUT,
    startedAt: c.get('startedAt'),
    format,
    prelude,
    onEnd: async ({ outcome, finishReason, usage, firstTokenMs, error }) => {
      // Charged before the stream closes, so the client's next request sees it (and Lambda runs it).
      await recordUsage(usage);
      writeLog({
        outcome,
        model: request.model,
        finish_reason: finishReason,
        usage,
        ttft_ms: firstTokenMs,
        ...(error ? { code: error.code, ...describeError(error.cause ?? error) } : {}),
      });
    },
  });
  return c.body(relay, 200, SSE_HEADERS);
}
