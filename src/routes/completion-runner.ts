import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError } from '../logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { AccessLog } from '../middleware/access-log.ts';
import { limitKeyOf } from '../middleware/limit-policy.ts';
import { type FrameFormat, relayStream } from '../streaming/relay-stream.ts';
import { SSE_HEADERS } from '../streaming/sse-frames.ts';
import { StopReason } from '../streaming/stop-reason.ts';
import type {
  AllowedChatRequest,
  ChatRequest,
  ChatUpstream,
  UpstreamCompletion,
} from '../upstream/chat-upstream.ts';
import type { UsageLedger } from '../usage/usage-ledger.ts';
import { traced } from './upstream-trace.ts';

type Options = {
  upstream: ChatUpstream;
  settle: UsageLedger;
  accessLog: AccessLog;
  metrics: GatewayMetrics;
  config: Pick<Config, 'REQUEST_TIMEOUT' | 'SSE_KEEPALIVE_MS'>;
  /** Ends a request's open stream early, with an error event (Node's shutdown, a Lambda deadline). */
  shutdownSignal?: ((request: Request) => AbortSignal | undefined) | undefined;
};

const never = new AbortController().signal;

/**
 * What every completion route does once it has a request: call the upstream, settle the usage
 * ledger, and answer (JSON), or relay the stream in a surface's frame format (SSE).
 */
export function completionRunner({ upstream, settle, accessLog, metrics, config, shutdownSignal }: Options) {
  const completionOf = (c: Context<AppEnv>, request: ChatRequest) => ({
    requestId: c.get('requestId'),
    keyId: c.get('keyId'),
    limitKey: limitKeyOf(c),
    request,
  });

  return {
    async complete(c: Context<AppEnv>, request: AllowedChatRequest): Promise<UpstreamCompletion> {
      const answer = await traced(c, (call) => upstream.complete(request, call));
      const { completion } = answer;
      const fields = await settle({
        ...completionOf(c, request),
        model: completion.model || answer.model || request.model,
        usage: completion.usage ?? null,
        completionText: completion.choices[0]?.message.content ?? '',
        contentDeltas: 0,
        upstreamRequestId: answer.requestId,
      });
      Object.assign(c.get('logFields'), fields);
      return answer;
    },

    /**
     * Starts an upstream stream and answers with the relay in `format`. Errors before the upstream
     * answered throw (and become JSON errors); after that they travel inside the stream.
     */
    async stream(
      c: Context<AppEnv>,
      request: AllowedChatRequest,
      format: FrameFormat,
      { prelude }: { prelude?: string } = {},
    ) {
      const controller = new AbortController();
      const clientSignal = c.req.raw.signal;
      if (clientSignal.aborted) controller.abort(StopReason.clientGone);
      else
        clientSignal.addEventListener('abort', () => controller.abort(StopReason.clientGone), { once: true });

      const answer = await traced(c, (call) => upstream.stream(request, call), controller.signal);
      const { body, requestId } = answer;
      c.set('logAtStreamEnd', true);
      metrics.activeStreams.inc();
      const relay = relayStream({
        body,
        upstream: controller,
        shutdownSignal: shutdownSignal?.(c.req.raw) ?? never,
        idleTimeoutMs: config.REQUEST_TIMEOUT,
        keepaliveMs: config.SSE_KEEPALIVE_MS,
        startedAt: c.get('startedAt'),
        format,
        prelude,
        onEnd: async ({
          outcome,
          finishReason,
          usage,
          firstTokenMs,
          completionText,
          contentDeltas,
          error,
        }) => {
          metrics.activeStreams.dec();
          // A stream cut short (client gone, upstream failure, timeout) never got the usage chunk:
          // the ledger still accounts it, estimating from the prompt and the text actually relayed.
          const fields = await settle({
            ...completionOf(c, request),
            model: answer.model ?? request.model,
            usage,
            completionText,
            contentDeltas,
            upstreamRequestId: requestId,
          });
          accessLog.write(c, {
            ...fields,
            outcome,
            finish_reason: finishReason,
            ttft_ms: firstTokenMs,
            ...(error ? { code: error.code, ...describeError(error.cause ?? error) } : {}),
          });
        },
      });
      return c.body(relay, 200, SSE_HEADERS);
    },
  };
}

export type CompletionRunner = ReturnType<typeof completionRunner>;
