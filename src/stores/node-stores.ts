import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { memoryStores } from './memory-stores.ts';
import { redisStores } from './redis-stores.ts';
import type { StoreFactory, Stores } from './stores.ts';

/**
 * The store factory for runtimes with TCP sockets (Node, Lambda): Redis when REDIS_URL is set,
 * memory otherwise. Adapters pass `create` to createApp and call `close` when they shut down.
 */
export function nodeStores(): { create: StoreFactory; close(): Promise<void> } {
  const open = new Set<Stores>();
  return {
    create(config: Config, log: Logger) {
      const stores = config.REDIS_URL ? redisStores(config, log) : memoryStores(config);
      open.add(stores);
      return stores;
    },
    async close() {
      await Promise.all([...open].map((stores) => stores.close()));
      open.clear();
    },
  };
}
