import { GatewayError } from '../errors.ts';
import { estimateTokens } from '../usage/estimate-tokens.ts';
import { sleepUnlessAborted } from './abortable-sleep.ts';
import { inputTexts } from './input-text.ts';
import type { ResponsesRequest, ResponsesUpstream, UpstreamJson } from './responses-upstream.ts';

/** What x-gateway-upstream and the logs call the mock model. */
const MOCK_NAME = 'mock';

// Mock responses kept for retrieval; past this many the oldest go.
const KEPT = 200;

/**
 * The keyless development model for the Responses API: a deterministic reply, streamed word by
 * word as OpenAI's events (`response.created` ... `response.completed` with usage), so a keyless
 * `npm run dev` shows the whole surface. Responses are kept in this process for retrieval.
 */
export function createMockResponses({ tokenDelayMs }: { tokenDelayMs: number }): ResponsesUpstream {
  const kept = new Map<string, { reply: MockReply; input: unknown[] }>();
  const keep = (reply: MockReply, request: ResponsesRequest) => {
    if (kept.size >= KEPT) kept.delete(kept.keys().next().value as string);
    const input = typeof request.input === 'string' ? [userMessage(request.input)] : request.input;
    kept.set(reply.id, { reply, input });
  };
  const find = (id: string) => {
    const entry = kept.get(id);
    if (!entry) throw notFound(id);
    return entry;
  };
  return {
    mode: 'mock',
    async create(request) {
      const reply = mockReply(request);
      keep(reply, request);
      return { ...answer(responseObject(reply, 'completed')), upstream: MOCK_NAME, model: reply.model };
    },
    async stream(request, { signal }) {
      const reply = mockReply(request);
      keep(reply, request);
      return {
        body: streamReply(eventsOf(reply), tokenDelayMs, signal),
        requestId: null,
        upstream: MOCK_NAME,
        model: reply.model,
      };
    },
    async retrieve(id) {
      return answer(responseObject(find(id).reply, 'completed'));
    },
    async replay(id, query, signal) {
      const { reply } = find(id);
      const after = Number(new URLSearchParams(query).get('starting_after') ?? -1);
      const events = eventsOf(reply).filter((event) => event.sequence_number > after);
      return { body: streamReply(events, 0, signal), requestId: null };
    },
    async cancel(id) {
      find(id);
      throw new GatewayError({
        status: 400,
        type: 'invalid_request_error',
        code: null,
        message: 'Only responses created with background=true can be cancelled',
      });
    },
    async delete(id) {
      find(id);
      kept.delete(id);
      return answer({ id, object: 'response', deleted: true });
    },
    async inputItems(id) {
      const { input } = find(id);
      return answer({ object: 'list', data: input, has_more: false, first_id: null, last_id: null });
    },
  };
}

const notFound = (id: string) =>
  new GatewayError({
    status: 404,
    type: 'invalid_request_error',
    code: null,
    param: 'response_id',
    message: `No response found with id '${id}'.`,
  });

const answer = (value: object): UpstreamJson => ({
  body: JSON.stringify(value),
  json: value as Record<string, unknown>,
  requestId: null,
});

const userMessage = (text: string) => ({ type: 'message', role: 'user', content: text });

type MockReply = ReturnType<typeof mockReply>;

function mockReply(request: ResponsesRequest) {
  const texts = inputTexts(request);
  const said = (texts.at(-1) ?? '').replace(/\s+/g, ' ').trim().slice(0, 160);
  const text =
    'This is the gateway\u2019s built-in mock model, answering the Responses API because no ' +
    'OPENAI_API_KEY is set. ' +
    (said ? `You said: \u201c${said}\u201d. ` : '') +
    'Set OPENAI_API_KEY to get real answers.';
  const words = text.match(/\S+\s*/g) ?? [];
  const tokens = words.slice(0, request.max_output_tokens ?? words.length);
  const inputTokens = texts.reduce((sum, part) => sum + 4 + estimateTokens(part), 3);
  return {
    id: `resp_mock_${crypto.randomUUID().replaceAll('-', '')}`,
    itemId: `msg_mock_${crypto.randomUUID().replaceAll('-', '')}`,
    createdAt: Math.floor(Date.now() / 1000),
    model: request.model,
    tokens,
    incomplete: tokens.length < words.length,
    usage: { input_tokens: inputTokens, output_tokens: tokens.length },
  };
}

function responseObject(reply: MockReply, status: 'in_progress' | 'completed') {
  const done = status === 'completed';
  const text = reply.tokens.join('');
  return {
    id: reply.id,
    object: 'response',
    created_at: reply.createdAt,
    status: done && reply.incomplete ? 'incomplete' : status,
    incomplete_details: done && reply.incomplete ? { reason: 'max_output_tokens' } : null,
    error: null,
    model: reply.model,
    output: done
      ? [
          {
            type: 'message',
            id: reply.itemId,
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text, annotations: [] }],
          },
        ]
      : [],
    usage: done
      ? {
          ...reply.usage,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: reply.usage.input_tokens + reply.usage.output_tokens,
        }
      : null,
  };
}

/** The reply as OpenAI streams it: named events, each with its `type` and `sequence_number`. */
function eventsOf(reply: MockReply) {
  const finished = responseObject(reply, 'completed');
  const started = responseObject(reply, 'in_progress');
  const item = { item_id: reply.itemId, output_index: 0, content_index: 0 };
  const events: Record<string, unknown>[] = [
    { type: 'response.created', response: started },
    { type: 'response.in_progress', response: started },
    {
      type: 'response.output_item.added',
      output_index: 0,
      item: { type: 'message', id: reply.itemId, status: 'in_progress', role: 'assistant', content: [] },
    },
    {
      type: 'response.content_part.added',
      ...item,
      part: { type: 'output_text', text: '', annotations: [] },
    },
    ...reply.tokens.map((delta) => ({ type: 'response.output_text.delta', ...item, delta, logprobs: [] })),
    { type: 'response.output_text.done', ...item, text: reply.tokens.join(''), logprobs: [] },
    { type: 'response.output_item.done', output_index: 0, item: finished.output[0] },
    {
      type: finished.status === 'incomplete' ? 'response.incomplete' : 'response.completed',
      response: finished,
    },
  ];
  return events.map((event, index) => ({ ...event, sequence_number: index }));
}

const encoder = new TextEncoder();

function streamReply(
  events: { type?: unknown; sequence_number: number }[],
  tokenDelayMs: number,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const event = events[next++];
      if (event === undefined) return controller.close();
      // Text deltas are paced; the other events are not.
      if (event.type === 'response.output_text.delta' && !(await sleepUnlessAborted(tokenDelayMs, signal)))
        return controller.error(signal.reason);
      controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
    },
  });
}
