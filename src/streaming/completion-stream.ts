import {
  type GatewayError,
  shuttingDown,
  timeoutError,
  toGatewayError,
  upstreamStreamFailed,
} from '../errors.ts';
import type { ChatCompletionChunk } from '../upstream/chat-upstream.ts';
import { errorFrame, frame } from './sse-frames.ts';
import { StopReason } from './stop-reason.ts';

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

export type StreamOutcome = 'ok' | 'client_aborted' | 'upstream_error' | 'timeout' | 'shutdown';

export type StreamSummary = {
  outcome: StreamOutcome;
  finishReason: string | null;
  usage: Usage | null;
  /** Milliseconds from the request's start to the first content delta. */
  firstTokenMs: number | null;
  error: GatewayError | null;
};

type RelayOptions = {
  chunks: AsyncIterable<ChatCompletionChunk>;
  /** Owns the upstream request: aborting it stops the upstream, with a StopReason as reason. */
  upstream: AbortController;
  /** Aborts when the server shuts down: the stream then ends with an error event. */
  shutdownSignal: AbortSignal;
  idleTimeoutMs: number;
  startedAt: number;
  /** Awaited before the stream closes, so Lambda does not freeze before it has run. */
  onEnd: (summary: StreamSummary) => Promise<void> | void;
};

/**
 * Relays upstream chunks as the gateway's own SSE frames: `data: {"content":...}` per delta, then
 * `event: usage`, then `data: [DONE]`; or `event: error` and the end. Pull-based, so a slow client
 * slows the upstream read instead of filling memory, and cancelling the body aborts the upstream.
 */
export function relayCompletionStream(options: RelayOptions): ReadableStream<Uint8Array> {
  const { chunks, upstream, shutdownSignal, idleTimeoutMs, startedAt, onEnd } = options;
  const iterator = chunks[Symbol.asyncIterator]();
  const watchdog = idleWatchdog(idleTimeoutMs, () => upstream.abort(StopReason.timeout));
  const onShutdown = () => upstream.abort(StopReason.shutdown);
  shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  let finishReason: string | null = null;
  let usage: Usage | null = null;
  let firstTokenMs: number | null = null;
  let ended = false;

  const end = async (
    controller: ReadableStreamDefaultController<Uint8Array> | null,
    outcome: StreamOutcome,
    error: GatewayError | null = null,
    last?: Uint8Array,
  ) => {
    if (ended) return;
    ended = true;
    watchdog.stop();
    shutdownSignal.removeEventListener('abort', onShutdown);
    if (controller && last) controller.enqueue(last);
    await onEnd({ outcome, finishReason, usage, firstTokenMs, error });
    controller?.close();
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await iterator.next();
          if (ended) return;
          watchdog.touch();
          if (next.done) return await finish(controller);
          const chunk = next.value;
          if (chunk.usage) usage = chunk.usage;
          const choice = chunk.choices[0];
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          const content = choice?.delta?.content;
          if (content) {
            firstTokenMs ??= Date.now() - startedAt;
            controller.enqueue(frame(JSON.stringify({ content })));
            return;
          }
        }
      } catch (thrown) {
        const error = upstreamStreamFailed(toGatewayError(thrown));
        await end(controller, 'upstream_error', error, errorFrame(error));
      }
    },
    async cancel() {
      upstream.abort(StopReason.clientGone);
      await end(null, 'client_aborted');
    },
  });

  async function finish(controller: ReadableStreamDefaultController<Uint8Array>) {
    const reason = upstream.signal.aborted ? upstream.signal.reason : undefined;
    if (reason === StopReason.clientGone) return end(controller, 'client_aborted');
    if (reason === StopReason.shutdown) {
      const error = shuttingDown();
      return end(controller, 'shutdown', error, errorFrame(error));
    }
    if (reason !== undefined) {
      const error = timeoutError(idleTimeoutMs);
      return end(controller, 'timeout', error, errorFrame(error));
    }
    controller.enqueue(frame(JSON.stringify({ finish_reason: finishReason, usage }), 'usage'));
    return end(controller, 'ok', null, frame('[DONE]'));
  }
}

/**
 * Fires when nothing arrived for `ms`. One timer re-armed lazily instead of one per chunk:
 * chunks only stamp the time, which keeps timer churn off the hot path.
 */
function idleWatchdog(ms: number, onIdle: () => void) {
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const idle = Date.now() - last;
    if (idle >= ms) {
      timer = undefined;
      onIdle();
    } else {
      timer = setTimeout(check, ms - idle);
    }
  };
  timer = setTimeout(check, ms);
  return {
    touch() {
      last = Date.now();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
