import { upstreamUnavailable } from '../errors.ts';
import type { UpstreamStream } from './chat-upstream.ts';
import type { OpenAIClient } from './openai-client.ts';
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
 * The Responses API on one upstream (`/v1/responses` and its lifecycle routes). A stream resolves
 * once the upstream answered with a status, so errors before the first byte become HTTP errors;
 * its body is the upstream's own SSE bytes. Aborting `signal` cancels the upstream request.
 * `query` is the client's query string (`?include[]=...&stream=true&starting_after=N`), passed on.
 */
export interface ResponsesUpstream {
  readonly mode: 'mock' | 'upstream';
  create(request: AllowedResponsesRequest, signal: AbortSignal): Promise<UpstreamJson>;
  stream(request: AllowedResponsesRequest, signal: AbortSignal): Promise<UpstreamStream>;
  retrieve(id: string, query: string, signal: AbortSignal): Promise<UpstreamJson>;
  /** `GET /responses/{id}?stream=true`: a background response's events, replayed (from `starting_after`). */
  replay(id: string, query: string, signal: AbortSignal): Promise<UpstreamStream>;
  cancel(id: string, signal: AbortSignal): Promise<UpstreamJson>;
  delete(id: string, signal: AbortSignal): Promise<UpstreamJson>;
  inputItems(id: string, query: string, signal: AbortSignal): Promise<UpstreamJson>;
}

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
 * The Responses API over one upstream's wire client (openai-client.ts), as createOpenAIUpstream is
 * chat completions over it. Ids reach here checked (src/routes/responses.ts): safe in a path.
 */
export function createResponsesUpstream(client: OpenAIClient): ResponsesUpstream {
  const path = (id: string, rest = '') => `/responses/${encodeURIComponent(id)}${rest}`;
  return {
    mode: 'upstream',
    create: (request, signal) =>
      client.exchange('/responses', JSON.stringify({ ...request, stream: false }), signal, json),
    stream: (request, signal) =>
      client.exchange('/responses', JSON.stringify({ ...request, stream: true }), signal, stream, {
        linger: true,
      }),
    retrieve: (id, query, signal) => client.exchange(path(id, query), undefined, signal, json),
    replay: (id, query, signal) =>
      client.exchange(path(id, query), undefined, signal, stream, { linger: true }),
    cancel: (id, signal) => client.exchange(path(id, '/cancel'), undefined, signal, json, { method: 'POST' }),
    delete: (id, signal) => client.exchange(path(id), undefined, signal, json, { method: 'DELETE' }),
    inputItems: (id, query, signal) =>
      client.exchange(path(id, `/input_items${query}`), undefined, signal, json),
  };
}
