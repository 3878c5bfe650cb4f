import { type Config, ConfigError } from '../config.ts';
import type { Logger } from '../logger.ts';
import { memoryStores } from './memory-stores.ts';
import type { StoreFactory, Stores } from './stores.ts';

/** The stores for a configuration, built once: both limit middlewares share one Redis connection. */
export function storesResolver(factory?: StoreFactory): (config: Config, log: Logger) => Stores {
  const built = new WeakMap<Config, Stores>();
  return (config, log) => {
    let stores = built.get(config);
    if (!stores) {
      if (!factory && config.REDIS_URL) {
        // Falling back to memory would quietly turn a global limit into a per-instance one.
        throw new ConfigError(
          'REDIS_URL is set, but this runtime cannot open a Redis connection (ioredis needs Node); ' +
            'unset REDIS_URL here, or run the gateway on Node or Lambda',
        );
      }
      stores = factory ? factory(config, log) : memoryStores(config);
      log.info('limit_store', { kind: stores.kind });
      built.set(config, stores);
    }
    return stores;
  };
}
