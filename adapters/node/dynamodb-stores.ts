import type { Store } from 'hono-rate-limiter';
import type { AppEnv } from '../../src/app-env.ts';
import type { Config } from '../../src/config.ts';
import { describeError, type Logger } from '../../src/logger.ts';
import { type Stores, StoreUnavailableError, type TokenStore } from '../../src/stores/stores.ts';
import {
  conditionFailed,
  type DynamoDbCall,
  dynamoDbClient,
  type Item,
  num,
  numberOf,
  type Run,
  str,
} from './dynamodb-client.ts';
import { dynamoDbCooldownStore } from './dynamodb-cooldown-store.ts';
import { dynamoDbResponseOwners } from './dynamodb-response-owners.ts';
import { dynamoDbStreamLogStore } from './dynamodb-stream-log-store.ts';
import { dynamoDbUsageStore } from './dynamodb-usage-store.ts';

// stores.ts names the kinds it knew of before DynamoDB; the access log and tests read this one.
const KIND: Stores['kind'] = 'dynamodb';

/** While the table is unreachable, one request in this long tries it; the others fail at once. */
const PROBE_MS = 1_000;

/**
 * Limits, usage and upstream cooldowns shared by every instance through one DynamoDB table
 * (DYNAMODB_TABLE), for Node and Lambda. Single-table design, the key schema and the TTL attribute are in docs/lambda.md
 * ("Shared store"): every item has a string `pk` and `sk`, and `expiresAt` (epoch seconds) for
 * DynamoDB's TTL to delete it; items past it are ignored before TTL gets to them, which can take days.
 */
export function dynamoDbStores(config: Config, log: Logger): Stores {
  const call = dynamoDbClient(config);
  const run = watchTable(log, config.REDIS_FAILURE_POLICY);
  return {
    kind: KIND,
    requests: requestStore(call, run, config.RATE_LIMIT_WINDOW_MS),
    tokens: tokenStore(call, run, config.TOKEN_LIMIT_WINDOW_MS),
    usage: dynamoDbUsageStore(call, run),
    cooldowns: dynamoDbCooldownStore(call, run),
    responseOwners: dynamoDbResponseOwners(call, run, config.RESPONSE_OWNER_TTL_SECONDS),
    streamLogs: dynamoDbStreamLogStore(call, run, config),
    async close() {
      run.closing = true;
    },
  };
}

/**
 * Runs store operations; any failure becomes a StoreUnavailableError, so REDIS_FAILURE_POLICY
 * applies as it does to Redis. An outage is logged once when it starts and once when it ends.
 * During one, requests do not each wait REDIS_TIMEOUT_MS for a table that is not answering: one
 * a second tries it, and the rest fail at once.
 */
function watchTable(log: Logger, policy: string): Run {
  let down = false;
  let nextProbe = 0;
  const run = (async (operation) => {
    if (down) {
      if (Date.now() < nextProbe) throw new StoreUnavailableError('DynamoDB is not answering');
      nextProbe = Date.now() + PROBE_MS;
    }
    try {
      const result = await operation();
      if (down) {
        down = false;
        log.info('limit_store_recovered', { store: KIND, policy });
      }
      return result;
    } catch (error) {
      if (!down && !run.closing) {
        down = true;
        nextProbe = Date.now() + PROBE_MS;
        log.error('limit_store_unavailable', { store: KIND, policy, ...describeError(error) });
      }
      throw new StoreUnavailableError('DynamoDB did not answer', { cause: error });
    }
  }) as Run;
  run.closing = false;
  return run;
}

const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * hono-rate-limiter's store: one item per client, `pk = requests#<client>`, `sk = window`, holding
 * `hits` and `resetAt` (epoch ms). A window starts at a client's first request, as in the memory and
 * Redis stores. Exact across instances: a hit is an atomic ADD on a live window (its condition);
 * when the window has ended, one conditional SET starts the next, and an instance that loses that
 * race adds to the window the winner started.
 */
function requestStore(call: DynamoDbCall, run: Run, defaultWindowMs: number): Store<AppEnv> {
  let windowMs = defaultWindowMs;
  const Key = (key: string) => ({ pk: str(`requests#${key}`), sk: str('window') });
  const names = { '#hits': 'hits', '#resetAt': 'resetAt', '#expiresAt': 'expiresAt' };
  const info = (item: Item | undefined) => ({
    totalHits: numberOf(item, 'hits'),
    resetTime: new Date(numberOf(item, 'resetAt')),
  });
  const hit = async (key: string) => {
    // A third round only when the window ended and restarted between two of our calls.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = Date.now();
      try {
        const { Attributes } = await call<{ Attributes?: Item }>('UpdateItem', {
          Key: Key(key),
          UpdateExpression: 'ADD #hits :one',
          ConditionExpression: '#resetAt > :now',
          ExpressionAttributeNames: { '#hits': 'hits', '#resetAt': 'resetAt' },
          ExpressionAttributeValues: { ':one': num(1), ':now': num(now) },
          ReturnValues: 'ALL_NEW',
        });
        return info(Attributes);
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
      try {
        const resetAt = now + windowMs;
        await call('UpdateItem', {
          Key: Key(key),
          UpdateExpression: 'SET #hits = :one, #resetAt = :resetAt, #expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#resetAt) OR #resetAt <= :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':one': num(1),
            ':now': num(now),
            ':resetAt': num(resetAt),
            ':expiresAt': num(seconds(resetAt) + 60),
          },
        });
        return { totalHits: 1, resetTime: new Date(resetAt) };
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
    }
    throw new Error('the request window kept restarting');
  };
  return {
    prefix: 'requests#',
    localKeys: false,
    init: (options) => {
      windowMs = options.windowMs;
    },
    get: (key) =>
      run(async () => {
        const { Item: item } = await call<{ Item?: Item }>('GetItem', {
          Key: Key(key),
          ConsistentRead: true,
        });
        return item && numberOf(item, 'resetAt') > Date.now() ? info(item) : undefined;
      }),
    increment: (key) => run(() => hit(key)),
    decrement: (key) =>
      run(async () => {
        try {
          await call('UpdateItem', {
            Key: Key(key),
            UpdateExpression: 'ADD #hits :minus',
            ConditionExpression: '#resetAt > :now AND #hits > :zero',
            ExpressionAttributeNames: { '#hits': 'hits', '#resetAt': 'resetAt' },
            ExpressionAttributeValues: { ':minus': num(-1), ':now': num(Date.now()), ':zero': num(0) },
          });
        } catch (error) {
          // No live window, or nothing left in it: nothing to take back.
          if (!conditionFailed(error)) throw error;
        }
      }),
    resetKey: (key) =>
      run(async () => {
        await call('DeleteItem', { Key: Key(key) });
      }),
  };
}

/**
 * Token budgets: `pk = tokens#<client>`, `sk = <window number>` (windows aligned to the epoch, so
 * every instance agrees), `tokens` added with ADD. A new window is a new item: no reset to race.
 */
function tokenStore(call: DynamoDbCall, run: Run, windowMs: number): TokenStore {
  const slot = (clientKey: string) => {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const endsAt = (window + 1) * windowMs;
    return {
      Key: { pk: str(`tokens#${clientKey}`), sk: str(String(window)) },
      endsAt,
      resetMs: endsAt - now,
    };
  };
  return {
    used: (clientKey) =>
      run(async () => {
        const { Key, resetMs } = slot(clientKey);
        const { Item: item } = await call<{ Item?: Item }>('GetItem', { Key, ConsistentRead: true });
        return { used: numberOf(item, 'tokens'), resetMs };
      }),
    charge: (clientKey, tokens) =>
      run(async () => {
        const { Key, endsAt } = slot(clientKey);
        await call('UpdateItem', {
          Key,
          UpdateExpression: 'ADD #tokens :tokens SET #expiresAt = :expiresAt',
          ExpressionAttributeNames: { '#tokens': 'tokens', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':tokens': num(tokens), ':expiresAt': num(seconds(endsAt) + 60) },
        });
      }),
  };
}
