import { createParser } from 'eventsource-parser';
import {
  GatewayError,
  shuttingDown,
  timeoutError,
  toGatewayError,
  upstreamStreamFailed,
  upstreamUnavailable,
} from '../errors.ts';
import type { Usage } from '../upstream/chat-upstream.ts';
import { idleWatchdog } from './idle-watchdog.ts';
import { StopReason } from './stop-reason.ts';

export type StreamOutcome = 'ok' | 'client_aborted' | 'upstream_error' | 'timeout' | 'shutdown';

export type StreamSummary = {
  outcome: StreamOutcome;
  finishReason: string | null;
  /** As the upstream reported it; null when it never sent a usage chunk. */
  usage: Usage | null;
  /** Milliseconds from the request's start to the first content delta. */
  firstTokenMs: number | null;
  /** The content relayed, and the deltas it came in, for estimating usage when the upstream reported none. */
  completionText: string;
  contentDeltas: number;
  error: GatewayError | null;
};

/**
 * What one wire format's stream needs of the relay: reading each upstream event (and saying what
 * goes out for it), whether the stream ended complete, and what is written at the end. The relay
 * owns everything else: pacing, the idle watchdog, keepalives, aborts, shutdown, and `onEnd`.
 */
export interface WireReader {
  /**
   * One upstream SSE event (`event` is `message` when it had no `event:` line): the text that goes
   * out for it, or null. Throwing ends the stream with an error (a GatewayError keeps its own).
   */
  event(event: string, data: string): string | null;
  /** The body ended: did it end as a complete stream ([DONE], a finish reason, a final event)? */
  complete(): boolean;
  /** Written after a complete stream. */
  done(summary: StreamSummary): string;
  error(error: GatewayError): string;
  /** Filled in by the reader as it reads; the relay adds outcome and error. */
  readonly summary: StreamSummary;
  /** Called once, as the stream ends, before the summary is handed to `onEnd`. */
  close?(): void;
}

export type SseRelayOptions = {
  /** The upstream's SSE bytes. */
  body: AsyncIterable<Uint8Array | string>;
  /** Owns the upstream request: aborting it stops the upstream, with a StopReason as reason. */
  upstream: AbortController;
  /** Aborts when the server shuts down: the stream then ends with an error event. */
  shutdownSignal: AbortSignal;
  idleTimeoutMs: number;
  /** After this long with nothing written, an SSE comment keeps proxies from closing the stream; 0: never. */
  keepaliveMs: number;
  /** Written before the first upstream frame (EventSource's `retry:` and `id:` lines). */
  prelude?: string | undefined;
  reader: WireReader;
  /** Awaited before the stream closes, so Lambda does not freeze before it has run. */
  onEnd: (summary: StreamSummary) => Promise<void> | void;
};

export const emptySummary = (): StreamSummary => ({
  outcome: 'ok',
  finishReason: null,
  usage: null,
  firstTokenMs: null,
  completionText: '',
  contentDeltas: 0,
  error: null,
});

const encoder = new TextEncoder();
const KEEPALIVE = encoder.encode(': keepalive\n\n');

/**
 * Reads the upstream's SSE events and writes what the wire reader makes of them. Pull-based: a
 * slow client slows the upstream read instead of filling memory, and cancelling the body aborts the
 * upstream. Every path ends the stream: with the reader's ending, or with an error event (never a
 * silent truncation).
 */
export function sseRelay(options: SseRelayOptions): ReadableStream<Uint8Array> {
  const { body, upstream, shutdownSignal, idleTimeoutMs, keepaliveMs, prelude, reader, onEnd } = options;
  const chunks = body[Symbol.asyncIterator]();
  // Only for a body of bytes: a transport may hand over text it has decoded already.
  let decoder: TextDecoder | undefined;
  const watchdog = idleWatchdog(idleTimeoutMs, () => upstream.abort(StopReason.timeout));
  let keepalive: ReturnType<typeof idleWatchdog> | undefined;
  const onShutdown = () => upstream.abort(StopReason.shutdown);
  shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  const { summary } = reader;
  let out = '';
  let ended = false;

  const parser = createParser({
    onEvent({ event, data }) {
      const text = reader.event(event ?? 'message', data);
      if (text) out += text;
    },
  });

  const end = async (
    controller: ReadableStreamDefaultController<Uint8Array> | null,
    outcome: StreamOutcome,
    error: GatewayError | null = null,
  ) => {
    if (ended) return;
    ended = true;
    watchdog.stop();
    keepalive?.stop();
    shutdownSignal.removeEventListener('abort', onShutdown);
    summary.outcome = outcome;
    summary.error = error;
    reader.close?.();
    if (outcome !== 'ok') {
      if (!upstream.signal.aborted) upstream.abort(StopReason.failed);
      // Nothing reads the rest: let the body go (a socket, a stream) rather than wait for it.
      chunks.return?.()?.catch(() => {});
    }
    if (controller) {
      // Frames parsed before a failure in the same read still go out, ahead of the error.
      const last = out + (error ? reader.error(error) : outcome === 'ok' ? reader.done(summary) : '');
      out = '';
      if (last) controller.enqueue(encoder.encode(last));
    }
    try {
      await onEnd(summary);
    } finally {
      // The client has every frame by now: a failure in the accounting must not hold the stream open.
      controller?.close();
    }
  };

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const reason = upstream.signal.aborted ? upstream.signal.reason : undefined;
    if (reason === StopReason.clientGone) return end(controller, 'client_aborted');
    if (reason === StopReason.shutdown) {
      // The adapter may say why (a Lambda deadline); a plain abort is the server shutting down.
      const why = shutdownSignal.reason instanceof GatewayError ? shutdownSignal.reason : shuttingDown();
      return end(controller, 'shutdown', why);
    }
    if (reason === StopReason.timeout) return end(controller, 'timeout', timeoutError(idleTimeoutMs));
    if (!reader.complete()) {
      return end(controller, 'upstream_error', upstreamUnavailable(undefined, 'the stream ended early'));
    }
    return end(controller, 'ok');
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (prelude) controller.enqueue(encoder.encode(prelude));
      // Load balancers and proxies close connections that stay silent (60 s is common) while a
      // model thinks; every SSE client skips comment lines.
      if (keepaliveMs > 0)
        keepalive = idleWatchdog(keepaliveMs, () => controller.enqueue(KEEPALIVE), { repeat: true });
    },
    async pull(controller) {
      try {
        for (;;) {
          const { done, value } = await chunks.next();
          if (ended) return;
          watchdog.touch();
          if (done) return await finish(controller);
          if (typeof value === 'string') parser.feed(value);
          else {
            decoder ??= new TextDecoder();
            parser.feed(decoder.decode(value, { stream: true }));
          }
          if (out) {
            controller.enqueue(encoder.encode(out));
            keepalive?.touch();
            out = '';
            return;
          }
        }
      } catch (thrown) {
        // Our own abort surfaces as a read error; its reason says why.
        if (upstream.signal.aborted && !ended) return await finish(controller);
        await end(controller, 'upstream_error', upstreamStreamFailed(toGatewayError(thrown)));
      }
    },
    async cancel() {
      upstream.abort(StopReason.clientGone);
      await end(null, 'client_aborted');
    },
  });
}
