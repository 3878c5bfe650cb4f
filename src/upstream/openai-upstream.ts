import type OpenAI from 'openai';
import type { Config } from '../config.ts';
import { upstreamUnavailable } from '../errors.ts';
import type { ChatUpstream } from './chat-upstream.ts';

// The SDK is most of the code a cold start would load (docs/lambda.md): it is imported on the first
// upstream call, so health checks, preflights and refused requests never wait for it.
const loadSdk = () => import('openai');

/** Loads the SDK now: a long-lived server does it before it takes traffic. */
export const preloadUpstreamClient = async () => {
  await loadSdk();
};

/** The real upstream: any OpenAI-compatible server, called through the official SDK. */
export function createOpenAIUpstream(
  config: Config,
  apiKey: string,
  fetch?: typeof globalThis.fetch,
): ChatUpstream {
  let client: Promise<OpenAI> | undefined;
  const sdk = () =>
    (client ??= loadSdk().then(
      ({ default: OpenAI }) =>
        new OpenAI({
          apiKey,
          baseURL: config.OPENAI_BASE_URL,
          // The SDK's timeout covers the wait for response headers; the stream relay bounds the gaps
          // between chunks. Retries are left to the gateway's clients, who see 429/5xx as they happened.
          timeout: config.REQUEST_TIMEOUT,
          maxRetries: 0,
          // The gateway logs upstream failures itself, as JSON lines; the SDK's console output would not be.
          logLevel: 'off',
          ...(fetch ? { fetch } : {}),
        }),
    ));
  return {
    mode: 'upstream',
    complete: async (request, signal) =>
      (await sdk()).chat.completions.create({ ...request, stream: false }, { signal }),
    async stream(request, signal) {
      // The raw response, not the SDK's parsed stream: the relay reads frames itself so it can pass
      // OpenAI's bytes on as they are. The SDK still builds the request and maps error statuses.
      const response = await (await sdk()).chat.completions
        .create(
          {
            ...request,
            stream: true,
            // Usage is always asked for so every stream can be accounted, whatever the client asked.
            stream_options: { ...(request.stream_options ?? {}), include_usage: true },
          },
          { signal },
        )
        .asResponse();
      if (!response.body) throw upstreamUnavailable(undefined, 'the stream had no body');
      return { body: response.body, requestId: response.headers.get('x-request-id') };
    },
    async models(signal) {
      const page = await (await sdk()).models.list({ signal });
      return page.data;
    },
  };
}
