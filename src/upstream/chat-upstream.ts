import type OpenAI from 'openai';

export type ChatCompletion = OpenAI.ChatCompletion;
export type ChatCompletionChunk = OpenAI.ChatCompletionChunk;

/** A chat request as the gateway forwards it: validated fields plus any OpenAI parameter passed through. */
export type ChatRequest = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'stream'> &
  Record<string, unknown>;

/**
 * What the routes call. `stream` resolves once the upstream has answered with a status, so errors
 * before the first byte become HTTP errors; after that, chunks arrive through the iterable, which
 * ends (without throwing) when `signal` aborts.
 */
export interface ChatUpstream {
  readonly mode: 'mock' | 'upstream';
  complete(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  stream(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk>>;
}
