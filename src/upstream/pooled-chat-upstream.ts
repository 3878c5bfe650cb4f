import type { AllowedChatRequest, ChatUpstream } from './chat-upstream.ts';
import { openAIChatEndpoint } from './openai-chat-endpoint.ts';
import type { PoolEndpoint, UpstreamPool } from './upstream-pool.ts';

/**
 * The chat surface over the pool: every call goes to the upstream the pool picks, under that
 * upstream's name for the model, and says which one answered.
 */
export function pooledChatUpstream(pool: UpstreamPool): ChatUpstream {
  const chat = new Map(pool.endpoints.map((endpoint) => [endpoint, openAIChatEndpoint(endpoint.client)]));
  const chatOf = (endpoint: PoolEndpoint) => chat.get(endpoint) ?? openAIChatEndpoint(endpoint.client);
  const withModel = (request: AllowedChatRequest, model: string | null): AllowedChatRequest =>
    model === null || model === request.model ? request : { ...request, model };
  return {
    mode: 'upstream',
    names: pool.names,
    async complete(request, call) {
      const served = await pool.call(
        { ...call, model: request.model, surface: 'chat' },
        (endpoint, model, signal) => chatOf(endpoint).complete(withModel(request, model), signal),
      );
      return { ...served.value, upstream: served.upstream, model: served.model };
    },
    async stream(request, call) {
      const served = await pool.call(
        { ...call, model: request.model, surface: 'chat' },
        (endpoint, model, signal) => chatOf(endpoint).stream(withModel(request, model), signal),
      );
      return { ...served.value, upstream: served.upstream, model: served.model };
    },
    async models(call) {
      const served = await pool.call({ ...call, model: null, surface: 'chat' }, (endpoint, _model, signal) =>
        chatOf(endpoint).models(signal),
      );
      return served.value;
    },
  };
}
