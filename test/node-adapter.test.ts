import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeUpstream } from './support/fake-upstream.ts';
import { startForwardProxy } from './support/forward-proxy.ts';
import { readSse, type SseEvent, sseEvents } from './support/sse.ts';
import { chat, startGateway, waitFor } from './support/start-gateway.ts';

const upstream = await startFakeUpstream();
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await upstream.close();
});

/** adapters/node.ts as its own process, as `npm start` runs it. */
async function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['adapters/node.ts'], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseURL,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (data) => {
    stdout += data;
  });
  child.stderr?.on('data', (data) => {
    stderr += data;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string | undefined>((resolve) => {
    const check = () => {
      const match = stdout.match(/"event":"listening","url":"([^"]+)"/);
      if (match) resolve(match[1]);
    };
    child.stdout?.on('data', check);
    void exited.then(() => resolve(undefined));
  });
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/api/completions/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('adapters/node.ts', () => {
  it('refuses to start on a bad variable, naming it', async () => {
    const { url, exited, output } = await startProcess({ REQUEST_TIMEOUT: 'soon' });
    expect(url).toBeUndefined();
    expect(await exited).toBe(1);
    expect(output().stderr).toContain('REQUEST_TIMEOUT');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s stops accepting connections, lets an open stream finish, then exits 0',
    async (signal) => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      upstream.enqueue({ afterChunks: 2, holdUntil: held });
      const { child, url, exited, output } = await startProcess({ SHUTDOWN_TIMEOUT_MS: '15000' });
      const frames = sseEvents(await post(url!, chat()));
      // The stream is open: its first frame is here, and the upstream holds the rest.
      expect((await frames.next()).value?.data).toBe(JSON.stringify({ content: 'Hello ' }));
      child.kill(signal);
      await waitFor(() => output().stdout.includes(`"event":"shutdown","signal":"${signal}"`));
      // Polled, not slept on: the listening socket closes as the shutdown begins.
      await waitFor(() =>
        fetch(`${url}/api/health`).then(
          () => false,
          () => true,
        ),
      );
      expect(child.exitCode).toBeNull();
      release();
      const rest: SseEvent[] = [];
      for await (const event of frames) rest.push(event);
      expect(rest.at(-1)?.data).toBe('[DONE]');
      expect(await exited).toBe(0);
    },
  );

  it('ends streams that outlast SHUTDOWN_TIMEOUT_MS with an error event, and aborts their upstream', async () => {
    // The upstream holds the stream open for good: only the shutdown can end it.
    upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
    const { child, url, exited } = await startProcess({ SHUTDOWN_TIMEOUT_MS: '300' });
    const frames = sseEvents(await post(url!, chat()));
    await frames.next();
    const upstreamRequest = upstream.requests.at(-1);
    child.kill('SIGTERM');
    const rest: SseEvent[] = [];
    for await (const event of frames) rest.push(event);
    const last = rest.at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '').error.code).toBe('server_shutting_down');
    expect(await exited).toBe(0);
    await upstreamRequest?.done;
    expect(upstreamRequest?.aborted).toBe(true);
  });
});

describe('the upstream fetch the Node adapter hands the SDK', () => {
  it('goes through HTTP_PROXY when Node is told to use the environment proxy (NODE_USE_ENV_PROXY=1)', async () => {
    const proxy = await startForwardProxy();
    try {
      const { child, url } = await startProcess({
        NODE_USE_ENV_PROXY: '1',
        HTTP_PROXY: proxy.url,
      });
      const response = await fetch(`${url}/api/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chat()),
      });
      expect(response.status).toBe(200);
      expect(proxy.proxied).toEqual([`POST ${upstream.baseURL}/chat/completions`]);
      child.kill('SIGTERM');
    } finally {
      await proxy.close();
    }
  });

  it('keeps the upstream connection alive between requests', async () => {
    const gateway = await startGateway();
    for (let i = 0; i < 3; i++) await gateway.post('/api/completions', chat());
    await readSse(await gateway.post('/api/completions/stream', chat()));
    const ports = gateway.upstream.requests.map((request) => request.remotePort);
    expect(ports).toHaveLength(4);
    expect(new Set(ports).size).toBe(1);
  });
});

describe('client connections', () => {
  it('keeps an idle keep-alive connection past 60 s load-balancer idle timeouts (KEEP_ALIVE_TIMEOUT_MS)', async () => {
    const gateway = await startGateway();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ keepAlive: unknown; reused: boolean }>((resolve, reject) => {
        const request = http.get(`${gateway.url}/api/health`, { agent }, (response) => {
          response.resume();
          response.on('end', () =>
            resolve({ keepAlive: response.headers['keep-alive'], reused: request.reusedSocket }),
          );
        });
        request.on('error', reject);
      });
    try {
      const first = await get();
      expect(first).toEqual({ keepAlive: 'timeout=65', reused: false });
      // Past Node's own default (5 s), after which a load balancer's next request would meet a closed socket.
      await sleep(5_500);
      expect(await get()).toEqual({ keepAlive: 'timeout=65', reused: true });
    } finally {
      agent.destroy();
    }
  }, 15_000);
});
