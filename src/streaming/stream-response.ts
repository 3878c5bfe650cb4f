import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { describeError } from '../logger.ts';
import type { ChatRequest } from '../upstream/chat-upstream.ts';
import { estimateUsage } from '../usage/estimate-tokens.ts';
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

  const { body, requestId } = await c.get('upstream').stream(request, upstream.signal);
  const writeLog = c.get('deferAccessLog')();
  const { activeStreams } = c.get('metrics');
  const logBodies = c.get('config').LOG_BODIES;
  activeStreams.inc();
  const relay = relayStream({
    body,
    upstream,
    shutdownSignal: c.get('shutdownSignal'),
    idleTimeoutMs: c.get('config').REQUEST_TIMEOUT,
    keepaliveMs: c.get('config').SSE_KEEPALIVE_MS,
    startedAt: c.get('startedAt'),
    format,
    prelude,
    onEnd: async ({ outcome, finishReason, usage, firstTokenMs, completionText, error }) => {
      activeStreams.dec();
      let unaccounted: unknown;
      try {
        // A stream cut short (client gone, upstream failure, timeout) never got the usage chunk:
        // it is still accounted, with the prompt and the completion actually relayed, as estimated.
        await c.get('accountUsage')({
          model: request.model,
          usage: usage ?? (await estimateUsage(request, completionText)),
          estimated: !usage,
        });
      } catch (thrown) {
        // The stores report their own failures; this is anything else (the tokenizer failing to
        // load, say): the request's line still gets written, and says so.
        unaccounted = thrown;
      }
      writeLog({
        ...(unaccounted ? { usage_error: describeError(unaccounted).error } : {}),
        ...(requestId ? { upstream_request_id: requestId } : {}),
        outcome,
        finish_reason: finishReason,
        ttft_ms: firstTokenMs,
        ...(logBodies ? { prompt: request.messages, completion: completionText } : {}),
        ...(error ? { code: error.code, ...describeError(error.cause ?? error) } : {}),
      });
    },
  });
  return c.body(relay, 200, SSE_HEADERS);
}
