import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** What an entry point pulls into its bundle, as esbuild resolves it for that runtime. */
async function bundledFiles(entry: string, platform: 'neutral' | 'node') {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform,
    ...(platform === 'neutral'
      ? {
          conditions: ['workerd', 'worker', 'browser'],
          mainFields: ['module', 'main'],
          external: ['node:*', 'cloudflare:*'],
        }
      : { packages: 'bundle' as const }),
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs);
}

describe('store selection', () => {
  it('keeps ioredis out of the Workers bundle, and puts it in the Node one', async () => {
    const workers = await bundledFiles('adapters/workers.ts', 'neutral');
    expect(workers.some((file) => file.includes('hono-rate-limiter'))).toBe(true);
    expect(workers.filter((file) => /ioredis|redis-stores|node-stores/.test(file))).toEqual([]);
    const node = await bundledFiles('adapters/node.ts', 'node');
    expect(node.some((file) => file.includes('adapters/node/redis-stores.ts'))).toBe(true);
  });
});
