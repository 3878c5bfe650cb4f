import type { Config } from '../config.ts';
import { createMockResponses } from './mock-responses.ts';
import { createOpenAIClient } from './openai-client.ts';
import { createResponsesUpstream, type ResponsesUpstream } from './responses-upstream.ts';
import { fetchTransport, type UpstreamTransport } from './transport.ts';

/** The Responses API on the configured upstream with a key, the mock model without (as createUpstream). */
export function createResponses({
  config,
  transport,
}: {
  config: Config;
  transport?: UpstreamTransport | undefined;
}): ResponsesUpstream {
  if (!config.OPENAI_API_KEY) return createMockResponses({ tokenDelayMs: config.MOCK_TOKEN_DELAY_MS });
  return createResponsesUpstream(
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
