import type { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';
import { streamLogLimits } from '../../src/stores/memory-stores.ts';
import type { StreamLogPage, StreamLogStore } from '../../src/stores/stream-log-store.ts';

type Run = <T>(command: () => Promise<T>) => Promise<T>;

// How long a log being written lives (past it, a resume ends with `stream_log_lost`): appends do
// not renew the expiry, so each costs one command; the end brings it down to the TTL.
const LONGEST_STREAM_MS = 3_600_000;

// Starts a log unless it exists or too many are alive. The index is a sorted set of log ids by
// expiry, pruned here, so counting live logs is one ZCARD and no scan.
const OPEN = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('XADD', KEYS[1], '0-1', 'open', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
return 'created'`;

/**
 * Stream logs in a Redis stream per stream (`<prefix>streamlog:<id>`), so a reconnect resumes on
 * any instance. One entry per relayed batch, its id the batch's last event number (`<n>-0`), so
 * XRANGE from `(<after>-0` returns exactly the batches holding events after `after`; a `0-1`
 * entry marks the log open, an `end` entry ended, and then it lives its TTL. A reconnect
 * tails the log with XREAD BLOCK on a connection of its own (blocking commands hold one).
 */
export function redisStreamLogStore(redis: Redis, run: Run, config: Config): StreamLogStore {
  const { ttlMs, maxStreams } = streamLogLimits(config);
  const prefix = `${config.REDIS_PREFIX}streamlog:`;
  const index = `${config.REDIS_PREFIX}streamlogs`;
  const key = (id: string) => `${prefix}${id}`;
  // Connections for XREAD BLOCK: one per reconnect waiting at a time, kept for the next.
  const idle: Redis[] = [];
  const opened = new Set<Redis>();
  const exec = async (multi: ReturnType<Redis['multi']>) => {
    const results = (await multi.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    return results.map(([, value]) => value);
  };
  return {
    open: (id) =>
      run(async () => {
        const answer = await redis.eval(
          OPEN,
          2,
          key(id),
          index,
          Date.now(),
          ttlMs + LONGEST_STREAM_MS,
          maxStreams,
          id,
        );
        return answer as 'created' | 'exists' | 'full';
      }),
    // One command per relayed batch: the key's expiry, set at open, covers the longest stream.
    append: (id, first, frames) =>
      run(async () => {
        await redis.xadd(
          key(id),
          `${first + frames.length - 1}-0`,
          'first',
          first,
          'frames',
          JSON.stringify(frames),
        );
      }),
    end: (id) =>
      run(async () => {
        await exec(
          redis
            .multi()
            .xadd(key(id), '*', 'end', '1')
            .pexpire(key(id), ttlMs)
            .zadd(index, 'XX', Date.now() + ttlMs, id),
        );
      }),
    remove: (id) =>
      run(async () => {
        await exec(
          redis
            .multi()
            .del(key(id), `${key(id)}:read`)
            .zrem(index, id),
        );
      }),
    read: (id, after) =>
      run(async () => {
        const [exists, entries] = await exec(
          redis
            .multi()
            .exists(key(id))
            .xrange(key(id), `(${after}-0`, '+')
            .set(`${key(id)}:read`, Date.now(), 'PX', ttlMs),
        );
        if (!exists) return null;
        return pageOf(entries as [string, string[]][], after);
      }),
    lastRead: (id) => run(async () => Number((await redis.get(`${key(id)}:read`)) ?? 0)),
    async wait(id, after, maxMs) {
      let connection = idle.pop();
      if (!connection) {
        connection = redis.duplicate({ commandTimeout: maxMs + config.REDIS_TIMEOUT_MS });
        opened.add(connection);
      }
      try {
        await connection.xread('BLOCK', maxMs, 'STREAMS', key(id), `${after}-0`);
        idle.push(connection);
      } catch {
        // A failed blocking read only ends the wait; the next read reports a real outage.
        opened.delete(connection);
        connection.disconnect();
      }
    },
    // XREAD BLOCK returns as soon as the producer appends: this only bounds how long a read waits.
    waitMs: 1_000,
    async close() {
      idle.length = 0;
      for (const connection of opened) connection.disconnect();
      opened.clear();
    },
  };
}

function pageOf(entries: [string, string[]][], after: number): StreamLogPage {
  const page: StreamLogPage = { frames: [], ended: false };
  for (const [, fields] of entries) {
    const values = new Map<string, string>();
    for (let index = 0; index < fields.length; index += 2) values.set(fields[index]!, fields[index + 1]!);
    if (values.has('end')) page.ended = true;
    const frames = values.get('frames');
    if (!frames) continue;
    const first = Number(values.get('first'));
    const batch = JSON.parse(frames) as string[];
    page.frames.push(...batch.slice(Math.max(0, after + 1 - first)));
  }
  return page;
}
