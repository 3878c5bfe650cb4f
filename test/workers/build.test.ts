import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const outdir = await mkdtemp(join(tmpdir(), 'gateway-worker-build-'));
afterAll(() => rm(outdir, { recursive: true, force: true }));

it('bundles the Worker offline with wrangler deploy --dry-run, as `npm run build:workers` does', async () => {
  const wrangler = new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url).pathname;
  await promisify(execFile)(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outdir], {
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
  });
  const bundle = await readFile(join(outdir, 'workers.js'), 'utf8');
  // The Durable Object class wrangler.toml binds is exported from the entry, as wrangler requires
  // (test/access/store-selection.test.ts checks what the bundle leaves out).
  expect(/export\s*\{[^}]*GatewayCounters/.test(bundle)).toBe(true);
});
