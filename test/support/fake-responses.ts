import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The fake upstream's OpenAI Responses API (`/v1/responses` and its lifecycle routes), written from
 * OpenAI's API reference rather than from the gateway: named SSE events with `type` and
 * `sequence_number` (`response.created` ... `response.completed` with usage, no `[DONE]`), the
 * `error` event, `response.failed`, `response.incomplete` at `max_output_tokens`, stored responses
 * for retrieval, and background responses whose events replay from `starting_after`.
 * fake-upstream.ts dispatches here by path.
 */

/** What this file reads of a fake-upstream Scenario. */
export type ResponsesScenario = {
  content?: string;
  promptTokens?: number;
  status?: number;
  errorMessage?: string;
  headers?: Record<string, string>;
  firstByteDelayMs?: number;
  chunkDelayMs?: number;
  hang?: 'before-headers' | 'mid-stream';
  afterChunks?: number;
  holdUntil?: Promise<unknown>;
  reset?: boolean | 'before-headers';
  malformed?: boolean;
  errorEvent?: boolean;
  /** Responses API only: end the stream with `response.failed` after `afterChunks` text deltas. */
  responseFailed?: boolean;
  omitUsage?: boolean;
  fast?: boolean;
};

type Recorded = {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  chunksSent: number;
};

type Stored = {
  response: ResponseBody;
  input: Record<string, unknown>[];
  background: boolean;
  events: Record<string, unknown>[];
};

type ResponseBody = Record<string, unknown> & { id: string; status: string };

/** One fake upstream's stored responses. */
export type ResponsesState = Map<string, Stored>;

export const responsesState = (): ResponsesState => new Map();

const DEFAULT_REPLY = 'Hello from the fake upstream. It streams one word per chunk.';
const wordsOf = (text: string) => text.match(/\S+\s*/g) ?? [];
let created = 0;

export async function handleResponses(
  req: IncomingMessage,
  res: ServerResponse,
  record: Recorded,
  scenario: ResponsesScenario,
  state: ResponsesState,
): Promise<void> {
  const url = new URL(record.path, 'http://fake');
  const [, , , id, action] = url.pathname.split('/');
  if (scenario.hang === 'before-headers') return;
  if (scenario.reset === 'before-headers') return void req.socket.destroy();
  if (scenario.firstByteDelayMs) await sleep(scenario.firstByteDelayMs);
  if (res.destroyed) return;
  if (scenario.status && scenario.status >= 400) {
    return sendError(
      res,
      scenario.status,
      scenario.errorMessage ?? `Fake upstream error ${scenario.status}`,
      {
        type: scenario.status >= 500 ? 'server_error' : 'invalid_request_error',
        code: scenario.status === 429 ? 'rate_limit_exceeded' : null,
        headers: scenario.headers,
      },
    );
  }
  if (!id) {
    if (record.method !== 'POST') return sendError(res, 405, 'Method not allowed');
    return create(res, record, scenario, state);
  }
  const stored = state.get(id);
  if (!stored) return sendError(res, 404, `Response with id '${id}' not found.`, { param: 'response_id' });
  if (!action && record.method === 'GET') {
    if (url.searchParams.get('stream') !== 'true') return sendJson(res, 200, finished(stored));
    if (!stored.background) {
      return sendError(
        res,
        400,
        'This response cannot be streamed because it was not created with background=true.',
      );
    }
    const after = Number(url.searchParams.get('starting_after') ?? -1);
    return writeEvents(
      res,
      record,
      stored.events.filter((event) => (event.sequence_number as number) > after),
      {},
    );
  }
  if (!action && record.method === 'DELETE') {
    state.delete(id);
    return sendJson(res, 200, { id, object: 'response', deleted: true });
  }
  if (action === 'cancel' && record.method === 'POST') {
    if (!stored.background)
      return sendError(res, 400, 'Only responses created with background=true can be cancelled.');
    stored.response = { ...stored.response, status: 'cancelled' };
    return sendJson(res, 200, stored.response);
  }
  if (action === 'input_items' && record.method === 'GET') {
    return sendJson(res, 200, {
      object: 'list',
      data: stored.input,
      first_id: stored.input[0]?.id ?? null,
      last_id: stored.input.at(-1)?.id ?? null,
      has_more: false,
    });
  }
  return sendError(res, 404, `Unknown path ${record.path}`);
}

/** A background response JSON-created answers `queued`; asked for later, it has finished. */
const finished = (stored: Stored) =>
  stored.response.status === 'queued' ? { ...stored.response, status: 'completed' } : stored.response;

async function create(
  res: ServerResponse,
  record: Recorded,
  scenario: ResponsesScenario,
  state: ResponsesState,
) {
  const body = record.body;
  if (!body || (typeof body.input !== 'string' && !Array.isArray(body.input))) {
    return sendError(res, 400, "Missing required parameter: 'input'.", { param: 'input' });
  }
  const previous = body.previous_response_id;
  if (typeof previous === 'string' && !state.has(previous)) {
    return sendError(res, 400, `Previous response with id '${previous}' not found.`, {
      param: 'previous_response_id',
    });
  }
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const words = wordsOf(scenario.content ?? DEFAULT_REPLY);
  const limit = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : words.length;
  const tokens = words.slice(0, limit);
  const incomplete = tokens.length < words.length;
  const inputTokens = scenario.promptTokens ?? 12;
  // Throughput mode for bench/: each distinct reply rendered once (fixed ids), written in one burst.
  const fastKey = scenario.fast
    ? JSON.stringify([model, tokens, inputTokens, scenario.omitUsage, body.stream])
    : '';
  const cached = fastRendered.get(fastKey);
  if (cached) return writeFast(res, record, cached, body.stream === true, tokens.length);
  const n = scenario.fast ? 0 : ++created;
  const id = `resp_fake_${n}`;
  const itemId = `msg_fake_${n}`;
  const usage = scenario.omitUsage
    ? null
    : {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: tokens.length,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + tokens.length,
      };
  const base = {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model,
    background: body.background === true,
    previous_response_id: previous ?? null,
    error: null,
    incomplete_details: null,
  };
  const message = {
    type: 'message',
    id: itemId,
    status: incomplete ? 'incomplete' : 'completed',
    role: 'assistant',
    content: [{ type: 'output_text', text: tokens.join(''), annotations: [], logprobs: [] }],
  };
  const done: ResponseBody = {
    ...base,
    status: incomplete ? 'incomplete' : 'completed',
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output: [message],
    usage,
  };
  const started = { ...base, status: 'in_progress', output: [], usage: null };
  const part = { item_id: itemId, output_index: 0, content_index: 0 };
  const events: Record<string, unknown>[] = [
    { type: 'response.created', response: started },
    { type: 'response.in_progress', response: started },
    {
      type: 'response.output_item.added',
      output_index: 0,
      item: { ...message, status: 'in_progress', content: [] },
    },
    {
      type: 'response.content_part.added',
      ...part,
      part: { type: 'output_text', text: '', annotations: [] },
    },
    ...tokens.map((delta) => ({ type: 'response.output_text.delta', ...part, delta, logprobs: [] })),
    { type: 'response.output_text.done', ...part, text: tokens.join(''), logprobs: [] },
    { type: 'response.content_part.done', ...part, part: message.content[0] },
    { type: 'response.output_item.done', output_index: 0, item: message },
    { type: incomplete ? 'response.incomplete' : 'response.completed', response: done },
  ].map((event, index) => ({ ...event, sequence_number: index }));
  const input =
    typeof body.input === 'string'
      ? [
          {
            id: `msg_in_${n}`,
            type: 'message',
            role: 'user',
            content: [{ type: 'input_text', text: body.input }],
          },
        ]
      : (body.input as Record<string, unknown>[]).map((item, index) => ({
          id: `msg_in_${n}_${index}`,
          ...item,
        }));
  const background = body.background === true;
  if (scenario.fast) {
    const frames = events.map((event) =>
      Buffer.from(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
    );
    const rendered = { json: Buffer.from(JSON.stringify(done)), frames };
    if (fastRendered.size >= 64) fastRendered.clear();
    fastRendered.set(fastKey, rendered);
    return writeFast(res, record, rendered, body.stream === true, tokens.length);
  }
  if (body.store !== false) state.set(id, { response: done, input, background, events });
  if (body.stream !== true) {
    if (background) return sendJson(res, 200, { ...started, status: 'queued' });
    return sendJson(res, 200, done);
  }
  return writeEvents(res, record, events, scenario);
}

type Rendered = { json: Buffer; frames: Buffer[] };
const fastRendered = new Map<string, Rendered>();

function writeFast(
  res: ServerResponse,
  record: Recorded,
  rendered: Rendered,
  stream: boolean,
  deltas: number,
) {
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': rendered.json.length });
    return void res.end(rendered.json);
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  // One chunked-encoding chunk per event, as a server flushing per token sends, but in one writev.
  res.cork();
  for (const bytes of rendered.frames) res.write(bytes);
  res.uncork();
  record.chunksSent = deltas;
  res.end();
}

async function writeEvents(
  res: ServerResponse,
  record: Recorded,
  events: Record<string, unknown>[],
  scenario: ResponsesScenario,
) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    ...scenario.headers,
  });
  const sse = (event: Record<string, unknown>) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  const deltas = events.filter((event) => event.type === 'response.output_text.delta').length;
  const breakAt = scenario.afterChunks ?? Math.floor(deltas / 2);
  let sent = 0;
  for (const event of events) {
    const isDelta = event.type === 'response.output_text.delta';
    if (isDelta && sent === breakAt) {
      if (scenario.hang === 'mid-stream') return;
      if (scenario.holdUntil) await scenario.holdUntil;
      if (scenario.reset) {
        await sleep(20);
        return void res.socket?.destroy();
      }
      if (scenario.malformed) res.write('event: response.output_text.delta\ndata: {"type":"response.out\n\n');
      const sequence_number = event.sequence_number;
      if (scenario.errorEvent) {
        const error = {
          type: 'server_error',
          code: 'server_error',
          message: 'The server had an error while processing your request.',
          param: null,
        };
        res.write(sse({ type: 'error', error, sequence_number }));
        return void res.end();
      }
      if (scenario.responseFailed) {
        const failed = {
          ...(events[0]?.response as object),
          status: 'failed',
          error: { code: 'server_error', message: 'The model failed to generate a response.' },
        };
        res.write(sse({ type: 'response.failed', response: failed, sequence_number }));
        return void res.end();
      }
    }
    if (isDelta && scenario.chunkDelayMs) await sleep(scenario.chunkDelayMs);
    if (res.destroyed) return;
    res.write(sse(event));
    if (isDelta) {
      sent++;
      record.chunksSent++;
    }
  }
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  {
    type = 'invalid_request_error',
    code = null,
    param = null,
    headers = {},
  }: {
    type?: string;
    code?: string | null;
    param?: string | null;
    headers?: Record<string, string> | undefined;
  } = {},
) {
  const text = JSON.stringify({ error: { message, type, param, code } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
