import type OpenAI from 'openai';

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

/** A stream as the upstream answered it: its SSE bytes, and its `x-request-id` when it sent one. */
export type UpstreamStream = { body: AsyncIterable<Uint8Array | string>; requestId: string | null };

/**
 * What the routes call. `stream` resolves once the upstream has answered with a status, so errors
 * before the first byte become HTTP errors; its body yields the upstream's own SSE bytes
 * (`chat.completion.chunk` frames, the usage chunk, `[DONE]`), which the relay reads frame by frame
 * and can pass on untouched. Aborting `signal` cancels the upstream request.
 */
export interface ChatUpstream {
  readonly mode: 'mock' | 'upstream';
  complete(request: AllowedChatRequest, signal: AbortSignal): Promise<UpstreamCompletion>;
  stream(request: AllowedChatRequest, signal: AbortSignal): Promise<UpstreamStream>;
  models(signal: AbortSignal): Promise<Model[]>;
}
