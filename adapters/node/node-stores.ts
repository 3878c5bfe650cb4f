import type { Config } from '../../src/config.ts';
import type { Logger } from '../../src/logger.ts';
import { memoryStores } from '../../src/stores/memory-stores.ts';
import type { Stores } from '../../src/stores/stores.ts';

/**
 * The stores for runtimes with TCP sockets (Node, Lambda): Redis when REDIS_URL is set, DynamoDB
 * when DYNAMODB_TABLE is (the config refuses both), memory otherwise. Each shared store's client
 * is loaded only then, a cold-start cost. The adapter closes them when it stops.
 */
export async function nodeStores(config: Config, log: Logger): Promise<Stores> {
  if (config.REDIS_URL) {
    const { redisStores } = await import('./redis-stores.ts');
    return redisStores(config, log);
  }
  if (config.DYNAMODB_TABLE) {
    const { dynamoDbStores } = await import('./dynamodb-stores.ts');
    return dynamoDbStores(config, log);
  }
  return memoryStores(config);
}
