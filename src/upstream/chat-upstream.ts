import type OpenAI from 'openai';
import type { Attempt } from './upstream-pool.ts';

export type ChatCompletion = OpenAI.ChatCompletion;
export type ChatCompletionChunk = OpenAI.ChatCompletionChunk;
export type Model = OpenAI.Model;
export type Usage = Pick<OpenAI.CompletionUsage, 'prompt_tokens' | 'completion_tokens' | 'total_tokens'>;

/** A chat request as the gateway forwards it: validated fields plus any OpenAI parameter passed through. */
export type ChatRequest = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'stream'> &
  Record<string, unknown>;

declare const allowed: unique symbol;

/**
 * A request the model policy let through (src/model-policy.ts makes them, and nothing else does):
 * the upstream takes no other, so no route, present or future, can forward one that skipped it.
 */
export type AllowedChatRequest = ChatRequest & { readonly [allowed]: true };

/**
 * A JSON completion as the upstream answered it: parsed, and its body's text, which `/v1` passes
 * on as it came; with its `x-request-id` when it sent one.
 */
export type UpstreamCompletion = { completion: ChatCompletion; body: string; requestId: string | null };

/**
 * A stream as the upstream answered it, once it committed (its first content arrived,
 * stream-commit.ts): its SSE bytes from the first, and its `x-request-id` when it sent one.
 */
export type UpstreamStream = { body: AsyncIterable<Uint8Array | string>; requestId: string | null };

/** Which upstream answered, under which name for the model (aliases), after which attempts. */
export type Answered<T> = T & { upstream: string; model: string | null };

/** What one call is: the client's abort, the request's id for logs, and where attempts are noted. */
export type CallContext = { signal: AbortSignal; requestId: string; attempts: Attempt[] };

/**
 * What the routes call. `stream` resolves once the stream committed at its first content, so
 * every failure before that (retried first, upstream-pool.ts) becomes an HTTP error; its body
 * yields the upstream's own SSE bytes (`chat.completion.chunk` frames, the usage chunk, `[DONE]`),
 * which the relay reads frame by frame and can pass on untouched. Aborting the signal cancels the
 * upstream request, and any retry.
 */
export interface ChatUpstream {
  readonly mode: 'mock' | 'upstream';
  /** The upstreams' names, for /api/health; never their keys. */
  readonly names: string[];
  complete(request: AllowedChatRequest, call: CallContext): Promise<Answered<UpstreamCompletion>>;
  stream(request: AllowedChatRequest, call: CallContext): Promise<Answered<UpstreamStream>>;
  models(call: CallContext): Promise<Model[]>;
}

/** One upstream's chat surface, as the pool calls it with its model name for the request. */
export interface ChatEndpoint {
  complete(request: ChatRequest, signal: AbortSignal): Promise<UpstreamCompletion>;
  stream(request: ChatRequest, signal: AbortSignal): Promise<UpstreamStream>;
  models(signal: AbortSignal): Promise<Model[]>;
}
