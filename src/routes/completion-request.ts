import { z } from 'zod';
import type { Config } from '../config.ts';
import type { ChatRequest } from '../upstream/chat-upstream.ts';

const ContentPart = z.looseObject({ type: z.string().min(1) });

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  // null is OpenAI's content for an assistant turn that only carries tool calls.
  content: z.union([z.string(), z.array(ContentPart), z.null()]),
  name: z.string().optional(),
});

/**
 * The body of both completion endpoints: what the gateway relies on is checked, any other
 * OpenAI chat parameter passes through to the upstream untouched.
 */
export const CompletionRequest = z.looseObject({
  messages: z.array(Message).min(1, 'messages must hold at least one message'),
  model: z.string().trim().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  n: z.literal(1, 'only n=1 is supported').optional(),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** The request the upstream gets: the endpoint, not the body, decides whether to stream. */
export function toChatRequest(body: CompletionRequest, config: Config): ChatRequest {
  const { stream: _stream, stream_options: _options, ...rest } = body;
  return { ...rest, model: body.model ?? config.DEFAULT_MODEL } as ChatRequest;
}
