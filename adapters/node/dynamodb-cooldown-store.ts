import { HEALTHY, healthTtlMs, nextHealth } from '../../src/stores/memory-cooldown-store.ts';
import type { CooldownRule, CooldownStore, UpstreamHealth } from '../../src/stores/stores.ts';
import {
  conditionFailed,
  type DynamoDbCall,
  type Item,
  num,
  numberOf,
  type Run,
  str,
} from './dynamodb-client.ts';

/** Every upstream's record in one partition, so health() is one Query (the function may Query). */
const HEALTH_PK = 'cooldowns';
// A round is lost only to another instance's write that succeeded, so ten failures of one upstream
// reported at the same moment are all counted; past that, the last ones may give up (their callers
// get a StoreUnavailableError, and those failures are not counted).
const ATTEMPTS = 10;

const seconds = (ms: number) => Math.ceil(ms / 1000);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Upstream cooldowns every instance shares, in the stores' one table:
 * - `pk = cooldowns`, `sk = <upstream>`: `failures`, `coolUntil` and `liveUntil` (epoch ms, the
 *   record's end: healthTtlMs), `version`;
 * - `pk = cooldown-probe#<upstream>`, `sk = claim`: `claimedUntil` (epoch ms).
 * Each carries `expiresAt` (epoch seconds) for the table's TTL; reads ignore an item past its end,
 * which TTL may delete days later. The calls are those the deployed policy allows (serverless.yml):
 * GetItem, UpdateItem, DeleteItem, Query.
 */
export function dynamoDbCooldownStore(call: DynamoDbCall, run: Run): CooldownStore {
  const healthKey = (name: string) => ({ pk: str(HEALTH_PK), sk: str(name) });
  const probeKey = (name: string) => ({ pk: str(`cooldown-probe#${name}`), sk: str('claim') });
  const releaseProbe = (name: string) => call('DeleteItem', { Key: probeKey(name) });
  return {
    health: (names) =>
      run(async () => {
        const found = new Map<string, UpstreamHealth>();
        if (!names.length) return found;
        const wanted = new Set(names);
        const now = Date.now();
        for (const item of await queryAll(call)) {
          const name = item.sk && 'S' in item.sk ? item.sk.S : '';
          if (wanted.has(name) && numberOf(item, 'liveUntil') > now) found.set(name, healthOf(item));
        }
        return found;
      }),
    failed: (name, rule) =>
      run(async () => {
        const health = await recordFailure(call, healthKey(name), rule);
        await releaseProbe(name);
        return health;
      }),
    succeeded: (name) =>
      run(async () => {
        await Promise.all([call('DeleteItem', { Key: healthKey(name) }), releaseProbe(name)]);
      }),
    claimProbe: (name, ttlMs) =>
      run(async () => {
        const now = Date.now();
        try {
          await call('UpdateItem', {
            Key: probeKey(name),
            UpdateExpression: 'SET #until = :until, #expiresAt = :expiresAt',
            ConditionExpression: 'attribute_not_exists(#until) OR #until <= :now',
            ExpressionAttributeNames: { '#until': 'claimedUntil', '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: {
              ':until': num(now + ttlMs),
              ':now': num(now),
              ':expiresAt': num(seconds(now + ttlMs)),
            },
          });
          return true;
        } catch (error) {
          if (conditionFailed(error)) return false;
          throw error;
        }
      }),
  };
}

const healthOf = (item: Item): UpstreamHealth => ({
  failures: numberOf(item, 'failures'),
  coolUntil: numberOf(item, 'coolUntil'),
});

/**
 * nextHealth applied to the record as read, written only if no other instance wrote it meanwhile
 * (its `version`, absent before the first write); an instance that loses the race reads again.
 */
async function recordFailure(call: DynamoDbCall, Key: Item, rule: CooldownRule): Promise<UpstreamHealth> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { Item: item } = await call<{ Item?: Item }>('GetItem', { Key, ConsistentRead: true });
    const now = Date.now();
    const live = item && numberOf(item, 'liveUntil') > now;
    const health = nextHealth(live ? healthOf(item) : HEALTHY, rule, now);
    const liveUntil = now + healthTtlMs(health, rule, now);
    const version = numberOf(item, 'version');
    try {
      await call('UpdateItem', {
        Key,
        UpdateExpression: 'SET #f = :f, #c = :c, #l = :l, #x = :x, #v = :next',
        ConditionExpression: version ? '#v = :version' : 'attribute_not_exists(#v)',
        ExpressionAttributeNames: {
          '#f': 'failures',
          '#c': 'coolUntil',
          '#l': 'liveUntil',
          '#x': 'expiresAt',
          '#v': 'version',
        },
        ExpressionAttributeValues: {
          ':f': num(health.failures),
          ':c': num(health.coolUntil),
          ':l': num(liveUntil),
          ':x': num(seconds(liveUntil)),
          ':next': num(version + 1),
          ...(version ? { ':version': num(version) } : {}),
        },
      });
      return health;
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
    // Spread the next round of the instances that lost, so they do not collide again.
    await pause(Math.random() * 5 * (attempt + 1));
  }
  throw new Error(`the cooldown record kept changing: ${ATTEMPTS} writes lost to other instances`);
}

/** The cooldowns partition, every page (a page holds 1 MB: more upstreams than anyone names). */
async function queryAll(call: DynamoDbCall): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page: { Items?: Item[]; LastEvaluatedKey?: Item } = await call('Query', {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': str(HEALTH_PK) },
      ConsistentRead: true,
      ...(start ? { ExclusiveStartKey: start } : {}),
    });
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
