import { afterAll } from 'vitest';
import { type NodeGateway, startNodeGateway } from '../../adapters/node.ts';
import type { Bindings } from '../../src/config.ts';
import { type FakeUpstream, type Scenario, startFakeUpstream } from './fake-upstream.ts';

export type TestGateway = NodeGateway & {
  upstream: FakeUpstream;
  logs: Record<string, unknown>[];
  get(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
};

/**
 * The gateway over a real port through adapters/node.ts, against the fake upstream, both on
 * 127.0.0.1. Everything started here stops after the test file.
 */
export async function startGateway(
  options: { bindings?: Bindings; upstreamDefaults?: Scenario } = {},
): Promise<TestGateway> {
  const upstream = await startFakeUpstream(options.upstreamDefaults);
  const logs: Record<string, unknown>[] = [];
  const gateway = await startNodeGateway({
    bindings: {
      NODE_ENV: 'test',
      OPENAI_API_KEY: 'sk-test-upstream-key',
      OPENAI_BASE_URL: upstream.baseURL,
      ...options.bindings,
    },
    hostname: '127.0.0.1',
    port: 0,
    writeLog: (line) => logs.push(JSON.parse(line)),
  });
  afterAll(async () => {
    await gateway.shutdown();
    await upstream.close();
  });
  return {
    ...gateway,
    upstream,
    logs,
    get: (path, init) => fetch(`${gateway.url}${path}`, init),
    post: (path, body, init = {}) =>
      fetch(`${gateway.url}${path}`, {
        method: 'POST',
        ...init,
        headers: { 'content-type': 'application/json', ...init.headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}

export const chat = (content = 'Say hello', extra: Record<string, unknown> = {}) => ({
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content },
  ],
  ...extra,
});

// One waitFor for every suite (test/support/wait-for.ts); exported here too, where tests import chat.
export { waitFor } from './wait-for.ts';
