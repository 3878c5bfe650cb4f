import type OpenAI from 'openai';

export type ChatCompletion = OpenAI.ChatCompletion;
export type ChatCompletionChunk = OpenAI.ChatCompletionChunk;
export type Model = OpenAI.Model;

/** A chat request as the gateway forwards it: validated fields plus any OpenAI parameter passed through. */
export type ChatRequest = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'stream'> &
  Record<string, unknown>;

/**
 * What the routes call. `stream` resolves once the upstream has answered with a status, so errors
 * before the first byte become HTTP errors; it then yields the upstream's own SSE bytes
 * (`chat.completion.chunk` frames, the usage chunk, `[DONE]`), which the relay reads frame by frame
 * and can pass on untouched. Aborting `signal` cancels the upstream request.
 */
export interface ChatUpstream {
  readonly mode: 'mock' | 'upstream';
  complete(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  stream(request: ChatRequest, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  models(signal: AbortSignal): Promise<Model[]>;
}
