import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { CooldownStore } from '../stores/stores.ts';
import type { ChatUpstream } from './chat-upstream.ts';
import { createMockResponses } from './mock-responses.ts';
import { createMockUpstream } from './mock-upstream.ts';
import { createOpenAIClient } from './openai-client.ts';
import { pooledChatUpstream } from './pooled-chat-upstream.ts';
import { pooledResponsesUpstream } from './pooled-responses-upstream.ts';
import type { ResponsesUpstream } from './responses-upstream.ts';
import { fetchTransport, type UpstreamTransport } from './transport.ts';
import { createUpstreamPool, type PoolMetrics } from './upstream-pool.ts';

type Options = {
  config: Config;
  log: Logger;
  transport?: UpstreamTransport | undefined;
  cooldowns: CooldownStore;
  metrics: PoolMetrics;
};

/** The real upstreams when any is configured (UPSTREAMS, or the OPENAI_API_KEY shorthand), the mock model without. */
export const upstreamMode = (config: Pick<Config, 'upstreams'>) =>
  config.upstreams.length ? 'upstream' : 'mock';

/**
 * Picks the upstreams once per configuration: the pool of real ones (both surfaces over the one
 * pool, so they share its cooldowns), or the mock model.
 */
export function createUpstream({ config, log, transport = fetchTransport(), cooldowns, metrics }: Options): {
  chat: ChatUpstream;
  responses: ResponsesUpstream;
} {
  if (config.upstreams.length) {
    const endpoints = config.upstreams.map((spec) => {
      const client = createOpenAIClient({
        baseURL: spec.baseURL,
        apiKey: spec.apiKey,
        organization: spec.organization,
        project: spec.project,
        timeoutMs: config.REQUEST_TIMEOUT,
        transport,
      });
      return { spec, client };
    });
    const pool = createUpstreamPool({
      endpoints,
      cooldowns,
      log,
      metrics,
      policy: {
        maxAttempts: config.UPSTREAM_MAX_ATTEMPTS,
        attemptsEach: config.UPSTREAM_ATTEMPTS_EACH,
        backoffMs: config.UPSTREAM_BACKOFF_MS,
        retryWaitMs: config.UPSTREAM_RETRY_WAIT_MS,
        cooldownFailures: config.UPSTREAM_COOLDOWN_FAILURES,
        cooldownMs: config.UPSTREAM_COOLDOWN_MS,
        probeMs: config.REQUEST_TIMEOUT,
      },
    });
    return { chat: pooledChatUpstream(pool), responses: pooledResponsesUpstream(pool) };
  }
  log.warn('mock_mode', {
    message:
      'No OPENAI_API_KEY or UPSTREAMS is set: replies come from the built-in mock model. ' +
      'Set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server), or UPSTREAMS, to call a real model.',
  });
  return {
    chat: createMockUpstream({
      tokenDelayMs: config.MOCK_TOKEN_DELAY_MS,
      defaultModel: config.DEFAULT_MODEL,
    }),
    responses: createMockResponses({ tokenDelayMs: config.MOCK_TOKEN_DELAY_MS }),
  };
}
