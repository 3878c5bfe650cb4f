import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError } from '../logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { AccessLog } from '../middleware/access-log.ts';
import { limitKeyOf } from '../middleware/limit-policy.ts';
import { type FrameFormat, relayStream } from '../streaming/relay-stream.ts';
import type { ResumableStreams } from '../streaming/resumable-streams.ts';
import { SSE_HEADERS } from '../streaming/sse-frames.ts';
import { StopReason } from '../streaming/stop-reason.ts';
import type {
  AllowedChatRequest,
  Answered,
  ChatRequest,
  ChatUpstream,
  UpstreamCompletion,
  UpstreamStream,
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
  /** Streams a client can resume: their producer, not the client's connection, owns the upstream. */
  resumable: ResumableStreams;
};

const never = new AbortController().signal;

/**
 * What every completion route does once it has a request: call the upstream, settle the usage
 * ledger, and answer (JSON), or relay the stream in a surface's frame format (SSE).
 */
export function completionRunner(options: Options) {
  const { upstream, settle, accessLog, metrics, config, shutdownSignal, resumable } = options;
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
      { prelude, resume }: { prelude?: string; resume?: { id: string; withIds: boolean } } = {},
    ) {
      const controller = new AbortController();
      const clientSignal = c.req.raw.signal;
      const clientGone = () => controller.abort(StopReason.clientGone);
      if (clientSignal.aborted) clientGone();
      else clientSignal.addEventListener('abort', clientGone, { once: true });

      let answer: Answered<UpstreamStream>;
      try {
        answer = await traced(c, (call) => upstream.stream(request, call), controller.signal);
      } catch (error) {
        if (resume) await resumable.discard(resume.id);
        throw error;
      }
      const { body, requestId } = answer;
      // A resumable stream outlives its first connection: from here its producer decides when
      // nobody is coming back (STREAM_RESUME_WINDOW_MS), and cancels the relay then.
      if (resume) clientSignal.removeEventListener('abort', clientGone);
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
      if (!resume) return c.body(relay, 200, SSE_HEADERS);
      const produced = resumable.produce(resume.id, relay, resume.withIds);
      // Workers and Lambda keep running what is handed to waitUntil after the response; Node has no
      // execution context, and its process runs on anyway.
      keepRunning(c, produced.done);
      return c.body(produced.body, 200, SSE_HEADERS);
    },
  };
}

export type CompletionRunner = ReturnType<typeof completionRunner>;

function keepRunning(c: Context<AppEnv>, work: Promise<void>) {
  let context: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    context = c.executionCtx;
  } catch {
    // Hono throws when the runtime handed it no execution context (Node).
  }
  context?.waitUntil(work);
}
