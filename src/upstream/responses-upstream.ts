import { upstreamUnavailable } from '../errors.ts';
import type { Answered, CallContext, UpstreamStream } from './chat-upstream.ts';
import type { OpenAIClient } from './openai-client.ts';
import { heldUntilCommit } from './stream-commit.ts';
import type { UpstreamAnswer } from './transport.ts';

/** A Responses API request as the gateway forwards it: validated fields plus anything else passed through. */
export type ResponsesRequest = {
  model: string;
  input: string | Record<string, unknown>[];
  instructions?: string | null;
  max_output_tokens?: number;
  previous_response_id?: string | null;
  background?: boolean;
} & Record<string, unknown>;

declare const allowed: unique symbol;

/** A request the Responses policy let through (src/routes/responses-request.ts makes them, nothing else). */
export type AllowedResponsesRequest = ResponsesRequest & { readonly [allowed]: true };

/** A JSON answer as the upstream sent it: its text (passed on as it came), parsed, and its `x-request-id`. */
export type UpstreamJson = { body: string; json: Record<string, unknown>; requestId: string | null };

/**
 * The Responses API as the routes call it (`/v1/responses` and its lifecycle routes), over the
 * upstreams that serve it (pooled-responses-upstream.ts). A stream resolves once it committed at
 * its first content, so every failure before that (retried first) becomes an HTTP error; its body
 * is the upstream's own SSE bytes. Aborting the signal cancels the upstream request.
 * `query` is the client's query string (`?include[]=...&stream=true&starting_after=N`), passed on.
 */
export interface ResponsesUpstream {
  readonly mode: 'mock' | 'upstream';
  create(request: AllowedResponsesRequest, call: CallContext): Promise<Answered<UpstreamJson>>;
  stream(request: AllowedResponsesRequest, call: CallContext): Promise<Answered<UpstreamStream>>;
  retrieve(id: string, query: string, signal: AbortSignal): Promise<UpstreamJson>;
  /** `GET /responses/{id}?stream=true`: a background response's events, replayed (from `starting_after`). */
  replay(id: string, query: string, signal: AbortSignal): Promise<UpstreamStream>;
  cancel(id: string, signal: AbortSignal): Promise<UpstreamJson>;
  delete(id: string, signal: AbortSignal): Promise<UpstreamJson>;
  inputItems(id: string, query: string, signal: AbortSignal): Promise<UpstreamJson>;
}

/** The Responses API on one upstream, as the pool calls it. */
export type ResponsesEndpoint = Omit<ResponsesUpstream, 'mode' | 'create' | 'stream'> & {
  create(request: ResponsesRequest, signal: AbortSignal): Promise<UpstreamJson>;
  stream(request: ResponsesRequest, signal: AbortSignal): Promise<UpstreamStream>;
};

// A response's events that end it: with these it has committed, content or not.
const ENDINGS = new Set(['response.completed', 'response.failed', 'response.incomplete']);

/**
 * A Responses stream commits at its first delta (text, a function call's arguments, reasoning,
 * ...) or its ending; `response.created` and `response.in_progress` are held, so a failure before
 * any output can still go elsewhere. An `error` event before that throws (stream-commit.ts).
 */
export const responsesCommit = (_data: string, event: string) =>
  event.endsWith('.delta') || ENDINGS.has(event);

async function json(answer: UpstreamAnswer): Promise<UpstreamJson> {
  const body = await answer.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw upstreamUnavailable(error, 'the answer was not JSON');
  }
  if (!parsed || typeof parsed !== 'object')
    throw upstreamUnavailable(undefined, 'the answer was not an object');
  return { body, json: parsed as Record<string, unknown>, requestId: answer.header('x-request-id') };
}

const stream = (answer: UpstreamAnswer): UpstreamStream => ({
  body: answer.body(),
  requestId: answer.header('x-request-id'),
});

/**
 * The Responses API over one upstream's wire client (openai-client.ts), as openAIChatEndpoint is
 * chat completions over it. Ids reach here checked (src/routes/responses.ts): safe in a path.
 */
export function responsesEndpoint(client: OpenAIClient): ResponsesEndpoint {
  const path = (id: string, rest = '') => `/responses/${encodeURIComponent(id)}${rest}`;
  return {
    create: (request, signal) =>
      client.exchange('/responses', JSON.stringify({ ...request, stream: false }), signal, json),
    stream: (request, signal) =>
      client.exchange(
        '/responses',
        JSON.stringify({ ...request, stream: true }),
        signal,
        // Under the answer's time bound: the first output must come within REQUEST_TIMEOUT.
        async (answer) => ({
          body: await heldUntilCommit(answer.body(), responsesCommit),
          requestId: answer.header('x-request-id'),
        }),
        { linger: true },
      ),
    retrieve: (id, query, signal) => client.exchange(path(id, query), undefined, signal, json),
    replay: (id, query, signal) =>
      client.exchange(path(id, query), undefined, signal, stream, { linger: true }),
    cancel: (id, signal) => client.exchange(path(id, '/cancel'), undefined, signal, json, { method: 'POST' }),
    delete: (id, signal) => client.exchange(path(id), undefined, signal, json, { method: 'DELETE' }),
    inputItems: (id, query, signal) =>
      client.exchange(path(id, `/input_items${query}`), undefined, signal, json),
  };
}
