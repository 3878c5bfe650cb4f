import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError, type Logger } from '../logger.ts';
import { type Stores, StoreUnavailableError } from '../stores/stores.ts';
import type { ChatUpstream } from '../upstream/chat-upstream.ts';
import { estimateUsage } from '../usage/estimate-tokens.ts';

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

/** What a finished completion settles: `estimated` when the gateway counted the tokens itself. */
export type UsageFacts = { model: string; usage: Usage; estimated: boolean };

type Options = {
  stores: (config: Config, log: Logger) => Stores;
  isPublic: (path: string) => boolean;
};

/**
 * Accounts every completion exactly once: charges the token budget, adds it to the usage store
 * (per hour, key and model) and puts model and usage on the access log line. JSON completions are
 * accounted where their answer arrives, by a wrapper round the upstream client that no route can
 * skip; streams call `accountUsage` when they end, before the stream closes (Lambda freezes after).
 */
export function usageAccounting({ stores, isPublic }: Options): MiddlewareHandler<AppEnv> {
  return async function usageAccounting(c, next) {
    if (isPublic(c.req.path)) return next();
    const config = c.get('config');
    const log = c.get('log');
    const accountUsage = async ({ model, usage, estimated }: UsageFacts) => {
      Object.assign(c.get('logFields'), { model, usage, usage_estimated: estimated });
      await c.get('chargeTokens')(usage);
      try {
        await stores(config, log).usage.record({
          time: Date.now(),
          keyId: c.get('keyId') ?? 'anonymous',
          model,
          promptTokens: usage.prompt_tokens,
          completionTokens: usage.completion_tokens,
          estimated,
        });
      } catch (error) {
        // A shared store logs its own outage once; anything else is worth a line of its own.
        if (!(error instanceof StoreUnavailableError)) {
          log.error('usage_not_recorded', { request_id: c.get('requestId'), ...describeError(error) });
        }
      }
    };
    c.set('accountUsage', accountUsage);
    c.set('upstream', accounted(c.get('upstream'), accountUsage, c.get('logFields'), config.LOG_BODIES));
    await next();
  };
}

function accounted(
  upstream: ChatUpstream,
  accountUsage: (facts: UsageFacts) => Promise<void>,
  logFields: Record<string, unknown>,
  logBodies: boolean,
): ChatUpstream {
  return {
    mode: upstream.mode,
    async complete(request, signal) {
      const completion = await upstream.complete(request, signal);
      if (completion._request_id) logFields.upstream_request_id = completion._request_id;
      const content = completion.choices[0]?.message.content ?? '';
      try {
        const usage = completion.usage ?? (await estimateUsage(request, content));
        await accountUsage({ model: completion.model || request.model, usage, estimated: !completion.usage });
      } catch (error) {
        // As for streams: the client still gets the answer it was charged for upstream, and the
        // request's line says the accounting failed (the stores report their own outages).
        logFields.usage_error = describeError(error).error;
      }
      if (logBodies) Object.assign(logFields, { prompt: request.messages, completion: content });
      return completion;
    },
    stream: (request, signal) => upstream.stream(request, signal),
    models: (signal) => upstream.models(signal),
  };
}
