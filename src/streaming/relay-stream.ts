import { type GatewayError, upstreamUnavailable } from '../errors.ts';
import type { ChatCompletionChunk } from '../upstream/chat-upstream.ts';
import { plainDelta, unescapeJson } from './plain-delta.ts';
import {
  emptySummary,
  type SseRelayOptions,
  type StreamSummary,
  sseRelay,
  type WireReader,
} from './sse-relay.ts';

export type { StreamOutcome, StreamSummary } from './sse-relay.ts';

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

type RelayOptions = Omit<SseRelayOptions, 'reader'> & {
  startedAt: number;
  format: FrameFormat;
};

/**
 * The chat completions relay: upstream `chat.completion.chunk` frames in, the surface's frames out
 * (sse-relay.ts does the pacing, timeouts, keepalives, aborts and the ending).
 */
export function relayStream({ startedAt, format, ...options }: RelayOptions): ReadableStream<Uint8Array> {
  return sseRelay({ ...options, reader: chatReader(format, startedAt) });
}

/** Reads chat completion chunks: usage, the finish reason, the content relayed, errors in-stream. */
export function chatReader(format: FrameFormat, startedAt: number): WireReader {
  const summary = emptySummary();
  // The content relayed, escaped as in the upstream's JSON; unescaped once, at the end.
  let escapedText = '';
  let sawDone = false;

  const relayedContent = (escaped: string) => {
    if (summary.firstTokenMs === null) summary.firstTokenMs = Date.now() - startedAt;
    escapedText += escaped;
    summary.contentDeltas++;
  };

  return {
    summary,
    event(event, data) {
      if (data === '[DONE]') {
        sawDone = true;
        return null;
      }
      const plain = event === 'message' ? plainDelta(data) : undefined;
      if (plain) {
        if (plain.content) relayedContent(plain.content);
        return format.content(plain.content, data);
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
      return format.chunk(chunk, data);
    },
    complete: () => sawDone || summary.finishReason !== null,
    done: (ended) => format.done(ended),
    error: (error) => format.error(error),
    close() {
      summary.completionText = unescapeJson(escapedText);
    },
  };
}
