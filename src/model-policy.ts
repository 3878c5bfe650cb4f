import { modelNotAllowed } from './access-errors.ts';
import type { Config } from './config.ts';
import { invalidRequest } from './errors.ts';
import type { AllowedChatRequest, ChatRequest } from './upstream/chat-upstream.ts';

type PolicyConfig = Pick<
  Config,
  'ALLOWED_MODELS' | 'MAX_MESSAGES' | 'MAX_PROMPT_CHARS' | 'MAX_TOKENS_CAP' | 'MAX_TOKENS_RULE'
>;

/**
 * The model policy, built once from the configuration. The only maker of an AllowedChatRequest:
 * - `model` (DEFAULT_MODEL already filled in): with ALLOWED_MODELS set, any other model is a 400
 *   naming them.
 * - `messages`: at most MAX_MESSAGES, holding at most MAX_PROMPT_CHARS characters of text.
 * - With MAX_TOKENS_CAP set: `max_tokens` / `max_completion_tokens` above it are lowered to it
 *   (MAX_TOKENS_RULE=clamp) or refused (reject); a request that sets neither gets
 *   `max_completion_tokens` = the cap (OpenAI's current name, which every OpenAI chat model takes).
 */
export function modelPolicy(config: PolicyConfig): (request: ChatRequest) => AllowedChatRequest {
  return (request) => {
    const { model } = request;
    const allowed = config.ALLOWED_MODELS;
    if (allowed.length && !allowed.includes(model)) throw modelNotAllowed(model, allowed);
    const messages: unknown[] = request.messages;
    if (messages.length > config.MAX_MESSAGES) {
      throw invalidRequest(
        `messages holds ${messages.length} messages; this gateway accepts at most ${config.MAX_MESSAGES}`,
        'messages',
        'too_many_messages',
      );
    }
    const characters = promptCharacters(messages);
    if (characters > config.MAX_PROMPT_CHARS) {
      throw invalidRequest(
        `messages hold ${characters} characters of text; this gateway accepts at most ${config.MAX_PROMPT_CHARS}`,
        'messages',
        'prompt_too_long',
      );
    }
    return { ...request, ...capMaxTokens(request, config) } as AllowedChatRequest;
  };
}

const TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens'] as const;

function capMaxTokens(request: ChatRequest, config: PolicyConfig): Partial<ChatRequest> {
  const cap = config.MAX_TOKENS_CAP;
  if (!cap) return {};
  const asked = TOKEN_FIELDS.filter((field) => typeof request[field] === 'number');
  if (!asked.length) return { max_completion_tokens: cap };
  const capped: Partial<ChatRequest> = {};
  for (const field of asked) {
    const value = request[field] as number;
    if (value <= cap) continue;
    if (config.MAX_TOKENS_RULE === 'reject') {
      throw invalidRequest(
        `${field} is ${value}; this gateway allows at most ${cap}`,
        field,
        'max_tokens_too_large',
      );
    }
    capped[field] = cap;
  }
  return capped;
}

/** Text the model reads: string contents and the `text` of content parts. */
function promptCharacters(messages: unknown[]): number {
  let total = 0;
  for (const message of messages) {
    const content = (message as { content?: unknown }).content;
    if (typeof content === 'string') total += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text;
        if (typeof text === 'string') total += text.length;
      }
    }
  }
  return total;
}
