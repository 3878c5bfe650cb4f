import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';

const root = new URL('../../', import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), 'gateway-store-selection-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the Workers bundle, as `npm run build:workers` makes it', async () => {
  // wrangler itself, on the project's wrangler.toml, offline: the bundle that would be deployed.
  const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
  const outdir = join(dir, 'worker');
  await promisify(execFile)(
    process.execPath,
    [wrangler, 'deploy', '--dry-run', '--outdir', outdir, '--metafile', join(dir, 'worker-meta.json')],
    {
      cwd: root,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      },
    },
  );
  const meta = JSON.parse(await readFile(join(dir, 'worker-meta.json'), 'utf8')) as {
    inputs: Record<string, unknown>;
  };
  const inputs = Object.keys(meta.inputs);

  it('leaves ioredis and the Node stores out, and has the Durable Object stores in', () => {
    expect(inputs.some((file) => file.endsWith('adapters/workers/workers-stores.ts'))).toBe(true);
    expect(inputs.some((file) => file.includes('hono-rate-limiter'))).toBe(true);
    expect(inputs.filter((file) => /ioredis|redis-stores|node-stores|adapters\/node\//.test(file))).toEqual(
      [],
    );
  });

  it('exports the Durable Object class wrangler.toml binds, as wrangler requires', async () => {
    const bundle = await readFile(join(outdir, 'workers.js'), 'utf8');
    expect(/export\s*\{[^}]*GatewayCounters/.test(bundle)).toBe(true);
  });
});

/** The modules a real `node adapters/node.ts` process loaded by the time it served a request. */
async function modulesLoadedByNode(env: Record<string, string>): Promise<string[]> {
  const file = join(dir, `node-modules-${Object.keys(env).join('-') || 'memory'}.txt`);
  const child = spawn(
    process.execPath,
    ['--import', './test/support/record-loaded-modules.ts', 'adapters/node.ts'],
    {
      cwd: root,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOADED_MODULES_FILE: file, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  let stdout = '';
  child.stdout.on('data', (data) => {
    stdout += data;
  });
  try {
    const url = await waitFor(() => stdout.match(/"event":"listening","url":"([^"]+)"/)?.[1], 20_000);
    // A completion, so what is loaded lazily, on first use, is loaded too.
    const response = await fetch(`${url}/api/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  expect(await exited).toEqual([0, null]);
  return (await readFile(file, 'utf8')).split('\n');
}

describe('the Node adapter', () => {
  it('loads ioredis and the Redis stores only when REDIS_URL is set', async () => {
    const redisModules = (loaded: string[]) =>
      loaded.filter((url) => /\/node_modules\/ioredis\/|\/adapters\/node\/redis-stores\.ts$/.test(url));
    // Mock mode (no OPENAI_API_KEY): nothing but the gateway itself in the process.
    const inMemory = await modulesLoadedByNode({});
    expect(inMemory.some((url) => url.endsWith('/adapters/node.ts'))).toBe(true);
    expect(redisModules(inMemory)).toEqual([]);
    // Nothing listens on port 9: the stores load, fail open by the default policy, and say so.
    const withRedis = await modulesLoadedByNode({ REDIS_URL: 'redis://127.0.0.1:9' });
    expect(withRedis.some((url) => url.endsWith('/adapters/node/redis-stores.ts'))).toBe(true);
    expect(withRedis.some((url) => url.includes('/node_modules/ioredis/'))).toBe(true);
  });
});
