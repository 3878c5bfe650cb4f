import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleResponses, type ResponsesState, responsesState } from './fake-responses.ts';

/**
 * A fake OpenAI-compatible upstream: a real HTTP server on 127.0.0.1 speaking OpenAI's wire
 * format (chat completion JSON, `chat.completion.chunk` SSE, the usage chunk, `[DONE]`, error
 * bodies), scriptable per request. Used by the tests, by `bench/`, and by hand:
 *   node test/support/fake-upstream.ts --port 4010 [--delay-ms 30] [--fast]
 */

export type Scenario = {
  /** Reply text; split into one chunk per word. */
  content?: string;
  /** Usage the upstream reports; completion tokens default to the number of chunks. */
  promptTokens?: number;
  /** Answer with this status and an OpenAI error body instead of a completion. */
  status?: number;
  errorMessage?: string;
  headers?: Record<string, string>;
  /** Wait before sending the response headers. */
  firstByteDelayMs?: number;
  /** Wait between stream chunks. */
  chunkDelayMs?: number;
  /** Never answer (`before-headers`), or stop after `afterChunks` content chunks without ending. */
  hang?: 'before-headers' | 'mid-stream';
  /**
   * With `hang: 'mid-stream'`, `reset`, `malformed`, `errorEvent` or `holdUntil`: content chunks
   * sent first.
   */
  afterChunks?: number;
  /**
   * After `afterChunks` content chunks, wait for this promise before sending the rest: a test
   * then knows, without timing, that what it received so far was sent while the stream was open.
   */
  holdUntil?: Promise<unknown>;
  /** Destroy the socket mid-stream (a connection reset), or before any response byte. */
  reset?: boolean | 'before-headers';
  /** Send a chunk that is not JSON mid-stream. */
  malformed?: boolean;
  /** Send an OpenAI-style `{"error":...}` data frame mid-stream, as OpenAI does on server errors. */
  errorEvent?: boolean;
  /** Responses API only (fake-responses.ts): end the stream with `response.failed` after `afterChunks` deltas. */
  responseFailed?: boolean;
  /**
   * Send no usage, as some compatible servers never do: streams ignore
   * `stream_options.include_usage`, JSON completions leave `usage` out.
   */
  omitUsage?: boolean;
  /**
   * Throughput mode for `bench/`: each distinct reply is rendered once and cached, and a stream is
   * written in one corked burst, so the fake spends as little of the shared CPU as it can.
   * Ids and `created` are then fixed per rendering; `chunkDelayMs` and the mid-stream failure
   * options are ignored (`status`, `hang: 'before-headers'` and `firstByteDelayMs` still apply).
   */
  fast?: boolean;
};

// Process-wide, so ids stay unique across fake upstreams in one test file.
let requestCount = 0;

export type RecordedRequest = {
  /** Sent back as `x-request-id`, as OpenAI does on every response. */
  requestId: string;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
  startedAt: number;
  /** The client's port: the same one on consecutive requests means a kept-alive connection. */
  remotePort: number | undefined;
  /** The client closed the connection before the response was complete. */
  aborted: boolean;
  abortedAt?: number;
  /** Content chunks written before the response ended or the client left. */
  chunksSent: number;
  done: Promise<void>;
};

export type FakeUpstream = {
  /** Base URL for the SDK (`.../v1`). */
  baseURL: string;
  port: number;
  requests: RecordedRequest[];
  /** Scripts the next request(s); requests without a script get the default. */
  enqueue(...scenarios: Scenario[]): void;
  setDefault(scenario: Scenario): void;
  close(): Promise<void>;
};

export const DEFAULT_REPLY = 'Hello from the fake upstream. It streams one word per chunk.';
/** How the fake splits a reply: one chunk per word, with the space that follows it. */
export const wordsOf = (text: string) => text.match(/\S+\s*/g) ?? [];
/** The chunks of DEFAULT_REPLY, and the usage the fake reports for it (12 prompt tokens by default). */
export const DEFAULT_WORDS = wordsOf(DEFAULT_REPLY);
/**
 * 600 words: at 50 ms a chunk, a 30 s reply, longer than any wait in a test, so an upstream cannot
 * finish before a client's abort lands however slow the machine. It keeps writing rather than
 * holding still: workerd notices a client that left only when it next writes to it.
 */
export const LONG_REPLY_WORDS = 600;
export const LONG_REPLY = Array.from({ length: LONG_REPLY_WORDS }, (_, index) => `word${index}`).join(' ');
export const DEFAULT_USAGE = {
  prompt_tokens: 12,
  completion_tokens: DEFAULT_WORDS.length,
  total_tokens: 12 + DEFAULT_WORDS.length,
};

export async function startFakeUpstream(
  defaults: Scenario = {},
  { port: listenPort = 0 } = {},
): Promise<FakeUpstream> {
  let fallback = defaults;
  const queue: Scenario[] = [];
  const requests: RecordedRequest[] = [];
  const responses = responsesState();
  const server = createServer((req, res) => {
    const scenario = queue.shift() ?? fallback;
    void handle(req, res, scenario, requests, responses);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    enqueue: (...scenarios) => queue.push(...scenarios),
    setDefault: (scenario) => {
      fallback = scenario;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  scenario: Scenario,
  requests: RecordedRequest[],
  responses: ResponsesState,
): Promise<void> {
  const raw = await readBody(req);
  let resolveDone!: () => void;
  const record: RecordedRequest = {
    requestId: `req_fake_${++requestCount}`,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers: req.headers,
    body: parseJson(raw),
    startedAt: Date.now(),
    remotePort: req.socket.remotePort,
    aborted: false,
    chunksSent: 0,
    done: new Promise<void>((resolve) => {
      resolveDone = resolve;
    }),
  };
  requests.push(record);
  res.setHeader('x-request-id', record.requestId);
  res.on('close', () => {
    if (!res.writableFinished) {
      record.aborted = true;
      record.abortedAt = Date.now();
    }
    resolveDone();
  });

  if (record.path.startsWith('/v1/models')) {
    return sendJson(res, 200, {
      object: 'list',
      data: [{ id: 'gpt-4o-mini', object: 'model', created: 1_700_000_000, owned_by: 'fake' }],
    });
  }
  if (
    record.path === '/v1/responses' ||
    record.path.startsWith('/v1/responses/') ||
    record.path.startsWith('/v1/responses?')
  ) {
    return handleResponses(req, res, record, scenario, responses);
  }
  if (!record.path.startsWith('/v1/chat/completions') || record.method !== 'POST') {
    return sendError(res, 404, `Unknown path ${record.path}`, 'invalid_request_error', 'unknown_url');
  }
  if (scenario.hang === 'before-headers') return;
  if (scenario.reset === 'before-headers') return void req.socket.destroy();
  if (scenario.firstByteDelayMs) await sleep(scenario.firstByteDelayMs);
  if (res.destroyed) return;
  if (!record.body || !Array.isArray(record.body.messages)) {
    return sendError(res, 400, "'messages' is required", 'invalid_request_error', null, 'messages');
  }
  if (scenario.status && scenario.status >= 400) {
    return sendError(
      res,
      scenario.status,
      scenario.errorMessage ?? `Fake upstream error ${scenario.status}`,
      scenario.status === 429
        ? 'rate_limit_exceeded'
        : scenario.status >= 500
          ? 'server_error'
          : 'invalid_request_error',
      scenario.status === 429 ? 'rate_limit_exceeded' : null,
      null,
      scenario.headers,
    );
  }

  const body = record.body;
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const words = wordsOf(scenario.content ?? DEFAULT_REPLY);
  const limit = typeof body.max_tokens === 'number' ? body.max_tokens : words.length;
  const tokens = words.slice(0, limit);
  const finishReason = tokens.length < words.length ? 'length' : 'stop';
  const promptTokens = scenario.promptTokens ?? 12;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: tokens.length,
    total_tokens: promptTokens + tokens.length,
  };
  if (scenario.fast) {
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    const includeUsage = streamOptions?.include_usage === true && !scenario.omitUsage;
    return writeFast(res, record, { model, tokens, finishReason, usage, includeUsage }, body.stream === true);
  }
  const id = `chatcmpl-fake-${requests.length}`;
  const created = Math.floor(record.startedAt / 1000);

  if (body.stream !== true) {
    const reply = { id, created, model, tokens, finishReason, usage: scenario.omitUsage ? undefined : usage };
    return sendJson(res, 200, completionBody(reply));
  }

  const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
  const includeUsage = streamOptions?.include_usage === true && !scenario.omitUsage;
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    })}\n\n`;

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    ...scenario.headers,
  });
  res.write(chunk({ role: 'assistant', content: '', refusal: null }));
  const breakAt = scenario.afterChunks ?? Math.floor(tokens.length / 2);
  for (const [index, token] of tokens.entries()) {
    if (index === breakAt) {
      if (scenario.hang === 'mid-stream') return;
      if (scenario.holdUntil) await scenario.holdUntil;
      if (scenario.reset) {
        // Let what was written reach the client first, so the reset lands mid-stream.
        await sleep(20);
        return void res.socket?.destroy();
      }
      if (scenario.malformed) res.write('data: {"id":"broken",\n\n');
      if (scenario.errorEvent) {
        res.write(
          `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })}\n\n`,
        );
        return void res.end();
      }
    }
    if (scenario.chunkDelayMs) await sleep(scenario.chunkDelayMs);
    if (res.destroyed) return;
    res.write(chunk({ content: token }));
    record.chunksSent++;
  }
  res.write(chunk({}, finishReason));
  if (includeUsage) {
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [], usage })}\n\n`,
    );
  }
  res.end('data: [DONE]\n\n');
}

type Reply = {
  model: string;
  tokens: string[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  includeUsage: boolean;
};

const rendered = new Map<string, { json: Buffer; frames: Buffer[] }>();

/** The same wire format as the paced path, rendered once per distinct reply. */
function render(reply: Reply) {
  const key = JSON.stringify(reply);
  let hit = rendered.get(key);
  if (hit) return hit;
  const { model, tokens, finishReason, usage, includeUsage } = reply;
  const id = 'chatcmpl-fake-fast';
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake' };
  const chunk = (delta: object, finish: string | null = null) =>
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
  const events = [
    chunk({ role: 'assistant', content: '', refusal: null }),
    ...tokens.map((token) => chunk({ content: token })),
    chunk({}, finishReason),
    ...(includeUsage ? [JSON.stringify({ ...base, choices: [], usage })] : []),
    '[DONE]',
  ];
  const json = JSON.stringify(completionBody({ id, created, model, tokens, finishReason, usage }));
  hit = { json: Buffer.from(json), frames: events.map((data) => Buffer.from(`data: ${data}\n\n`)) };
  if (rendered.size >= 64) rendered.clear();
  rendered.set(key, hit);
  return hit;
}

function writeFast(res: ServerResponse, record: RecordedRequest, reply: Reply, stream: boolean) {
  const { json, frames } = render(reply);
  if (!stream) {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': json.length,
    });
    return void res.end(json);
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  // One chunked-encoding chunk per event, as a server flushing per token sends, but in one writev.
  res.cork();
  for (const bytes of frames) res.write(bytes);
  res.uncork();
  record.chunksSent = reply.tokens.length;
  res.end();
}

/** A `chat.completion` object as OpenAI answers a non-streamed request. */
function completionBody(reply: {
  id: string;
  created: number;
  model: string;
  tokens: string[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
}) {
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.tokens.join(''), refusal: null },
        logprobs: null,
        finish_reason: reply.finishReason,
      },
    ],
    ...(reply.usage ? { usage: reply.usage } : {}),
    system_fingerprint: 'fp_fake',
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { error: { message, type, param, code } }, headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (import.meta.main) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'delay-ms': { type: 'string' }, fast: { type: 'boolean' } },
  });
  const fake = await startFakeUpstream(
    { chunkDelayMs: Number(values['delay-ms'] ?? 30), fast: values.fast ?? false },
    { port: Number(values.port ?? 0) },
  );
  console.log(`fake upstream: OPENAI_BASE_URL=${fake.baseURL}`);
}
