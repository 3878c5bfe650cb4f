import type { FrameFormat } from './relay-stream.ts';
import { frame } from './sse-frames.ts';

/**
 * OpenAI's own stream format for `/v1/chat/completions`: each chunk passes on as the upstream
 * wrote it. The gateway always asks for usage; the usage chunk reaches clients that asked too.
 * A failure mid-stream is a data frame holding an error object, which OpenAI's SDKs raise.
 */
export function openaiFrames({ includeUsage }: { includeUsage: boolean }): FrameFormat {
  return {
    chunk: (chunk, data) => (!includeUsage && chunk.choices.length === 0 && chunk.usage ? null : frame(data)),
    content: (_content, data) => frame(data),
    done: () => frame('[DONE]'),
    error: (error) => frame(JSON.stringify(error.toBody())),
  };
}
