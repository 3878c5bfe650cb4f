import type OpenAI from 'openai';
import { sleepUnlessAborted } from './abortable-sleep.ts';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, ChatUpstream } from './chat-upstream.ts';
import { textOf } from './message-text.ts';

/**
 * The keyless development model: a deterministic reply, streamed word by word, in the exact
 * objects the SDK yields, so everything after the upstream client runs as it does for real.
 */
export function createMockUpstream({
  tokenDelayMs,
  defaultModel,
}: {
  tokenDelayMs: number;
  defaultModel: string;
}): ChatUpstream {
  return {
    mode: 'mock',
    names: [MOCK_NAME],
    async complete(request) {
      const reply = mockReply(request);
      const completion: ChatCompletion = {
        id: reply.id,
        object: 'chat.completion',
        created: reply.created,
        model: reply.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply.tokens.join(''), refusal: null },
            finish_reason: reply.finishReason,
            logprobs: null,
          },
        ],
        usage: reply.usage,
      };
      return {
        completion,
        body: JSON.stringify(completion),
        requestId: null,
        upstream: MOCK_NAME,
        model: reply.model,
      };
    },
    async stream(request, { signal }) {
      const reply = mockReply(request);
      return {
        body: streamReply(reply, tokenDelayMs, signal),
        requestId: null,
        upstream: MOCK_NAME,
        model: reply.model,
      };
    },
    async models() {
      return [{ id: defaultModel, object: 'model', created: 0, owned_by: 'gateway-mock' }];
    },
  };
}

/** What x-gateway-upstream and the logs call the mock model. */
const MOCK_NAME = 'mock';

type MockReply = ReturnType<typeof mockReply>;

function mockReply(request: ChatRequest) {
  const model = request.model || 'mock';
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
  const said = textOf(lastUser?.content).replace(/\s+/g, ' ').trim().slice(0, 160);
  const text =
    'This is the gateway\u2019s built-in mock model, answering because no OPENAI_API_KEY is set. ' +
    (said ? `You said: \u201c${said}\u201d. ` : '') +
    'Streaming, usage, errors and logs all work as they will with a real model. ' +
    'Set OPENAI_API_KEY to get real answers.';
  const words = text.match(/\S+\s*/g) ?? [];
  const limit = request.max_completion_tokens ?? request.max_tokens ?? words.length;
  const tokens = words.slice(0, limit);
  const promptTokens = request.messages.reduce(
    (sum, message) => sum + 4 + Math.ceil(textOf(message.content).length / 4),
    3,
  );
  return {
    id: `chatcmpl-mock-${crypto.randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model,
    tokens,
    finishReason: tokens.length < words.length ? ('length' as const) : ('stop' as const),
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: tokens.length,
      total_tokens: promptTokens + tokens.length,
    },
  };
}

const encoder = new TextEncoder();

/** The reply as OpenAI streams it: SSE frames of chunks, the usage chunk, then `[DONE]`. */
function streamReply(
  reply: MockReply,
  tokenDelayMs: number,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const chunk = (
    delta: OpenAI.ChatCompletionChunk.Choice.Delta,
    finishReason: OpenAI.ChatCompletionChunk.Choice['finish_reason'] = null,
  ): ChatCompletionChunk => ({
    id: reply.id,
    object: 'chat.completion.chunk',
    created: reply.created,
    model: reply.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    usage: null,
  });
  const frames = [
    chunk({ role: 'assistant', content: '' }),
    ...reply.tokens.map((token) => chunk({ content: token })),
    chunk({}, reply.finishReason),
    { ...chunk({}), choices: [], usage: reply.usage },
  ].map((value) => `data: ${JSON.stringify(value)}\n\n`);
  frames.push('data: [DONE]\n\n');
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Words are paced; the opening and closing frames are not.
      const paced = next > 0 && next <= reply.tokens.length;
      if (paced && !(await sleepUnlessAborted(tokenDelayMs, signal))) return controller.error(signal.reason);
      const frame = frames[next++];
      if (frame === undefined) return controller.close();
      controller.enqueue(encoder.encode(frame));
    },
  });
}
