import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

// Statuses whose responses have no body, whatever the headers say.
const NULL_BODY = new Set([101, 204, 205, 304]);
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

const isPlainHeaders = (headers: RequestInit['headers']): headers is Record<string, string> =>
  !!headers && !(headers instanceof Headers) && !Array.isArray(headers);

// Agents of our own ignore HTTP_PROXY, HTTPS_PROXY and NO_PROXY unless handed them: they follow
// them when Node is told to (NODE_USE_ENV_PROXY=1 or --use-env-proxy), as its own fetch does.
function envProxy(): http.ProxyEnv | undefined {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return process.env.NODE_USE_ENV_PROXY === '1' || flags.includes('--use-env-proxy')
    ? process.env
    : undefined;
}

/**
 * A `fetch` for the gateway's upstream calls on Node (the server and Lambda), over `node:http`
 * with keep-alive agents.
 * Node's built-in fetch (undici) validates every header and builds Request, Headers and timing
 * objects per call: measured as the largest cost the gateway adds to a request (docs/benchmarks.md).
 * Only what the upstream client uses is supported: string bodies, an AbortSignal, any method.
 */
export function upstreamFetch({ proxyEnv = envProxy() }: { proxyEnv?: http.ProxyEnv | undefined } = {}) {
  const options = { keepAlive: true, scheduling: 'lifo' as const, ...(proxyEnv ? { proxyEnv } : {}) };
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };
  const fetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
      const { signal } = init;
      // The upstream client tells a timeout from a client's abort by its own signal's reason.
      const aborted = () => new DOMException('This operation was aborted', 'AbortError');
      if (signal?.aborted) return reject(aborted());

      const headers: Record<string, string> = {};
      // The upstream client hands a plain object of lower-case names: copied as it is, not
      // through a Headers object (which validates and normalises every entry again).
      if (isPlainHeaders(init.headers)) Object.assign(headers, init.headers);
      else
        new Headers(init.headers).forEach((value, name) => {
          headers[name] = value;
        });
      const body = typeof init.body === 'string' ? init.body : undefined;
      if (init.body != null && body === undefined)
        return reject(new TypeError('upstreamFetch sends string bodies only'));
      if (body !== undefined && !headers['content-length'])
        headers['content-length'] = String(Buffer.byteLength(body));

      const send = (retry: boolean) => {
        const request = (protocol === 'https:' ? https : http).request(url, {
          method: init.method ?? 'GET',
          headers,
          agent: agents[protocol],
        });
        // Aborting ends the exchange at whatever stage it is: before the answer, or mid-body.
        const onAbort = () => request.destroy(aborted());
        signal?.addEventListener('abort', onAbort, { once: true });
        request.once('close', () => signal?.removeEventListener('abort', onAbort));
        let answered = false;
        request.once('error', (error: NodeJS.ErrnoException) => {
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
          const status = response.statusCode ?? 502;
          const responseHeaders: [string, string][] = [];
          for (let index = 0; index < response.rawHeaders.length; index += 2) {
            responseHeaders.push([response.rawHeaders[index]!, response.rawHeaders[index + 1]!]);
          }
          const hasBody = !NULL_BODY.has(status) && init.method !== 'HEAD';
          if (!hasBody) response.resume();
          resolve(
            new Response(hasBody ? (Readable.toWeb(response) as ReadableStream<Uint8Array>) : null, {
              status,
              statusText: response.statusMessage,
              headers: responseHeaders,
            }),
          );
        });
        request.end(body);
      };
      send(true);
    });
  return {
    fetch: fetch as typeof globalThis.fetch,
    /** Closes the kept-alive upstream sockets, so a stopping process is not held open by them. */
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
