import { createApp } from '../../src/app.ts';
import { type Bindings, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';

/**
 * The app as an adapter builds it, for behaviour that needs no socket: requests go through
 * `app.request()`, as Hono's own tests do. Mock mode unless the bindings name an upstream; log
 * lines are kept, parsed. Real sockets stay where they are the point (aborts, framing, shutdown).
 */
export function createTestApp(bindings: Bindings = {}) {
  const logs: Record<string, unknown>[] = [];
  const config = loadConfig({ NODE_ENV: 'test', MOCK_TOKEN_DELAY_MS: '0', ...bindings });
  const log = createLogger({ level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const app = createApp({ config, log });
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
