import {
  clientClosedRequest,
  GatewayError,
  timeoutError,
  toGatewayError,
  UpstreamResponseError,
  upstreamUnavailable,
} from '../errors.ts';
import type { UpstreamAnswer, UpstreamRequest, UpstreamTransport } from './transport.ts';

export const OPENAI_API_URL = 'https://api.openai.com/v1';

export type OpenAIClientOptions = {
  /** Any OpenAI-compatible server's base URL, `/v1` included; OpenAI's own by default. */
  baseURL?: string | undefined;
  apiKey: string;
  /** Sent as `OpenAI-Organization` / `OpenAI-Project` when set. */
  organization?: string | undefined;
  project?: string | undefined;
  /**
   * Bounds the wait for the upstream's answer: its status and headers, and for JSON its whole body.
   * A stream's gaps between chunks are the relay's to bound.
   */
  timeoutMs: number;
  transport: UpstreamTransport;
};

export type ExchangeOptions = {
  /** GET without a body, POST with one, unless said otherwise (DELETE, a POST with no body). */
  method?: UpstreamRequest['method'];
  /** The caller's signal stays linked past the return, so aborting it cancels the body too. */
  linger?: boolean;
};

/**
 * One upstream's wire client: what every OpenAI-wire call (chat completions, models, responses)
 * goes through. `read` runs under the same time bound as the wait for headers; a non-2xx answer
 * throws its GatewayError (src/errors.ts maps the status), a failed connection a 502, the time
 * bound a 504, the caller's abort a 499.
 */
export type OpenAIClient = {
  exchange<T>(
    path: string,
    body: string | undefined,
    signal: AbortSignal,
    read: (answer: UpstreamAnswer) => Promise<T> | T,
    options?: ExchangeOptions,
  ): Promise<T>;
};

const TIMED_OUT = Symbol('timed out');

/**
 * The gateway's own small client for OpenAI's wire format, over the transport the adapter
 * supplies (the official SDK is an application's client, and on a relay it cost more CPU than the
 * upstream itself; docs/benchmarks.md). A kept-alive socket gone stale is the transport's to retry.
 */
export function createOpenAIClient(options: OpenAIClientOptions): OpenAIClient {
  const { timeoutMs, transport } = options;
  const base = (options.baseURL || OPENAI_API_URL).replace(/\/+$/, '');
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.apiKey}`,
    accept: 'application/json',
    ...(options.organization ? { 'openai-organization': options.organization } : {}),
    ...(options.project ? { 'openai-project': options.project } : {}),
  };
  const jsonHeaders = { ...headers, 'content-type': 'application/json' };

  return {
    async exchange(path, body, signal, read, { method, linger = false } = {}) {
      if (signal.aborted) throw clientClosedRequest(signal.reason);
      const controller = new AbortController();
      const forward = () => controller.abort(signal.reason);
      signal.addEventListener('abort', forward, { once: true });
      const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
      let answered = false;
      try {
        const answer = await transport({
          url: `${base}${path}`,
          method: method ?? (body === undefined ? 'GET' : 'POST'),
          headers: body === undefined ? headers : jsonHeaders,
          body,
          signal: controller.signal,
        });
        if (answer.status < 200 || answer.status > 299) {
          const text = await answer.text();
          throw toGatewayError(
            new UpstreamResponseError(answer.status, text, {
              requestId: answer.header('x-request-id'),
              retryAfter: answer.header('retry-after'),
            }),
          );
        }
        const result = await read(answer);
        answered = true;
        return result;
      } catch (error) {
        // Checked first: a body cut by an abort may read as a stream that ended early.
        if (signal.aborted) throw clientClosedRequest(error);
        if (controller.signal.reason === TIMED_OUT) throw timeoutError(timeoutMs, error);
        if (error instanceof GatewayError) throw error;
        throw upstreamUnavailable(error, 'connection failed');
      } finally {
        clearTimeout(timer);
        if (!(linger && answered)) signal.removeEventListener('abort', forward);
      }
    },
  };
}
