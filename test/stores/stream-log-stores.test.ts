import { afterAll, describe, expect, it } from 'vitest';
import { dynamoDbStores } from '../../adapters/node/dynamodb-stores.ts';
import { redisStores } from '../../adapters/node/redis-stores.ts';
import { type Bindings, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { memoryStores } from '../../src/stores/memory-stores.ts';
import type { Stores } from '../../src/stores/stores.ts';
import type { StreamLogStore } from '../../src/stores/stream-log-store.ts';
import { packagedTemplate, startDynalite, tableOf } from '../dynamodb/dynalite-server.ts';
import { startRedisServer } from '../support/redis-server.ts';

// The same contract for every backend that runs in Node (the Durable Object's is in workerd:
// test/workers/resumable-streams.test.ts).
const [redis, dynalite] = await Promise.all([
  startRedisServer(),
  packagedTemplate().then((template) => startDynalite(tableOf(template))),
]);
const log = createLogger({ level: 'silent' });
const opened: Stores[] = [];
const open = (make: (bindings: Bindings) => Stores) => (bindings: Bindings) => {
  const stores = make(bindings);
  opened.push(stores);
  return stores.streamLogs as StreamLogStore;
};
const backends: [string, (bindings: Bindings) => StreamLogStore][] = [
  ['memory', open((bindings) => memoryStores(loadConfig(bindings)))],
  [
    'redis',
    open((bindings) =>
      redisStores(loadConfig({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '5000', ...bindings }), log),
    ),
  ],
  ['dynamodb', open((bindings) => dynamoDbStores(loadConfig({ ...dynalite.bindings, ...bindings }), log))],
];

let unique = 0;
const id = () => `log-${Date.now()}-${unique++}`;

describe.each(backends)('the %s stream log', (_name, make) => {
  it('keeps batches in order and reads after any position, inside a batch too', async () => {
    const store = make({ REDIS_PREFIX: `order${unique++}:` });
    const stream = id();
    expect(await store.open(stream)).toBe('created');
    expect(await store.open(stream)).toBe('exists');
    await store.append(stream, 1, ['a\n\n', 'b\n\n']);
    await store.append(stream, 3, ['c\n\n']);
    expect(await store.read(stream, 0)).toEqual({ frames: ['a\n\n', 'b\n\n', 'c\n\n'], ended: false });
    expect(await store.read(stream, 1)).toEqual({ frames: ['b\n\n', 'c\n\n'], ended: false });
    expect(await store.read(stream, 3)).toEqual({ frames: [], ended: false });
    await store.end(stream);
    expect(await store.read(stream, 2)).toEqual({ frames: ['c\n\n'], ended: true });
    expect(await store.lastRead(stream)).toBeGreaterThan(Date.now() - 60_000);
    await store.remove(stream);
    expect(await store.read(stream, 0)).toBeNull();
    expect(await store.read(id(), 0)).toBeNull();
  });

  it('refuses a log past STREAM_RESUME_MAX_STREAMS', async () => {
    // A prefix (Redis) or a window (DynamoDB) of its own, so other tests' logs do not count here.
    const store = make({
      STREAM_RESUME_MAX_STREAMS: '2',
      REDIS_PREFIX: `bound${unique++}:`,
      STREAM_RESUME_TTL_SECONDS: String(1_000_000 + unique),
    });
    expect(await store.open(id())).toBe('created');
    expect(await store.open(id())).toBe('created');
    expect(await store.open(id())).toBe('full');
  });

  it('wakes or times out a wait, then the read sees the append', async () => {
    const store = make({ REDIS_PREFIX: `wait${unique++}:` });
    const stream = id();
    await store.open(stream);
    const waited = store.wait(stream, 0, 2_000);
    await store.append(stream, 1, ['x\n\n']);
    await waited;
    expect((await store.read(stream, 0))?.frames).toEqual(['x\n\n']);
  });
});

afterAll(async () => {
  for (const stores of opened) await stores.close();
});
