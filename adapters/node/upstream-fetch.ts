import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { UpstreamAnswer, UpstreamTransport } from '../../src/upstream/transport.ts';

// Statuses whose responses have no body, whatever the headers say.
const NULL_BODY = new Set([101, 204, 205, 304]);
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

// Agents of our own ignore HTTP_PROXY, HTTPS_PROXY and NO_PROXY unless handed them: they follow
// them when Node is told to (NODE_USE_ENV_PROXY=1 or --use-env-proxy), as its own fetch does.
function envProxy(): http.ProxyEnv | undefined {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return process.env.NODE_USE_ENV_PROXY === '1' || flags.includes('--use-env-proxy')
    ? process.env
    : undefined;
}

type Exchange = {
  url: URL;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | null | undefined;
};

const aborted = () => new DOMException('This operation was aborted', 'AbortError');

/**
 * Upstream calls on Node (the server and Lambda), over `node:http` with keep-alive agents: the
 * gateway's transport, which hands the answer over as Node gives it (no Request, Response, Headers
 * or web stream per call: undici's were the largest cost the gateway added to a request,
 * docs/benchmarks.md), and a `fetch` over the same agents for other callers.
 */
export function upstreamFetch({ proxyEnv = envProxy() }: { proxyEnv?: http.ProxyEnv | undefined } = {}) {
  const options = { keepAlive: true, scheduling: 'lifo' as const, ...(proxyEnv ? { proxyEnv } : {}) };
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };

  const exchange = ({ url, method, headers, body, signal }: Exchange): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(aborted());
      const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
      if (body !== undefined && !headers['content-length'])
        headers['content-length'] = String(Buffer.byteLength(body));
      const send = (retry: boolean) => {
        const request = (protocol === 'https:' ? https : http).request(url, {
          method,
          headers,
          agent: agents[protocol],
        });
        let answered = false;
        // Aborting ends the exchange at whatever stage it is: before the answer (the caller gets
        // an AbortError), or mid-body (its reader sees the body end early). Destroyed without an
        // error, so no socket is left to emit one that nobody listens for.
        const onAbort = () => {
          if (!answered) reject(aborted());
          request.destroy();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        request.once('close', () => signal?.removeEventListener('abort', onAbort));
        request.on('error', (error: NodeJS.ErrnoException) => {
          // After the answer began, a failure is the body reader's to see.
          if (answered) return;
          // A kept-alive socket the upstream closed while idle (or while Lambda had the process
          // frozen) fails as it is reused, before any answer: send the request once more on a
          // new connection, as Node's documentation advises for reusedSocket. A fresh socket's
          // failure, or one after the answer began, is the upstream's and goes to the caller.
          const stale = !answered && request.reusedSocket && STALE_SOCKET.has(error.code ?? '');
          if (retry && stale && !signal?.aborted) send(false);
          else reject(error);
        });
        request.once('response', (response) => {
          answered = true;
          resolve(response);
        });
        request.end(body);
      };
      send(true);
    });

  const transport: UpstreamTransport = async (request) => {
    const response = await exchange({
      ...request,
      url: new URL(request.url),
      headers: { ...request.headers },
    });
    return answerOf(response);
  };

  /** Only what a plain client uses: string bodies, an AbortSignal, any method. */
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (init.body != null && body === undefined)
      throw new TypeError('upstreamFetch sends string bodies only');
    const method = init.method ?? 'GET';
    const url = new URL(input instanceof Request ? input.url : input);
    const response = await exchange({ url, method, headers, body, signal: init.signal });
    const status = response.statusCode ?? 502;
    const responseHeaders: [string, string][] = [];
    for (let index = 0; index < response.rawHeaders.length; index += 2) {
      responseHeaders.push([response.rawHeaders[index]!, response.rawHeaders[index + 1]!]);
    }
    const hasBody = !NULL_BODY.has(status) && method !== 'HEAD';
    if (!hasBody) response.resume();
    return new Response(hasBody ? (Readable.toWeb(response) as ReadableStream<Uint8Array>) : null, {
      status,
      statusText: response.statusMessage,
      headers: responseHeaders,
    });
  };

  return {
    transport,
    fetch: fetch as typeof globalThis.fetch,
    /** Closes the kept-alive upstream sockets, so a stopping process is not held open by them. */
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

function answerOf(response: http.IncomingMessage): UpstreamAnswer {
  // Aborting an exchange mid-body destroys the response with an error; whoever reads the body
  // sees it through the iteration, and one nobody is reading any more must not crash the process.
  response.on('error', () => {});
  return {
    status: response.statusCode ?? 502,
    header(name) {
      const value = response.headers[name];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
    async text() {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    // An IncomingMessage is an async iterable of its body's chunks; ending the iteration early
    // destroys it, and with it the exchange. Decoded here by Node's StringDecoder (which keeps a
    // character split across chunks whole), so the relay needs no TextDecoder of its own.
    body: () => response.setEncoding('utf8'),
  };
}
