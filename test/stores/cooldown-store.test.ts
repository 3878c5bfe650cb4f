import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Item, numberOf } from '../../adapters/node/dynamodb-client.ts';
import { dynamoDbStores } from '../../adapters/node/dynamodb-stores.ts';
import { redisStores } from '../../adapters/node/redis-stores.ts';
import { workersStores } from '../../adapters/workers/workers-stores.ts';
import { type Bindings, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { memoryCooldownStore } from '../../src/stores/memory-cooldown-store.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { packagedTemplate, startDynalite, tableOf } from '../dynamodb/dynalite-server.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { freePort } from '../support/server-process.ts';
import { localCounters } from '../workers/support/local-counters.ts';
import { cooldownContract } from './cooldown-contract.ts';

/**
 * The cooldown contract (cooldown-contract.ts) against every store: memory, a real redis-server,
 * dynalite with the table serverless.yml deploys, and the GatewayCounters object on Node's SQLite
 * behind the Workers store client (in workerd itself: test/workers/cooldown-store.test.ts).
 */
const [redis, dynalite] = await Promise.all([
  startRedisServer(),
  packagedTemplate().then((template) => startDynalite(tableOf(template))),
]);
const log = createLogger({ level: 'silent', write: () => {} });

const opened: Stores[] = [];
afterAll(() => Promise.all(opened.map((stores) => stores.close())));
// A generous timeout: the suite checks behaviour, not speed, on a machine that may be busy.
const open = (build: (config: ReturnType<typeof loadConfig>) => Stores, bindings: Bindings) => {
  const stores = build(loadConfig({ REDIS_TIMEOUT_MS: '5000', ...bindings }));
  opened.push(stores);
  return stores.cooldowns;
};
const nowhere = `http://127.0.0.1:${await freePort()}`;

const REDIS = { REDIS_URL: redis.url, REDIS_PREFIX: 'cooldown-test:' };
const redisStore = (bindings: Bindings = {}) =>
  open((config) => redisStores(config, log), { ...REDIS, ...bindings });
const dynamoDbStore = (bindings: Bindings = {}) =>
  open((config) => dynamoDbStores(config, log), { ...dynalite.bindings, ...bindings });

const memory = memoryCooldownStore();
cooldownContract('memory', { open: () => memory });
cooldownContract('Redis', {
  open: () => redisStore(),
  unreachable: () => redisStore({ REDIS_URL: nowhere.replace('http', 'redis'), REDIS_TIMEOUT_MS: '300' }),
});
cooldownContract('DynamoDB', {
  open: () => dynamoDbStore(),
  unreachable: () => dynamoDbStore({ DYNAMODB_ENDPOINT: nowhere, REDIS_TIMEOUT_MS: '300' }),
});

const objects = localCounters();
const broken = localCounters();
broken.control.failWith = async () => {
  throw new Error('Durable Object is overloaded');
};
const objectStore = (namespace: typeof objects.namespace) =>
  workersStores(namespace)(loadConfig({ REDIS_TIMEOUT_MS: '5000' }), log).cooldowns;
cooldownContract('the GatewayCounters object (Node SQLite)', {
  open: () => objectStore(objects.namespace),
  unreachable: () => objectStore(broken.namespace),
});

describe('what the shared cooldown stores leave in their backend', () => {
  it('Redis: a hash under REDIS_PREFIX that expires with its record, and a probe key with its ttl', async () => {
    const client = new Redis(redis.url);
    try {
      const store = redisStore();
      const name = `keys-${Date.now()}`;
      const health = await store.failed(name, { threshold: 1, cooldownMs: 60_000 });
      expect(await client.hgetall(`cooldown-test:cooldown:${name}`)).toEqual({
        failures: '1',
        coolUntil: String(health.coolUntil),
      });
      // healthTtlMs: to the end of the cooldown, then one more cooldown.
      const ttl = await client.pttl(`cooldown-test:cooldown:${name}`);
      expect(ttl).toBeGreaterThan(health.coolUntil + 60_000 - Date.now() - 5_000);
      expect(ttl).toBeLessThanOrEqual(health.coolUntil + 60_000 - Date.now() + 1_000);

      expect(await store.claimProbe(name, 30_000)).toBe(true);
      const probeTtl = await client.pttl(`cooldown-test:cooldown-probe:${name}`);
      expect(probeTtl).toBeGreaterThan(25_000);
      expect(probeTtl).toBeLessThanOrEqual(30_000);
      await store.succeeded(name);
      expect(await client.keys(`cooldown-test:cooldown*${name}`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('DynamoDB: items with expiresAt for the TTL; one past its end that TTL has not deleted is ignored', async () => {
    const store = dynamoDbStore();
    const name = `items-${Date.now()}`;
    const health = await store.failed(name, { threshold: 1, cooldownMs: 60_000 });
    const get = async (pk: string, sk: string) =>
      (await dynalite.call<{ Item?: Item }>('GetItem', { Key: { pk: { S: pk }, sk: { S: sk } } })).Item;
    const record = await get('cooldowns', name);
    expect(numberOf(record, 'coolUntil')).toBe(health.coolUntil);
    expect(numberOf(record, 'liveUntil')).toBe(health.coolUntil + 60_000);
    expect(numberOf(record, 'expiresAt')).toBe(Math.ceil((health.coolUntil + 60_000) / 1000));
    expect(await store.claimProbe(name, 30_000)).toBe(true);
    const claim = await get(`cooldown-probe#${name}`, 'claim');
    expect(numberOf(claim, 'expiresAt')).toBe(Math.ceil(numberOf(claim, 'claimedUntil') / 1000));

    // A record and a claim whose end has passed, as TTL leaves them until it gets round to them.
    const stale = `stale-${Date.now()}`;
    const past = Date.now() - 1_000;
    await dynalite.call('PutItem', {
      Item: {
        pk: { S: 'cooldowns' },
        sk: { S: stale },
        failures: { N: '7' },
        coolUntil: { N: String(past - 60_000) },
        liveUntil: { N: String(past) },
        version: { N: '3' },
        expiresAt: { N: String(Math.ceil(past / 1000)) },
      },
    });
    await dynalite.call('PutItem', {
      Item: {
        pk: { S: `cooldown-probe#${stale}` },
        sk: { S: 'claim' },
        claimedUntil: { N: String(past) },
        expiresAt: { N: String(Math.ceil(past / 1000)) },
      },
    });
    expect(await store.health([stale])).toEqual(new Map());
    expect(await store.claimProbe(stale, 30_000)).toBe(true);
    // The count starts again, and the stale item's version does not stand in the way.
    expect(await store.failed(stale, { threshold: 2, cooldownMs: 60_000 })).toEqual({
      failures: 1,
      coolUntil: 0,
    });
    expect(numberOf(await get('cooldowns', stale), 'version')).toBe(4);
  });

  it('the Durable Object: every upstream in one object named `cooldowns`, its alarm at the last end', async () => {
    const local = localCounters();
    const store = objectStore(local.namespace);
    const before = Date.now();
    await store.failed('a', { threshold: 1, cooldownMs: 60_000 });
    await store.failed('b', { threshold: 5, cooldownMs: 1_000 });
    await store.claimProbe('a', 1_000);
    const { storage } = local.object('cooldowns');
    expect([storage.count('cooldowns'), storage.count('probes'), storage.count('hits')]).toEqual([2, 1, 0]);
    expect(storage.alarm).toBeGreaterThanOrEqual(before + 120_000);
    expect(storage.alarm).toBeLessThanOrEqual(Date.now() + 120_000);
  });
});
