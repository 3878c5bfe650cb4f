import type { ChatRequest, Usage } from '../upstream/chat-upstream.ts';
import { textOf } from '../upstream/message-text.ts';

type Tokenizer = { countTokens(text: string): number };

// Loaded on first use only: its tables are megabytes, needed just for streams that ended without
// the upstream's usage chunk (a client that left, a broken upstream), never on the normal path.
let tokenizer: Promise<Tokenizer> | undefined;
const load = () => (tokenizer ??= import('gpt-tokenizer/encoding/o200k_base'));

/**
 * Loads the tokenizer now. Loading blocks the event loop for about half a second: a long-lived
 * server does it before it takes traffic, rather than in the middle of other streams.
 */
export const preloadTokenizer = async () => {
  await load();
};

// OpenAI's chat format adds about 3 tokens per message and 3 to prime the reply.
const PER_MESSAGE = 3;
const REPLY_PRIMER = 3;

/** Estimated usage for a stream that ended before the upstream reported its own. */
export async function estimateUsage(request: ChatRequest, completionText: string): Promise<Usage> {
  const { countTokens } = await load();
  let prompt = REPLY_PRIMER;
  for (const message of request.messages) {
    prompt += PER_MESSAGE + countTokens(textOf(message.content));
  }
  const completion = completionText ? countTokens(completionText) : 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
