import type { ChatRequest, Usage } from '../upstream/chat-upstream.ts';
import { inputTexts } from '../upstream/input-text.ts';
import { textOf } from '../upstream/message-text.ts';
import type { ResponsesRequest } from '../upstream/responses-upstream.ts';

// OpenAI's chat format adds about 3 tokens per message and 3 to prime the reply.
const PER_MESSAGE = 3;
const REPLY_PRIMER = 3;

/**
 * Tokens in `text`, estimated without a tokenizer's tables (megabytes resident on every instance):
 * about 4 characters per token for Latin, Greek and Cyrillic script, 0.7 tokens per character for
 * the rest (CJK, Indic, emoji). Against o200k (docs/observability.md): within about 15% for English
 * prose and code, Chinese, Japanese and Russian; over, never far under, for Indic scripts.
 */
export function estimateTokens(text: string): number {
  let narrow = 0;
  let wide = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x0530) narrow++;
    // A surrogate pair (an emoji, say) counts once, at its high half.
    else if (code < 0xdc00 || code > 0xdfff) wide++;
  }
  return Math.ceil(narrow / 4 + wide * 0.7);
}

/** What the gateway relayed of a completion: its text, and the content deltas it came in. */
export type Relayed = { text: string; deltas: number };

// A token is about 4 characters; deltas that average more than this carry several tokens each.
const MAX_CHARS_PER_TOKEN_DELTA = 8;

/**
 * Usage for a completion the upstream did not report: a stream cut short (the client left, the
 * upstream broke off, a timeout) or a server that sends none. OpenAI streams one token per content
 * delta, so the deltas relayed count the completion exactly; a server that batches tokens into
 * longer deltas (or a JSON answer, which has none) is counted from the text instead.
 */
export function estimateUsage(request: ChatRequest | ResponsesRequest, relayed: Relayed): Usage {
  let prompt = REPLY_PRIMER;
  // A Responses API request's instructions and input items count as messages do.
  const texts = isChat(request)
    ? request.messages.map((message) => textOf(message.content))
    : inputTexts(request);
  for (const text of texts) prompt += PER_MESSAGE + estimateTokens(text);
  const oneTokenEach =
    relayed.deltas > 0 && relayed.text.length <= relayed.deltas * MAX_CHARS_PER_TOKEN_DELTA;
  const completion = oneTokenEach ? relayed.deltas : estimateTokens(relayed.text);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** What LOG_BODIES puts on the line as the prompt: the messages, or the instructions and input. */
export const promptOf = (request: ChatRequest | ResponsesRequest): unknown =>
  isChat(request)
    ? request.messages
    : { ...(request.instructions ? { instructions: request.instructions } : {}), input: request.input };

const isChat = (request: ChatRequest | ResponsesRequest): request is ChatRequest =>
  Array.isArray(request.messages);
