import { type GatewayError, upstreamUnavailable } from '../errors.ts';
import { type ResponseObject, reasonOf, usageOf } from '../upstream/response-object.ts';
import { stringEnd, unescapeJson } from './plain-delta.ts';
import { frame } from './sse-frames.ts';
import { emptySummary, type StreamSummary, type WireReader } from './sse-relay.ts';

type ResponseEvent = {
  type?: string;
  sequence_number?: number;
  delta?: unknown;
  response?: ResponseObject;
  error?: unknown;
  code?: unknown;
  message?: unknown;
};

export type ResponsesStreamSummary = StreamSummary & {
  /** The response's id, from its first event. */
  responseId: string | null;
  /** The model that answered, as the response names it. */
  model: string | null;
  /** Why a response ended `failed` or `incomplete`, as the upstream said. */
  reason: string | null;
};

// The events that end a response's stream; the Responses API sends no [DONE].
const FINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);
// The named events the reader looks into; any other (output items, content parts, reasoning, tool
// calls, ...) passes on unparsed, only its sequence number read.
const READ = new Set([...FINAL, 'response.created', 'response.output_text.delta', 'error']);

/**
 * Reads an OpenAI Responses API stream (`event: response.created` ... `event: response.completed`,
 * each `data` with its `type` and `sequence_number`): every event passes on as the upstream wrote
 * it, and only the few the gateway needs are looked into: the response's id, the output text
 * deltas (first-token time, and the estimate when a stream is cut short), usage from the final
 * event, and failures (`error`, `response.failed`, `response.incomplete`).
 */
export function responsesReader({
  startedAt,
  onResponseId,
  startingAfter = -1,
}: {
  startedAt: number;
  /** A replay's `starting_after`: the sequence number before its first event. */
  startingAfter?: number;
  /** As soon as the stream names its response (`response.created`): whose it is can be recorded then. */
  onResponseId?: (id: string) => void;
}): WireReader & { readonly summary: ResponsesStreamSummary } {
  const summary: ResponsesStreamSummary = { ...emptySummary(), responseId: null, model: null, reason: null };
  // The output text relayed, escaped as in the upstream's JSON; unescaped once, at the end.
  const text: string[] = [];
  let sequence = startingAfter;
  let final = false;
  // The upstream's own error event, and its text, which goes out in place of one of the gateway's.
  let reported: { error: GatewayError; text: string } | undefined;

  const response = (value: ResponseObject | undefined) => {
    if (!value) return;
    if (typeof value.id === 'string' && !summary.responseId) {
      summary.responseId = value.id;
      onResponseId?.(value.id);
    }
    if (typeof value.model === 'string') summary.model = value.model;
    summary.usage = usageOf(value) ?? summary.usage;
  };

  return {
    summary,
    event(event, data) {
      const out = event === 'message' ? frame(data) : frame(data, event);
      // Most of a stream's events are text deltas: read without parsing (the text stays escaped).
      const delta = event === 'response.output_text.delta' ? plainTextDelta(data) : undefined;
      if (delta) {
        sequence = delta.sequence;
        if (delta.escaped) {
          if (summary.firstTokenMs === null) summary.firstTokenMs = Date.now() - startedAt;
          text.push(delta.escaped);
          summary.contentDeltas++;
        }
        return out;
      }
      if (event !== 'message' && !READ.has(event)) {
        const number = sequenceOf(data);
        if (number !== undefined) {
          sequence = number;
          return out;
        }
      }
      const parsed = JSON.parse(data) as ResponseEvent;
      const type = parsed.type ?? event;
      if (typeof parsed.sequence_number === 'number') sequence = parsed.sequence_number;
      if (type === 'response.output_text.delta') {
        if (typeof parsed.delta === 'string' && parsed.delta) {
          if (summary.firstTokenMs === null) summary.firstTokenMs = Date.now() - startedAt;
          text.push(JSON.stringify(parsed.delta).slice(1, -1));
          summary.contentDeltas++;
        }
        return out;
      }
      if (type === 'error') {
        // Passed on as the upstream sent it (the SDK raises it); the stream ends there, and the
        // gateway adds no error event of its own after it.
        const error = upstreamUnavailable(parsed.error ?? parsed, 'the stream reported an error');
        reported = { error, text: out };
        throw error;
      }
      response(parsed.response);
      if (FINAL.has(type)) {
        final = true;
        const status = parsed.response?.status;
        summary.finishReason = typeof status === 'string' ? status : type.slice('response.'.length);
        summary.reason = reasonOf(parsed.response);
      }
      return out;
    },
    complete: () => final,
    done: () => '',
    error(error) {
      if (error === reported?.error) return reported.text;
      return responsesErrorEvent(error, ++sequence);
    },
    close() {
      summary.completionText = unescapeJson(text.join(''));
    },
  };
}

/**
 * The gateway's own failure mid-stream (a timeout, the upstream breaking off, shutdown), as the
 * Responses API's `error` event: `type`, `code`, `message` and `param` as OpenAI documents the
 * event, the same under `error` as first-party streams nest them (the SDK reads either), and the
 * next `sequence_number`.
 */
export function responsesErrorEvent(error: GatewayError, sequenceNumber: number): string {
  const { error: body } = error.toBody();
  return frame(
    JSON.stringify({
      type: 'error',
      code: body.code,
      message: body.message,
      param: body.param,
      error: body,
      sequence_number: sequenceNumber,
    }),
    'error',
  );
}

/**
 * A `response.output_text.delta` event's text (still escaped, as in the JSON) and sequence number,
 * found in the text without parsing it; undefined when the event is not shaped as expected (then
 * it is parsed). Key names cannot be forged by the text: inside a JSON string every quote is escaped.
 */
function plainTextDelta(data: string): { escaped: string; sequence: number } | undefined {
  const key = data.indexOf('"delta":"');
  if (key === -1 || data.includes('"delta":', key + 9)) return undefined;
  const end = stringEnd(data, key + 9);
  if (end === -1) return undefined;
  const sequence = sequenceOf(data);
  if (sequence === undefined) return undefined;
  return { escaped: data.slice(key + 9, end), sequence };
}

/** An event's `sequence_number`, read from its text; undefined when it has none. */
function sequenceOf(data: string): number | undefined {
  const at = data.lastIndexOf('"sequence_number":');
  if (at === -1) return undefined;
  const sequence = Number.parseInt(data.slice(at + 18, at + 34), 10);
  return Number.isFinite(sequence) ? sequence : undefined;
}
