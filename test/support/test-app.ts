import { afterAll } from 'vitest';
import { type AppDeps, createApp } from '../../src/app.ts';
import { type Bindings, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { type FakeUpstream, type Scenario, startFakeUpstream } from './fake-upstream.ts';

export type TestApp = ReturnType<typeof createTestApp>;

/**
 * The app as an adapter builds it, for behaviour that needs no socket: requests go through
 * `app.request()`, as Hono's own tests do. Mock mode unless the bindings name an upstream; log
 * lines are kept, parsed. `deps` replaces what an adapter would hand createApp (stores, the
 * upstream fetch, ...). Real sockets stay where they are the point (aborts, framing, shutdown).
 */
export function createTestApp(bindings: Bindings = {}, deps: Omit<AppDeps, 'config' | 'log'> = {}) {
  const logs: Record<string, unknown>[] = [];
  const config = loadConfig({ NODE_ENV: 'test', MOCK_TOKEN_DELAY_MS: '0', ...bindings });
  const log = createLogger({ level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const app = createApp({ config, log, ...deps });
  return {
    app,
    logs,
    request: (path: string, init?: RequestInit) => app.request(path, init),
    post: (path: string, body: unknown, init: RequestInit = {}) =>
      app.request(path, {
        method: 'POST',
        ...init,
        headers: { 'content-type': 'application/json', ...init.headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}

/**
 * createTestApp in front of the fake upstream (a real HTTP server on 127.0.0.1, which stops after
 * the test file), with what it was sent.
 */
export async function createUpstreamTestApp(
  options: { bindings?: Bindings; upstreamDefaults?: Scenario } = {},
): Promise<TestApp & { upstream: FakeUpstream }> {
  const upstream = await startFakeUpstream(options.upstreamDefaults);
  afterAll(() => upstream.close());
  const testApp = createTestApp({
    OPENAI_API_KEY: 'sk-test-upstream-key',
    OPENAI_BASE_URL: upstream.baseURL,
    ...options.bindings,
  });
  return { ...testApp, upstream };
}
