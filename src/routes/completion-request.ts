import type { Config } from '../config.ts';
import { modelPolicy } from '../model-policy.ts';
import type { AllowedChatRequest, ChatRequest } from '../upstream/chat-upstream.ts';
import * as z from '../zod-mini.ts';

const ContentPart = z.looseObject({ type: z.string().check(z.minLength(1)) });

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  // null is OpenAI's content for an assistant turn that only carries tool calls.
  content: z.union([z.string(), z.array(ContentPart), z.null()]),
  name: z.optional(z.string()),
});

/**
 * The body of both completion endpoints: what the gateway relies on is checked, any other
 * OpenAI chat parameter passes through to the upstream untouched.
 */
export const CompletionRequest = z.looseObject({
  messages: z.array(Message).check(z.minLength(1, 'messages must hold at least one message')),
  model: z.optional(z.string().check(z.trim(), z.minLength(1))),
  temperature: z.optional(z.number().check(z.minimum(0), z.maximum(2))),
  top_p: z.optional(z.number().check(z.minimum(0), z.maximum(1))),
  max_tokens: z.optional(z.number().check(z.int(), z.positive())),
  max_completion_tokens: z.optional(z.number().check(z.int(), z.positive())),
  n: z.optional(z.literal(1, 'only n=1 is supported')),
  stream: z.optional(z.boolean()),
  stream_options: z.optional(z.nullable(z.looseObject({ include_usage: z.optional(z.boolean()) }))),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/**
 * Turns a validated body into the request the upstream gets: DEFAULT_MODEL filled in, the model
 * policy applied (a 400 when it refuses). The endpoint, not the body, decides whether to stream.
 */
export function chatRequestBuilder(config: Config): (body: CompletionRequest) => AllowedChatRequest {
  const policy = modelPolicy(config);
  return (body) => {
    const { stream: _stream, stream_options: _options, ...rest } = body;
    return policy({ ...rest, model: body.model ?? config.DEFAULT_MODEL } as ChatRequest);
  };
}
