import { readFile } from 'node:fs/promises';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { DEFAULT_REPLY } from './support/fake-upstream.ts';
import { startGateway } from './support/start-gateway.ts';

const gateway = await startGateway({ upstreamDefaults: { chunkDelayMs: 5 } });

it("runs the brief's browser client example unchanged and logs every delta", async () => {
  const example = await readFile(new URL('./fixtures/brief-client-example.js', import.meta.url), 'utf8');
  const source = example.replace('https://your-api-url', gateway.url);
  expect(source).not.toBe(example);
  const logged: unknown[] = [];
  const errors: unknown[] = [];
  const run = runInNewContext(source, {
    fetch,
    TextDecoder,
    JSON,
    console: {
      log: (value: unknown) => logged.push(value),
      error: (...args: unknown[]) => errors.push(args),
    },
  }) as Promise<void>;
  await run;
  expect(errors).toEqual([]);
  expect(logged.join('')).toBe(DEFAULT_REPLY);
  expect(logged).toHaveLength(DEFAULT_REPLY.split(' ').length);
  expect(gateway.upstream.requests.at(-1)?.body?.model).toBe('gpt-4-turbo-preview');
});
