import type { Config } from '../../src/config.ts';
import { streamLogLimits } from '../../src/stores/memory-stores.ts';
import { type StreamLogPage, type StreamLogStore, sleep } from '../../src/stores/stream-log-store.ts';
import {
  conditionFailed,
  type DynamoDbCall,
  type Item,
  num,
  numberOf,
  type Run,
  str,
  stringOf,
} from './dynamodb-client.ts';

// Lambda's longest invocation (15 minutes): a log being written lives at least this long past its
// TTL, since its items are written once and never touched again; once it ends, its meta item's
// expiry comes down to the TTL, and reads go by that item.
const LONGEST_STREAM_S = 900;

const seconds = (ms: number) => Math.ceil(ms / 1000);
const batchKey = (last: number) => `b#${String(last).padStart(10, '0')}`;

/**
 * Stream logs in the gateway's DynamoDB table: per stream, a `meta` item (`pk = streamlog#<id>`:
 * ended, when a client last read, expiry) and one item per relayed batch (`sk = b#<last event
 * number>`, zero-padded so it sorts as numbers do), so one Query from `b#<after>` returns the
 * batches after a position and the meta item (`meta` sorts after `b#`). A reconnect polls.
 * Live logs are counted per TTL-long window (`pk = streamlogs`, `sk = <window>`): the current and
 * the previous window's together must stay under STREAM_RESUME_MAX_STREAMS, which bounds the logs
 * opened in the last one to two TTLs, all a table can count without a scan.
 */
export function dynamoDbStreamLogStore(call: DynamoDbCall, run: Run, config: Config): StreamLogStore {
  const { ttlMs, maxStreams } = streamLogLimits(config);
  const pk = (id: string) => str(`streamlog#${id}`);
  const meta = (id: string) => ({ pk: pk(id), sk: str('meta') });

  const admit = async () => {
    const window = Math.floor(Date.now() / ttlMs);
    const { Item: previous } = await call<{ Item?: Item }>('GetItem', {
      Key: { pk: str('streamlogs'), sk: str(String(window - 1)) },
      ConsistentRead: true,
    });
    try {
      await call('UpdateItem', {
        Key: { pk: str('streamlogs'), sk: str(String(window)) },
        UpdateExpression: 'ADD #opened :one SET #expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(#opened) OR #opened < :room',
        ExpressionAttributeNames: { '#opened': 'opened', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: {
          ':one': num(1),
          ':room': num(maxStreams - numberOf(previous, 'opened')),
          ':expiresAt': num(seconds((window + 2) * ttlMs)),
        },
      });
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  };

  return {
    open: (id) =>
      run(async () => {
        try {
          await call('PutItem', {
            Item: {
              ...meta(id),
              ended: num(0),
              readAt: num(0),
              expiresAt: num(seconds(Date.now() + ttlMs) + LONGEST_STREAM_S),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          });
        } catch (error) {
          if (conditionFailed(error)) return 'exists';
          throw error;
        }
        if (await admit()) return 'created';
        await call('DeleteItem', { Key: meta(id) });
        return 'full';
      }),
    append: (id, first, frames) =>
      run(async () => {
        await call('PutItem', {
          Item: {
            pk: pk(id),
            sk: str(batchKey(first + frames.length - 1)),
            first: num(first),
            frames: str(JSON.stringify(frames)),
            expiresAt: num(seconds(Date.now() + ttlMs) + LONGEST_STREAM_S),
          },
        });
      }),
    end: (id) =>
      run(async () => {
        await call('UpdateItem', {
          Key: meta(id),
          UpdateExpression: 'SET #ended = :one, #expiresAt = :expiresAt',
          ExpressionAttributeNames: { '#ended': 'ended', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':one': num(1), ':expiresAt': num(seconds(Date.now() + ttlMs)) },
        });
      }),
    // The meta item is what makes a log readable; its batches go with TTL.
    remove: (id) =>
      run(async () => {
        await call('DeleteItem', { Key: meta(id) });
      }),
    read: (id, after) =>
      run(async () => {
        const items: Item[] = [];
        let start: Item | undefined;
        do {
          const answer: { Items?: Item[]; LastEvaluatedKey?: Item } = await call('Query', {
            KeyConditionExpression: 'pk = :pk AND sk > :from',
            ExpressionAttributeValues: { ':pk': pk(id), ':from': str(batchKey(after)) },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          });
          items.push(...(answer.Items ?? []));
          start = answer.LastEvaluatedKey;
        } while (start);
        const head = items.find((item) => stringOf(item, 'sk') === 'meta');
        // Past its expiry an item may linger until TTL deletes it, which can take days.
        if (!head || numberOf(head, 'expiresAt') * 1000 <= Date.now()) return null;
        try {
          await call('UpdateItem', {
            Key: meta(id),
            UpdateExpression: 'SET #readAt = :now',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#readAt': 'readAt' },
            ExpressionAttributeValues: { ':now': num(Date.now()) },
          });
        } catch (error) {
          if (!conditionFailed(error)) throw error;
        }
        const page: StreamLogPage = { frames: [], ended: numberOf(head, 'ended') === 1 };
        for (const item of items) {
          if (item === head) continue;
          const batch = JSON.parse(stringOf(item, 'frames')) as string[];
          page.frames.push(...batch.slice(Math.max(0, after + 1 - numberOf(item, 'first'))));
        }
        return page;
      }),
    lastRead: (id) =>
      run(async () => {
        const { Item: item } = await call<{ Item?: Item }>('GetItem', {
          Key: meta(id),
          ConsistentRead: true,
        });
        return numberOf(item, 'readAt');
      }),
    wait: (_id, _after, maxMs) => sleep(maxMs),
    // A poll is a Query and an UpdateItem: about 10 a second for each reconnected client.
    waitMs: 100,
  };
}
