import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Lambda Runtime API (the 2018-06-01 interface a runtime polls), on 127.0.0.1: it hands
 * out queued events on `GET /invocation/next` and records what the runtime answers. A streamed
 * answer (`Lambda-Runtime-Function-Response-Mode: streaming`) is turned into the Response a
 * Function URL client would get: status and headers from the JSON prelude that precedes 8 NUL
 * bytes, or 200 `application/octet-stream` with everything as body when there is no prelude.
 */

const BASE = '/2018-06-01/runtime';
/**
 * The line the runtime client stand-in (lambda-rapid-client.ts) prints before each
 * `GET /invocation/next`, followed by the id of the invocation just over (empty after the init).
 */
export const NEXT_INVOCATION_MARKER = '[runtime] next invocation after ';
const PRELUDE_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);

export type Chunk = { at: number; bytes: Buffer };

export type Invocation = {
  id: string;
  event: unknown;
  /** Resolves when the runtime took the event. */
  started: Promise<void>;
  /** The streamed answer as a Function URL client sees it; rejects for a buffered one. */
  response: Promise<Response>;
  /** How the runtime finished its answer (the end of the POST, or its error report). */
  finished: Promise<Finished>;
  /** Resolves when the runtime asked for its next event: this invocation is over. */
  settled: Promise<void>;
  /** Body chunks after the prelude, as they arrived. */
  chunks: Chunk[];
  /** Headers the runtime sent with its streamed POST. */
  postHeaders: IncomingMessage['headers'];
  /** The raw prelude JSON, when there was one. */
  prelude?: string;
  /** Drops the runtime's streaming connection mid-response (what a front end would do if it relayed a hang-up). */
  disconnect(): void;
};

export type Finished =
  | { kind: 'streamed'; trailers: Record<string, string | undefined>; aborted: boolean }
  | { kind: 'buffered'; result: unknown }
  | { kind: 'error'; errorType: string | undefined; body: unknown };

export type RuntimeApi = {
  address: string;
  invoke(event: unknown, options?: { timeoutMs?: number }): Invocation;
  /** Resolves with the body of `POST /init/error` if the function fails to initialise. */
  initError: Promise<{ errorType?: string; errorMessage?: string }>;
  /** Resolves at the first `GET /invocation/next`: the function is initialised. */
  ready: Promise<void>;
  close(): Promise<void>;
};

type Entry = {
  invocation: Invocation;
  deadline: number;
  resolveStarted(): void;
  resolveResponse(response: Response): void;
  rejectResponse(error: Error): void;
  resolveFinished(finished: Finished): void;
  resolveSettled(): void;
  request?: IncomingMessage;
};

export async function startRuntimeApi(): Promise<RuntimeApi> {
  const queue: Entry[] = [];
  const byId = new Map<string, Entry>();
  const waiting: ServerResponse[] = [];
  let current: Entry | undefined;
  let sequence = 0;
  const ready = deferred<void>();
  const initError = deferred<{ errorType?: string; errorMessage?: string }>();

  const dispatch = () => {
    while (queue.length && waiting.length) {
      const entry = queue.shift()!;
      const res = waiting.shift()!;
      current = entry;
      res.writeHead(200, {
        'content-type': 'application/json',
        'lambda-runtime-aws-request-id': entry.invocation.id,
        'lambda-runtime-deadline-ms': String(entry.deadline),
        'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:gateway',
        'lambda-runtime-trace-id': `Root=1-${sequence.toString(16)};Parent=1;Sampled=0`,
      });
      res.end(JSON.stringify(entry.invocation.event));
      entry.resolveStarted();
    }
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === `${BASE}/invocation/next`) {
      ready.resolve();
      // Asking for the next event is how a runtime says the previous invocation is over.
      current?.resolveSettled();
      current = undefined;
      waiting.push(res);
      return dispatch();
    }
    const match = url.match(/^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/);
    const entry = match ? byId.get(decodeURIComponent(match[1] ?? '')) : undefined;
    if (req.method === 'POST' && url === `${BASE}/init/error`) {
      return void readAll(req).then((body) => {
        initError.resolve(JSON.parse(body.toString() || '{}'));
        accept(res);
      });
    }
    if (!entry || req.method !== 'POST') return void res.writeHead(404).end();
    if (match?.[2] === 'error') {
      return void readAll(req).then((body) => {
        entry.resolveFinished({
          kind: 'error',
          errorType: req.headers['lambda-runtime-function-error-type'] as string | undefined,
          body: JSON.parse(body.toString() || 'null'),
        });
        entry.rejectResponse(new Error('the function reported an error'));
        accept(res);
      });
    }
    if (req.headers['lambda-runtime-function-response-mode'] === 'streaming') {
      return receiveStream(entry, req, res);
    }
    void readAll(req).then((body) => {
      entry.resolveFinished({ kind: 'buffered', result: JSON.parse(body.toString()) });
      entry.rejectResponse(new Error('the function answered buffered, not streamed'));
      accept(res);
    });
  });
  // Lambda's Runtime API keeps the runtime's connections open. Node's default closes one idle for
  // 5 s, and aws-lambda-ric reuses its kept-alive socket for the next streamed response: on a busy
  // machine that POST can go out on a socket the server is closing, and the runtime dies of the
  // "socket hang up". No timeout, as on Lambda.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${port}`,
    ready: ready.promise,
    initError: initError.promise,
    invoke(event, { timeoutMs = 30_000 } = {}) {
      const started = deferred<void>();
      const response = deferred<Response>();
      const finished = deferred<Finished>();
      const settled = deferred<void>();
      // Callers that only look at `finished` must not see an unhandled rejection.
      response.promise.catch(() => {});
      const entry: Entry = {
        deadline: Date.now() + timeoutMs,
        resolveStarted: started.resolve,
        resolveResponse: response.resolve,
        rejectResponse: response.reject,
        resolveFinished: finished.resolve,
        resolveSettled: settled.resolve,
        invocation: {
          id: `inv-${++sequence}-${crypto.randomUUID()}`,
          event,
          started: started.promise,
          response: response.promise,
          finished: finished.promise,
          settled: settled.promise,
          chunks: [],
          postHeaders: {},
          disconnect: () => entry.request?.socket.destroy(),
        },
      };
      byId.set(entry.invocation.id, entry);
      queue.push(entry);
      dispatch();
      return entry.invocation;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of waiting.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Splits the prelude from the body as the Function URL front end does, and relays the body as it comes. */
function receiveStream(entry: Entry, req: IncomingMessage, res: ServerResponse) {
  const { invocation } = entry;
  entry.request = req;
  invocation.postHeaders = req.headers;
  const withPrelude = req.headers['content-type'] === PRELUDE_TYPE;
  let head: Buffer | undefined = withPrelude ? Buffer.alloc(0) : undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const respond = (prelude: {
    statusCode?: number;
    headers?: Record<string, string>;
    cookies?: string[];
  }) => {
    const headers = new Headers(prelude.headers ?? {});
    for (const cookie of prelude.cookies ?? []) headers.append('set-cookie', cookie);
    const status = prelude.statusCode ?? 200;
    const nullBody = status === 204 || status === 304;
    entry.resolveResponse(new Response(nullBody ? null : body, { status, headers }));
  };
  if (!withPrelude) respond({ headers: { 'content-type': 'application/octet-stream' } });
  const emit = (bytes: Buffer) => {
    if (!bytes.length) return;
    invocation.chunks.push({ at: Date.now(), bytes });
    controller.enqueue(new Uint8Array(bytes));
  };
  req.on('data', (data: Buffer) => {
    if (!head) return emit(data);
    head = Buffer.concat([head, data]);
    const split = head.indexOf(DELIMITER);
    if (split === -1) return;
    invocation.prelude = head.subarray(0, split).toString();
    respond(JSON.parse(invocation.prelude));
    const rest = head.subarray(split + DELIMITER.length);
    head = undefined;
    emit(rest);
  });
  req.on('end', () => {
    if (head) entry.rejectResponse(new Error('the stream ended inside the prelude'));
    controller.close();
    entry.resolveFinished({ kind: 'streamed', trailers: { ...req.trailers }, aborted: false });
    accept(res);
  });
  req.on('close', () => {
    if (req.complete) return;
    try {
      controller.error(new Error('the runtime connection dropped'));
    } catch {}
    entry.resolveFinished({ kind: 'streamed', trailers: {}, aborted: true });
  });
}

function accept(res: ServerResponse) {
  res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"OK"}');
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
