import type { FrameFormat } from './relay-stream.ts';
import { frame } from './sse-frames.ts';

/**
 * The `/api/completions/stream` format from the original brief: `data: {"content":...}` per delta
 * (one line, nothing else in the frame, so the simplest split-on-blank-line client works), then
 * `event: usage`, then `data: [DONE]`; errors as `event: error` in the OpenAI error shape.
 */
export const gatewayFrames: FrameFormat = {
  chunk(chunk) {
    const content = chunk.choices[0]?.delta?.content;
    return content ? frame(JSON.stringify({ content })) : null;
  },
  // Already escaped as JSON: written into the frame as it came, neither parsed nor stringified.
  content: (escaped) => (escaped ? frame(`{"content":"${escaped}"}`) : null),
  done: ({ finishReason, usage }) =>
    frame(JSON.stringify({ finish_reason: finishReason, usage }), 'usage') + frame('[DONE]'),
  error: (error) => frame(JSON.stringify(error.toBody()), 'error'),
};
