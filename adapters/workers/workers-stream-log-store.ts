import type { DurableObjectNamespace, DurableObjectStub } from 'cloudflare:workers';
import type { Config } from '../../src/config.ts';
import { streamLogLimits } from '../../src/stores/memory-stores.ts';
import { StoreUnavailableError } from '../../src/stores/stores.ts';
import type { StreamLogStore } from '../../src/stores/stream-log-store.ts';
// A type only: this file loads without workerd's `cloudflare:workers`.
import type { StreamLog } from './stream-log.ts';

export type StreamLogNamespace = DurableObjectNamespace<StreamLog>;

/** The object that counts live logs; every other StreamLog object is one stream's log. */
const INDEX = 'index';

/**
 * Stream logs in StreamLog Durable Objects (the STREAM_LOGS binding), one per stream, so a
 * reconnect that lands on any isolate resumes. A read waits in the object for the next append
 * (`waitFor`), so a reconnect is told of new events as they are written rather than polling.
 */
export function workersStreamLogStore(namespace: StreamLogNamespace, config: Config): StreamLogStore {
  const { ttlMs, maxStreams } = streamLogLimits(config);
  const stub = (name: string): DurableObjectStub<StreamLog> => namespace.get(namespace.idFromName(name));
  const call = async <T>(name: string, method: (log: DurableObjectStub<StreamLog>) => Promise<T>) => {
    try {
      return await method(stub(name));
    } catch (error) {
      throw new StoreUnavailableError('The StreamLog Durable Object did not answer', { cause: error });
    }
  };
  return {
    async open(id) {
      if ((await call(id, (log) => log.open(ttlMs))) === 'exists') return 'exists';
      if (await call(INDEX, (index) => index.admit(id, maxStreams, ttlMs))) return 'created';
      await call(id, (log) => log.remove());
      return 'full';
    },
    append: (id, first, frames) => call(id, (log) => log.append(first, frames, ttlMs)),
    async end(id) {
      await call(id, (log) => log.end(ttlMs));
      await call(INDEX, (index) => index.release(id, ttlMs));
    },
    async remove(id) {
      await call(id, (log) => log.remove());
      await call(INDEX, (index) => index.release(id, null));
    },
    read: (id, after) => call(id, (log) => log.read(after)),
    lastRead: (id) => call(id, (log) => log.lastRead()),
    wait: (id, after, maxMs) => call(id, (log) => log.waitFor(after, maxMs)),
    waitMs: 1_000,
  };
}
