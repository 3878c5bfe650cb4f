import { createHash } from 'node:crypto';
import {
  type Counters,
  countersOf,
  COUNTER_FIELDS as FIELDS,
  HOUR_MS,
  SHARED_RETENTION_S as RETENTION_S,
  summarise,
  type UsageStore,
} from '../../src/usage/usage-store.ts';
import { type DynamoDbCall, type Item, num, numberOf, type Run, str, stringOf } from './dynamodb-client.ts';

const NAMES = {
  '#r': 'requests',
  '#p': 'prompt_tokens',
  '#c': 'completion_tokens',
  '#e': 'estimated_requests',
};
// A client can name any model: the item keeps it whole up to this length, the sort key only its digest.
const MAX_MODEL = 1_024;

/** `2026-12-02T13`: an hour as ISO text, which sorts as time does. */
const hourText = (hour: number) => new Date(hour * HOUR_MS).toISOString().slice(0, 13);

/**
 * Usage every instance shares: one item per hour, key and model, in the partition of its UTC day
 * (`pk = usage#2026-12-02`, `sk = 2026-12-02T13#<digest of key and model>`), counters added with
 * ADD, so concurrent writers never lose a count. A range is read with one Query per day.
 */
export function dynamoDbUsageStore(call: DynamoDbCall, run: Run): UsageStore {
  return {
    record: (record) =>
      run(async () => {
        const hour = Math.floor(record.time / HOUR_MS);
        const hourKey = hourText(hour);
        const model = record.model.slice(0, MAX_MODEL);
        const digest = createHash('sha256').update(`${record.keyId}\0${model}`).digest('hex').slice(0, 32);
        const counters = countersOf(record);
        await call('UpdateItem', {
          Key: { pk: str(`usage#${hourKey.slice(0, 10)}`), sk: str(`${hourKey}#${digest}`) },
          UpdateExpression: 'ADD #r :r, #p :p, #c :c, #e :e SET #keyId = :keyId, #model = :model, #x = :x',
          ExpressionAttributeNames: { ...NAMES, '#keyId': 'keyId', '#model': 'model', '#x': 'expiresAt' },
          ExpressionAttributeValues: {
            ':r': num(counters.requests),
            ':p': num(counters.prompt_tokens),
            ':c': num(counters.completion_tokens),
            ':e': num(counters.estimated_requests),
            ':keyId': str(record.keyId),
            ':model': str(model),
            ':x': num((hour + 1) * 3600 + RETENTION_S),
          },
        });
      }),
    totals: (from, to) =>
      run(async () => {
        const first = Math.floor(from / HOUR_MS);
        const last = Math.ceil(to / HOUR_MS) - 1;
        const days: { day: string; from: string; to: string }[] = [];
        for (let hour = first; hour <= last; hour = (Math.floor(hour / 24) + 1) * 24) {
          const end = Math.min(last, (Math.floor(hour / 24) + 1) * 24 - 1);
          days.push({ day: hourText(hour).slice(0, 10), from: hourText(hour), to: `${hourText(end)}~` });
        }
        const items = (await Promise.all(days.map((range) => queryDay(call, range)))).flat();
        const now = Date.now() / 1000;
        const rows = items
          .filter((item) => numberOf(item, 'expiresAt') > now)
          .map((item) => ({
            keyId: stringOf(item, 'keyId'),
            model: stringOf(item, 'model'),
            counters: Object.fromEntries(FIELDS.map((field) => [field, numberOf(item, field)])) as Counters,
          }));
        return summarise(rows, from, to);
      }),
  };
}

/** Every item of one day's partition between two hours (`~` sorts after the `#` that follows an hour). */
async function queryDay(call: DynamoDbCall, range: { day: string; from: string; to: string }) {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page: { Items?: Item[]; LastEvaluatedKey?: Item } = await call('Query', {
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': str(`usage#${range.day}`),
        ':from': str(range.from),
        ':to': str(range.to),
      },
      ConsistentRead: true,
      ...(start ? { ExclusiveStartKey: start } : {}),
    });
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
