import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { unstable_startWorker } from 'wrangler';
import { type FakeUpstream, type Scenario, startFakeUpstream } from '../../support/fake-upstream.ts';
import { workerdChildren } from './workerd-children.ts';

// Offline and quiet: no telemetry, no error reports, no download of the Request.cf data. Nor the
// developer's own .env or process.env, which wrangler would hand the worker as secrets: every
// binding a test relies on is set below.
Object.assign(process.env, {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: 'false',
  CLOUDFLARE_INCLUDE_PROCESS_ENV: 'false',
});

const WRANGLER_CONFIG = fileURLToPath(new URL('../../../wrangler.toml', import.meta.url));

export type RuntimeMessage = { level: string; message: string };

export type TestWorker = {
  url: string;
  upstream: FakeUpstream;
  /** The gateway's JSON log lines, parsed, in the order workerd printed them. */
  logs: Record<string, unknown>[];
  /** Everything else workerd printed: its own warnings, uncaught errors. */
  runtimeMessages: RuntimeMessage[];
  get(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
};

type StartOptions = {
  vars?: Record<string, string>;
  upstreamDefaults?: Scenario;
  /** Another worker's fake upstream, to count what both sent; the worker that started it stops it. */
  upstream?: FakeUpstream;
  /** Over wrangler.toml's: the worker's name, entry module (from the repository root), bindings. */
  name?: string;
  entrypoint?: string;
  bindings?: Record<string, Record<string, unknown>>;
  /**
   * The dev registry directory through which workers started with the same one reach each other's
   * Durable Objects (`script_name`); wrangler's default is one per user, shared by every session.
   */
  registry?: string;
};

/**
 * adapters/workers.ts in workerd, built and served by wrangler from the project's wrangler.toml as
 * `wrangler dev` does, on 127.0.0.1, with `vars` over the file's [vars]. The fake upstream runs in
 * this process and the worker calls it over a real socket. Both stop after the test file.
 */
export async function startWorker(options: StartOptions = {}): Promise<TestWorker> {
  const ownUpstream = !options.upstream;
  const upstream = options.upstream ?? (await startFakeUpstream(options.upstreamDefaults));
  const logs: Record<string, unknown>[] = [];
  const runtimeMessages: RuntimeMessage[] = [];
  const vars: Record<string, string> = {
    NODE_ENV: 'test',
    OPENAI_API_KEY: 'sk-test-upstream-key',
    OPENAI_BASE_URL: upstream.baseURL,
    LOG_LEVEL: 'info',
    ...options.vars,
  };
  const before = await workerdChildren();
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  // Registered before anything starts, so a start that fails half-way is cleaned up too.
  afterAll(async () => {
    try {
      const disposed = worker?.dispose();
      await Promise.race([disposed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    } finally {
      if (ownUpstream) await upstream.close();
    }
    // dispose() kills both workerd processes (wrangler's proxy and the worker's own); if it did not,
    // kill the ones this file started, and say so.
    const left = (await workerdChildren()).filter((pid) => !before.includes(pid));
    for (const pid of left) process.kill(pid, 'SIGKILL');
    if (left.length) throw new Error(`workerd outlived dispose(): killed ${left.join(', ')}`);
  });
  worker = await unstable_startWorker({
    config: WRANGLER_CONFIG,
    ...(options.name ? { name: options.name } : {}),
    ...(options.entrypoint
      ? { entrypoint: fileURLToPath(new URL(`../../../${options.entrypoint}`, import.meta.url)) }
      : {}),
    bindings: {
      ...Object.fromEntries(
        Object.entries(vars).map(([name, value]) => [
          name,
          { type: /KEY|SECRET/.test(name) ? 'secret_text' : 'plain_text', value },
        ]),
      ),
      ...options.bindings,
    },
    dev: {
      ...(options.registry ? { registry: options.registry } : {}),
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      persist: false,
      logLevel: 'none',
      structuredLogsHandler: ({ level, message }: RuntimeMessage) => {
        const line = parseLogLine(message);
        if (line) logs.push(line);
        else runtimeMessages.push({ level, message });
      },
    },
  });
  await worker.ready;
  const url = (await worker.url).href.replace(/\/$/, '');
  // `ready` means wrangler's proxy is up; the worker itself starts once it is bundled. Requests
  // wait for it, so one request here keeps the start-up out of the first test's time.
  await (await fetch(`${url}/api/health`)).arrayBuffer();

  return {
    url,
    upstream,
    logs,
    runtimeMessages,
    get: (path, init) => fetch(`${url}${path}`, init),
    post: (path, body, init = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        ...init,
        headers: { 'content-type': 'application/json', ...init.headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}

function parseLogLine(message: string): Record<string, unknown> | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    return JSON.parse(message) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
