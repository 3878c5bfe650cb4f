import { describe, expect, it } from 'vitest';
import { type Item, numberOf } from '../../adapters/node/dynamodb-client.ts';
import { dynamoDbStores } from '../../adapters/node/dynamodb-stores.ts';
import { createApp } from '../../src/app.ts';
import { type Bindings, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { StoreUnavailableError } from '../../src/stores/stores.ts';
import { HOUR_MS } from '../../src/usage/usage-store.ts';
import { packagedTemplate, startDynalite, tableOf, until } from './dynalite-server.ts';

// The table serverless.yml deploys, packaged once for this file.
const dynalite = await startDynalite(tableOf(await packagedTemplate()));

/** A store over the table as one instance would open it, with its log lines collected. */
function instance(bindings: Bindings = {}) {
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', write: (line) => logs.push(JSON.parse(line)) });
  const config = loadConfig({ NODE_ENV: 'test', ...dynalite.bindings, ...bindings });
  const stores = dynamoDbStores(config, log);
  return { config, log, logs, stores };
}

const item = async (pk: string, sk: string) =>
  (await dynalite.call<{ Item?: Item }>('GetItem', { Key: { pk: { S: pk }, sk: { S: sk } } })).Item;

let unique = 0;
const client = () => `key:client-${Date.now()}-${unique++}`;
const nowSeconds = () => Date.now() / 1000;

describe('DynamoDB stores against a DynamoDB-compatible server', () => {
  it('counts request hits in a window that starts at the first one, with a TTL', async () => {
    const { stores } = instance();
    const key = client();
    stores.requests.init?.({ windowMs: 60_000 } as never);
    const before = Date.now();
    const first = await stores.requests.increment(key);
    expect(first.totalHits).toBe(1);
    expect(first.resetTime?.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    expect((await stores.requests.increment(key)).totalHits).toBe(2);
    expect(await stores.requests.get?.(key)).toEqual({ totalHits: 2, resetTime: first.resetTime });

    const stored = await item(`requests#${key}`, 'window');
    expect(numberOf(stored, 'hits')).toBe(2);
    // DynamoDB's TTL reads epoch seconds: a minute after the window ends.
    expect(numberOf(stored, 'expiresAt')).toBe(Math.ceil((first.resetTime?.getTime() ?? 0) / 1000) + 60);

    await stores.requests.decrement(key);
    expect((await stores.requests.get?.(key))?.totalHits).toBe(1);
    await stores.requests.resetKey(key);
    expect(await stores.requests.get?.(key)).toBeUndefined();
    expect(await item(`requests#${key}`, 'window')).toBeUndefined();
    // Decrementing a window that does not exist changes nothing.
    await stores.requests.decrement(key);
    expect(await item(`requests#${key}`, 'window')).toBeUndefined();
  });

  it('starts a new window once the last one ended', async () => {
    const { stores } = instance();
    const key = client();
    stores.requests.init?.({ windowMs: 800 } as never);
    await stores.requests.increment(key);
    expect((await stores.requests.increment(key)).totalHits).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 850));
    expect(await stores.requests.get?.(key)).toBeUndefined();
    expect((await stores.requests.increment(key)).totalHits).toBe(1);
  });

  it('hands out every count exactly once when two instances hit one client at once, across a window restart', async () => {
    // A generous REDIS_TIMEOUT_MS: a burst's conditional writes queue on a busy machine, and this is
    // about exact counts, not the timeout (the outage tests below hold that).
    const [a, b] = [instance({ REDIS_TIMEOUT_MS: '10000' }), instance({ REDIS_TIMEOUT_MS: '10000' })];
    const key = client();
    for (const { stores } of [a, b]) stores.requests.init?.({ windowMs: 60_000 } as never);
    const hits = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).stores.requests.increment(key)),
    );
    expect(hits.map((hit) => hit.totalHits).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    // One window, whoever started it.
    expect(new Set(hits.map((hit) => hit.resetTime?.getTime())).size).toBe(1);

    // Both see the window end together and race to start the next: one starts it, the other adds.
    const fresh = client();
    // Long enough that the burst below never outlasts the window it starts, even on a busy machine.
    for (const { stores } of [a, b]) stores.requests.init?.({ windowMs: 1_500 } as never);
    await a.stores.requests.increment(fresh);
    await new Promise((resolve) => setTimeout(resolve, 1_550));
    const next = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).stores.requests.increment(fresh)),
    );
    expect(next.map((hit) => hit.totalHits).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });

  it('adds token charges from every instance into one clock-aligned window, with a TTL', async () => {
    const windowMs = 3_600_000;
    const [a, b] = [
      instance({ TOKEN_LIMIT_WINDOW_MS: String(windowMs) }),
      instance({ TOKEN_LIMIT_WINDOW_MS: String(windowMs) }),
    ];
    const key = client();
    expect((await a.stores.tokens.used(key)).used).toBe(0);
    await Promise.all([
      a.stores.tokens.charge(key, 5),
      b.stores.tokens.charge(key, 7),
      a.stores.tokens.charge(key, 30),
    ]);
    const window = await b.stores.tokens.used(key);
    expect(window.used).toBe(42);
    expect(window.resetMs).toBeGreaterThan(0);
    expect(window.resetMs).toBeLessThanOrEqual(windowMs);

    const number = Math.floor(Date.now() / windowMs);
    const stored = await item(`tokens#${key}`, String(number));
    expect(numberOf(stored, 'tokens')).toBe(42);
    expect(numberOf(stored, 'expiresAt')).toBe(((number + 1) * windowMs) / 1000 + 60);
  });

  it('records usage per hour, key and model from every instance, and sums a range', async () => {
    const [a, b] = [instance(), instance()];
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const keyId = `usage-${Date.now()}`;
    const record = (at: number, model: string, prompt: number, completion: number, estimated = false) => ({
      time: at,
      keyId,
      model,
      promptTokens: prompt,
      completionTokens: completion,
      estimated,
    });
    await Promise.all([
      a.stores.usage.record(record(hour + 1_000, 'gpt-4o-mini', 10, 5)),
      b.stores.usage.record(record(hour + 2_000, 'gpt-4o-mini', 20, 7, true)),
      a.stores.usage.record(record(hour - HOUR_MS + 1, 'gpt-4.1', 100, 50)),
      // Three days back: a range that spans several day partitions.
      b.stores.usage.record(record(hour - 3 * 24 * HOUR_MS, 'gpt-4.1', 1, 1)),
      // A model name only a client could invent, with the separators the key uses.
      b.stores.usage.record(record(hour + 3_000, 'odd#model\u0000~name', 2, 2)),
    ]);
    const totals = await a.stores.usage.totals(hour - 4 * 24 * HOUR_MS, hour + HOUR_MS);
    expect(totals.by_key[keyId]).toEqual({
      requests: 5,
      prompt_tokens: 133,
      completion_tokens: 65,
      total_tokens: 198,
      estimated_requests: 1,
    });
    expect(totals.by_model['odd#model\u0000~name']?.requests).toBe(1);
    // Only the hours asked for.
    const lastHour = await b.stores.usage.totals(hour, hour + HOUR_MS);
    expect(lastHour.by_key[keyId]?.requests).toBe(3);
    expect(lastHour.from).toBe(new Date(hour).toISOString());

    const day = new Date(hour).toISOString().slice(0, 10);
    const { Items: items = [] } = await dynalite.call<{ Items?: Item[] }>('Query', {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `usage#${day}` } },
    });
    const mine = items.filter((entry) => entry.keyId && 'S' in entry.keyId && entry.keyId.S === keyId);
    expect(mine.length).toBeGreaterThan(0);
    for (const entry of mine) {
      // Kept 35 days after its hour, as in Redis.
      expect(numberOf(entry, 'expiresAt')).toBeGreaterThan(nowSeconds() + 34 * 24 * 3600);
    }
  });

  it('leaves out usage past its expiry that TTL has not deleted yet', async () => {
    const { stores } = instance();
    const keyId = `expired-${Date.now()}`;
    const longAgo = Date.now() - 40 * 24 * HOUR_MS;
    await stores.usage.record({
      time: longAgo,
      keyId,
      model: 'm',
      promptTokens: 1,
      completionTokens: 1,
      estimated: false,
    });
    const totals = await stores.usage.totals(longAgo - HOUR_MS, longAgo + HOUR_MS);
    expect(totals.by_key[keyId]).toBeUndefined();
  });

  it('fails as unavailable while the server is down, logs the outage once, and recovers by itself', async () => {
    const { stores, logs } = instance({ REDIS_TIMEOUT_MS: '300' });
    const key = client();
    await stores.tokens.charge(key, 1);
    await dynalite.kill();
    await expect(stores.tokens.used(key)).rejects.toBeInstanceOf(StoreUnavailableError);
    // While it is down, requests fail at once instead of each waiting for it.
    const started = Date.now();
    for (let i = 0; i < 5; i++)
      await expect(stores.requests.increment(key)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(250);
    expect(logs.filter((line) => line.event === 'limit_store_unavailable')).toEqual([
      expect.objectContaining({ level: 'error', store: 'dynamodb', policy: 'open' }),
    ]);

    await dynalite.restart();
    await until(() =>
      stores.tokens.used(key).then(
        () => true,
        () => false,
      ),
    );
    expect(logs.filter((line) => line.event === 'limit_store_unavailable')).toHaveLength(1);
    expect(logs.filter((line) => line.event === 'limit_store_recovered')).toEqual([
      expect.objectContaining({ store: 'dynamodb', policy: 'open' }),
    ]);
  });

  it('serves without limits under REDIS_FAILURE_POLICY=open and refuses with 503 under closed, then limits again', async () => {
    const make = (policy: string) => {
      const { config, log, stores } = instance({
        REDIS_FAILURE_POLICY: policy,
        RATE_LIMIT_MAX: '100',
        REDIS_TIMEOUT_MS: '300',
      });
      return createApp({ config, log, stores });
    };
    const open = make('open');
    const closed = make('closed');
    const health = async (app: ReturnType<typeof make>) => (await app.request('/v1/models')).status;
    expect([await health(open), await health(closed)]).toEqual([200, 200]);
    await dynalite.kill();
    expect(await health(open)).toBe(200);
    const refused = await closed.request('/v1/models');
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('limits_unavailable');
    await dynalite.restart();
    await until(async () => (await health(closed)) === 200);
    const answer = await closed.request('/v1/models');
    expect(answer.headers.get('ratelimit-limit')).toBe('100');
  });
});

describe('DYNAMODB_TABLE in the configuration', () => {
  it('refuses REDIS_URL and DYNAMODB_TABLE together, naming both', () => {
    expect(() => loadConfig({ ...dynalite.bindings, REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /REDIS_URL.*DYNAMODB_TABLE/,
    );
  });

  it('needs the region and credentials with it, naming each one missing', () => {
    expect(() => loadConfig({ DYNAMODB_TABLE: 'gateway' })).toThrow(
      /AWS_REGION: must be set with DYNAMODB_TABLE[\s\S]*AWS_ACCESS_KEY_ID[\s\S]*AWS_SECRET_ACCESS_KEY/,
    );
  });

  it('never echoes the secret key or session token of a bad configuration', () => {
    let message = '';
    try {
      loadConfig({ ...dynalite.bindings, AWS_REGION: '', REDIS_URL: 'redis://127.0.0.1:6379' });
    } catch (error) {
      message = String(error);
    }
    expect(message).toContain('AWS_REGION');
    expect(message).not.toContain('test-only-secret');
    expect(message).not.toContain('test-only-session');
  });
});
