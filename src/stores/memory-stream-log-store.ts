import { type StreamLogLimits, type StreamLogStore, sleep } from './stream-log-store.ts';

const SWEEP_EVERY = 256;

type Log = { frames: string[]; ended: boolean; expiresAt: number; readAt: number };

/**
 * Stream logs in this process's memory: a reconnect resumes only when it reaches the same process
 * (one Node server; on Lambda and Workers, a shared store). Expired logs are swept when a log
 * opens, not by a timer, since Workers allows no timers outside a request.
 */
export function memoryStreamLogStore({ ttlMs, maxStreams }: StreamLogLimits): StreamLogStore {
  const logs = new Map<string, Log>();
  let opens = 0;
  const live = (id: string) => {
    const log = logs.get(id);
    if (log && log.expiresAt <= Date.now()) {
      logs.delete(id);
      return undefined;
    }
    return log;
  };
  return {
    async open(id) {
      const now = Date.now();
      // A sweep walks every log: at the bound, where it decides, and now and then to free memory.
      if (logs.size >= maxStreams || ++opens % SWEEP_EVERY === 0) {
        for (const [key, log] of logs) if (log.expiresAt <= now) logs.delete(key);
      }
      if (live(id)) return 'exists';
      if (logs.size >= maxStreams) return 'full';
      logs.set(id, { frames: [], ended: false, expiresAt: now + ttlMs, readAt: 0 });
      return 'created';
    },
    async append(id, first, frames) {
      const log = live(id);
      if (!log) return;
      // The producer numbers its batches itself; a batch is placed where its numbers say.
      log.frames.splice(first - 1, frames.length, ...frames);
      log.expiresAt = Date.now() + ttlMs;
    },
    async end(id) {
      const log = live(id);
      if (!log) return;
      log.ended = true;
      log.expiresAt = Date.now() + ttlMs;
    },
    async remove(id) {
      logs.delete(id);
    },
    async read(id, after) {
      const log = live(id);
      if (!log) return null;
      log.readAt = Date.now();
      return { frames: log.frames.slice(after), ended: log.ended };
    },
    async lastRead(id) {
      return live(id)?.readAt ?? 0;
    },
    wait: (_id, _after, maxMs) => sleep(maxMs),
    // A poll here costs a map lookup.
    waitMs: 25,
  };
}
