import type { Redis } from 'ioredis';
import {
  type Counters,
  countersOf,
  COUNTER_FIELDS as FIELDS,
  HOUR_MS,
  SHARED_RETENTION_S as RETENTION_S,
  summarise,
  type UsageStore,
} from '../../src/usage/usage-store.ts';

/**
 * Usage every instance shares: one hash per hour, fields `<key>\0<model>\0<counter>`, increments
 * only (HINCRBY), so concurrent writers never lose a count.
 */
export function redisUsageStore(
  redis: Redis,
  run: <T>(command: () => Promise<T>) => Promise<T>,
  prefix: string,
): UsageStore {
  const hourKey = (hour: number) => `${prefix}${hour}`;
  return {
    record: (record) =>
      run(async () => {
        const key = hourKey(Math.floor(record.time / HOUR_MS));
        const id = `${record.keyId}\0${record.model}\0`;
        const counters = countersOf(record);
        const multi = redis.multi();
        for (const field of FIELDS) if (counters[field]) multi.hincrby(key, id + field, counters[field]);
        multi.expire(key, RETENTION_S);
        const results = await multi.exec();
        for (const [error] of results ?? []) if (error) throw error;
      }),
    totals: (from, to) =>
      run(async () => {
        const hours: number[] = [];
        for (let hour = Math.floor(from / HOUR_MS); hour < Math.ceil(to / HOUR_MS); hour++) hours.push(hour);
        const pipeline = redis.pipeline();
        for (const hour of hours) pipeline.hgetall(hourKey(hour));
        const results = (await pipeline.exec()) ?? [];
        const rows = new Map<string, { keyId: string; model: string; counters: Counters }>();
        for (const [error, hash] of results) {
          if (error) throw error;
          for (const [field, value] of Object.entries(hash as Record<string, string>)) {
            const [keyId = '', model = '', counter = ''] = field.split('\0');
            const id = `${keyId}\0${model}`;
            let row = rows.get(id);
            if (!row) {
              row = {
                keyId,
                model,
                counters: { requests: 0, prompt_tokens: 0, completion_tokens: 0, estimated_requests: 0 },
              };
              rows.set(id, row);
            }
            if ((FIELDS as readonly string[]).includes(counter))
              row.counters[counter as keyof Counters] += Number(value);
          }
        }
        return summarise(rows.values(), from, to);
      }),
  };
}
