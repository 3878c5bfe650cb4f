import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { describe, expect, it, onTestFinished } from 'vitest';
import { redisStores } from '../../adapters/node/redis-stores.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { memoryResponseOwners } from '../../src/stores/memory-response-owners.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { startGateway } from '../support/start-gateway.ts';
import { ALICE, BOB, KEY_BINDINGS } from './fixtures.ts';

const redis = await startRedisServer();

describe('response owners shared through Redis', () => {
  it('let the creator read its response on another instance, and nobody else, with a TTL', async () => {
    // A generous REDIS_TIMEOUT_MS: on a busy machine the first commands queue while an instance
    // connects (an outage is the next test's subject).
    const bindings = {
      ...KEY_BINDINGS,
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'owners:',
      REDIS_TIMEOUT_MS: '15000',
      RESPONSE_OWNER_TTL_SECONDS: '600',
    };
    const first = await startGateway({ bindings });
    // The second instance calls the first one's upstream, as two instances behind one key do.
    const second = await startGateway({ bindings: { ...bindings, OPENAI_BASE_URL: first.upstream.baseURL } });
    const on = (gateway: typeof first, key: string) =>
      new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const created = await on(first, ALICE).responses.create({ input: 'Say hello' });
    expect((await on(second, ALICE).responses.retrieve(created.id)).id).toBe(created.id);
    await expect(on(second, BOB).responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      on(second, BOB).responses.create({ input: 'x', previous_response_id: created.id }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const client = new Redis(redis.url);
    onTestFinished(async () => {
      await client.quit();
    });
    expect(await client.get(`owners:response:${created.id}`)).toBe('alice');
    const ttl = await client.ttl(`owners:response:${created.id}`);
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('hand an unsettled response to exactly one of several instances claiming it at once', async () => {
    const config = loadConfig({ REDIS_URL: redis.url, REDIS_PREFIX: 'claims:', REDIS_TIMEOUT_MS: '5000' });
    const instances = [1, 2, 3].map(() => redisStores(config, createLogger({ level: 'silent' })));
    onTestFinished(() => Promise.all(instances.map((stores) => stores.close())).then(() => {}));
    await instances[0]?.responseOwners.remember('resp_claimed', { keyId: 'alice', unsettled: true });
    await instances[0]?.responseOwners.remember('resp_settled', { keyId: 'alice', unsettled: false });
    const claims = await Promise.all(
      instances.flatMap((stores) => [1, 2].map(() => stores.responseOwners.claimUnsettled('resp_claimed'))),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await instances[1]?.responseOwners.claimUnsettled('resp_settled')).toBe(false);
    expect(await instances[2]?.responseOwners.ownerOf('resp_claimed')).toBe('alice');
  });

  it('refuse lookups with a 503 while Redis is down, whatever REDIS_FAILURE_POLICY says', async () => {
    const gateway = await startGateway({
      bindings: {
        ...KEY_BINDINGS,
        REDIS_URL: redis.url,
        REDIS_FAILURE_POLICY: 'open',
        REDIS_TIMEOUT_MS: '300',
      },
    });
    const alice = new OpenAI({ apiKey: ALICE, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const created = await alice.responses.create({ input: 'x' });
    redis.pause();
    try {
      await expect(alice.responses.retrieve(created.id)).rejects.toMatchObject({
        status: 503,
        code: 'owner_store_unavailable',
      });
    } finally {
      redis.resume();
    }
  });
});

describe('response owners in memory', () => {
  it('hand out an unsettled response once, and forget the owner once its TTL has passed', async () => {
    const owners = memoryResponseOwners(1);
    await owners.remember('resp_a', { keyId: 'alice', unsettled: true });
    expect(await owners.ownerOf('resp_a')).toBe('alice');
    expect(await owners.ownerOf('resp_b')).toBeNull();
    expect(await owners.claimUnsettled('resp_a')).toBe(true);
    expect(await owners.claimUnsettled('resp_a')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await owners.ownerOf('resp_a')).toBeNull();
  });
});
