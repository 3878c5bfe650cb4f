import { createParser } from 'eventsource-parser';
import {
  GatewayError,
  shuttingDown,
  timeoutError,
  toGatewayError,
  upstreamStreamFailed,
  upstreamUnavailable,
} from '../errors.ts';
import type { ChatCompletionChunk, Usage } from '../upstream/chat-upstream.ts';
import { idleWatchdog } from './idle-watchdog.ts';
import { plainDelta, unescapeJson } from './plain-delta.ts';
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

/** How a surface writes what the relay reads: one text per upstream chunk (or none), an ending, an error. */
export interface FrameFormat {
  /** `data` is the chunk's JSON exactly as the upstream sent it, for surfaces that pass it on. */
  chunk(chunk: ChatCompletionChunk, data: string): string | null;
  /**
   * A plain content delta, recognised without parsing it (plain-delta.ts): its content still
   * escaped as in the JSON (a valid JSON string's inside), or null when it has none.
   */
  content(escaped: string | null, data: string): string | null;
  done(summary: StreamSummary): string;
  error(error: GatewayError): string;
}

type RelayOptions = {
  /** The upstream's SSE bytes. */
  body: AsyncIterable<Uint8Array | string>;
  /** Owns the upstream request: aborting it stops the upstream, with a StopReason as reason. */
  upstream: AbortController;
  /** Aborts when the server shuts down: the stream then ends with an error event. */
  shutdownSignal: AbortSignal;
  idleTimeoutMs: number;
  /** After this long with nothing written, an SSE comment keeps proxies from closing the stream; 0: never. */
  keepaliveMs: number;
  startedAt: number;
  format: FrameFormat;
  /** Written before the first upstream frame (EventSource's `retry:` and `id:` lines). */
  prelude?: string | undefined;
  /** Awaited before the stream closes, so Lambda does not freeze before it has run. */
  onEnd: (summary: StreamSummary) => Promise<void> | void;
};

const encoder = new TextEncoder();
const KEEPALIVE = encoder.encode(': keepalive\n\n');

/**
 * Reads the upstream's frames and writes the surface's frames. Pull-based: a slow client slows the
 * upstream read instead of filling memory, and cancelling the body aborts the upstream. Every path
 * ends the stream: with the format's ending, or with an error frame (never a silent truncation).
 */
export function relayStream(options: RelayOptions): ReadableStream<Uint8Array> {
  const { body, upstream, shutdownSignal, idleTimeoutMs, keepaliveMs, startedAt, format, prelude, onEnd } =
    options;
  const chunks = body[Symbol.asyncIterator]();
  // Only for a body of bytes: a transport may hand over text it has decoded already.
  let decoder: TextDecoder | undefined;
  const watchdog = idleWatchdog(idleTimeoutMs, () => upstream.abort(StopReason.timeout));
  let keepalive: ReturnType<typeof idleWatchdog> | undefined;
  const onShutdown = () => upstream.abort(StopReason.shutdown);
  shutdownSignal.addEventListener('abort', onShutdown, { once: true });

  const summary: StreamSummary = {
    outcome: 'ok',
    finishReason: null,
    usage: null,
    firstTokenMs: null,
    completionText: '',
    contentDeltas: 0,
    error: null,
  };
  let out = '';
  // The content relayed, escaped as in the upstream's JSON; unescaped once, at the end.
  let escapedText = '';
  let sawDone = false;
  let ended = false;

  const parser = createParser({
    onEvent({ event, data }) {
      if (data === '[DONE]') {
        sawDone = true;
        return;
      }
      const plain = event === 'message' ? plainDelta(data) : undefined;
      if (plain) {
        if (plain.content) relayedContent(plain.content);
        const text = format.content(plain.content, data);
        if (text) out += text;
        return;
      }
      const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
      // OpenAI reports a failure mid-stream as a frame holding an error object.
      if (event === 'error' || chunk.error)
        throw upstreamUnavailable(chunk.error, 'the stream reported an error');
      // Some compatible servers send their usage chunk with no `choices` at all: every format
      // below reads the chunk as OpenAI shapes it.
      chunk.choices ??= [];
      if (chunk.usage) summary.usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.finish_reason) summary.finishReason = choice.finish_reason;
      const content = choice?.delta?.content;
      if (content) relayedContent(JSON.stringify(content).slice(1, -1));
      const text = format.chunk(chunk, data);
      if (text) out += text;
    },
  });

  const relayedContent = (escaped: string) => {
    if (summary.firstTokenMs === null) summary.firstTokenMs = Date.now() - startedAt;
    escapedText += escaped;
    summary.contentDeltas++;
  };

  const end = async (
    controller: ReadableStreamDefaultController<Uint8Array> | null,
    outcome: StreamSummary['outcome'],
    error: GatewayError | null = null,
  ) => {
    if (ended) return;
    ended = true;
    watchdog.stop();
    keepalive?.stop();
    shutdownSignal.removeEventListener('abort', onShutdown);
    summary.outcome = outcome;
    summary.error = error;
    summary.completionText = unescapeJson(escapedText);
    if (outcome !== 'ok') {
      if (!upstream.signal.aborted) upstream.abort(StopReason.failed);
      // Nothing reads the rest: let the body go (a socket, a stream) rather than wait for it.
      chunks.return?.()?.catch(() => {});
    }
    if (controller) {
      // Frames parsed before a failure in the same read still go out, ahead of the error.
      const last = out + (error ? format.error(error) : outcome === 'ok' ? format.done(summary) : '');
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
    if (!sawDone && !summary.finishReason) {
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
