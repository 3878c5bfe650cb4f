import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ChatUpstream } from './chat-upstream.ts';
import { createMockUpstream } from './mock-upstream.ts';
import { createOpenAIClient } from './openai-client.ts';
import { createOpenAIUpstream } from './openai-upstream.ts';
import { fetchTransport, type UpstreamTransport } from './transport.ts';

type Options = { config: Config; log: Logger; transport?: UpstreamTransport | undefined };

/** The real upstream with a key, the mock model without. */
export const upstreamMode = (config: Pick<Config, 'OPENAI_API_KEY'>) =>
  config.OPENAI_API_KEY ? 'upstream' : 'mock';

/** Picks the upstream once per configuration: the real one with a key, the mock model without. */
export function createUpstream({ config, log, transport }: Options): ChatUpstream {
  if (config.OPENAI_API_KEY) {
    return createOpenAIUpstream(
      createOpenAIClient({
        baseURL: config.OPENAI_BASE_URL,
        apiKey: config.OPENAI_API_KEY,
        organization: config.OPENAI_ORG_ID,
        project: config.OPENAI_PROJECT_ID,
        timeoutMs: config.REQUEST_TIMEOUT,
        transport: transport ?? fetchTransport(),
      }),
    );
  }
  log.warn('mock_mode', {
    message:
      'No OPENAI_API_KEY is set: replies come from the built-in mock model. ' +
      'Set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server) to call a real model.',
  });
  return createMockUpstream({ tokenDelayMs: config.MOCK_TOKEN_DELAY_MS, defaultModel: config.DEFAULT_MODEL });
}
