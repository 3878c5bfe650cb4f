import {
  clientClosedRequest,
  GatewayError,
  timeoutError,
  toGatewayError,
  UpstreamResponseError,
  upstreamUnavailable,
} from '../errors.ts';
import type { ChatCompletion, ChatUpstream, Model, UpstreamCompletion } from './chat-upstream.ts';
import type { UpstreamAnswer, UpstreamTransport } from './transport.ts';

export const OPENAI_API_URL = 'https://api.openai.com/v1';

type Options = {
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

const TIMED_OUT = Symbol('timed out');

/**
 * The real upstream, over the transport the adapter supplies: the gateway's own small client for
 * OpenAI's wire format (the official SDK is an application's client, and on a relay it cost more
 * CPU than the upstream itself; docs/benchmarks.md). Retries are left to the gateway's clients,
 * who see 429 and 5xx as they happened; a kept-alive socket gone stale is the adapter fetch's to retry.
 */
export function createOpenAIUpstream(options: Options): ChatUpstream {
  const { timeoutMs, transport } = options;
  const base = (options.baseURL || OPENAI_API_URL).replace(/\/+$/, '');
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.apiKey}`,
    accept: 'application/json',
    ...(options.organization ? { 'openai-organization': options.organization } : {}),
    ...(options.project ? { 'openai-project': options.project } : {}),
  };
  const jsonHeaders = { ...headers, 'content-type': 'application/json' };

  /**
   * One exchange: `read` runs under the same time bound as the wait for headers. With `linger`,
   * the caller's signal stays linked past the return, so aborting it cancels the body too.
   */
  async function exchange<T>(
    path: string,
    body: string | undefined,
    signal: AbortSignal,
    read: (answer: UpstreamAnswer) => Promise<T> | T,
    { linger = false } = {},
  ): Promise<T> {
    if (signal.aborted) throw clientClosedRequest(signal.reason);
    const controller = new AbortController();
    const forward = () => controller.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
    let answered = false;
    try {
      const answer = await transport({
        url: `${base}${path}`,
        method: body === undefined ? 'GET' : 'POST',
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
      if (error instanceof GatewayError) throw error;
      if (signal.aborted) throw clientClosedRequest(error);
      if (controller.signal.reason === TIMED_OUT) throw timeoutError(timeoutMs, error);
      throw upstreamUnavailable(error, 'connection failed');
    } finally {
      clearTimeout(timer);
      if (!(linger && answered)) signal.removeEventListener('abort', forward);
    }
  }

  return {
    mode: 'upstream',
    complete: (request, signal) =>
      exchange(
        '/chat/completions',
        JSON.stringify({ ...request, stream: false }),
        signal,
        async (answer): Promise<UpstreamCompletion> => {
          const text = await answer.text();
          let completion: ChatCompletion;
          try {
            completion = JSON.parse(text) as ChatCompletion;
          } catch (error) {
            throw upstreamUnavailable(error, 'the answer was not JSON');
          }
          return { completion, body: text, requestId: answer.header('x-request-id') };
        },
      ),
    stream: (request, signal) =>
      exchange(
        '/chat/completions',
        JSON.stringify({
          ...request,
          stream: true,
          // Usage is always asked for so every stream can be accounted, whatever the client asked.
          stream_options: { ...(request.stream_options ?? {}), include_usage: true },
        }),
        signal,
        (answer) => ({ body: answer.body(), requestId: answer.header('x-request-id') }),
        { linger: true },
      ),
    models: (signal) =>
      exchange('/models', undefined, signal, async (answer) => {
        const page = JSON.parse(await answer.text()) as { data?: Model[] };
        return page.data ?? [];
      }),
  };
}
