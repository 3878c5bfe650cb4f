import { upstreamUnavailable } from '../errors.ts';
import type { ChatCompletion, ChatEndpoint, Model, UpstreamCompletion } from './chat-upstream.ts';
import type { OpenAIClient } from './openai-client.ts';
import { chatCommits, heldUntilCommit } from './stream-commit.ts';

/** Chat completions and models on one upstream, over its wire client (openai-client.ts). */
export function openAIChatEndpoint(client: OpenAIClient): ChatEndpoint {
  return {
    complete: (request, signal) =>
      client.exchange(
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
      client.exchange(
        '/chat/completions',
        JSON.stringify({
          ...request,
          stream: true,
          // Usage is always asked for so every stream can be accounted, whatever the client asked.
          stream_options: { ...(request.stream_options ?? {}), include_usage: true },
        }),
        signal,
        // Under the answer's time bound: the first content must come within REQUEST_TIMEOUT.
        async (answer) => ({
          body: await heldUntilCommit(answer.body(), chatCommits),
          requestId: answer.header('x-request-id'),
        }),
        { linger: true },
      ),
    models: (signal) =>
      client.exchange('/models', undefined, signal, async (answer) => {
        const page = JSON.parse(await answer.text()) as { data?: Model[] };
        return page.data ?? [];
      }),
  };
}
