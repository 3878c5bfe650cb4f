import type { Redis } from 'ioredis';
import type { ResponseOwnerStore } from '../../src/stores/response-owner-store.ts';

/** Response owners every instance shares: one key per response id, holding the key id, with a TTL. */
export function redisResponseOwners(
  redis: Redis,
  run: <T>(command: () => Promise<T>) => Promise<T>,
  prefix: string,
  ttlSeconds: number,
): ResponseOwnerStore {
  return {
    remember: (responseId, keyId) =>
      run(async () => {
        await redis.set(`${prefix}${responseId}`, keyId, 'EX', ttlSeconds);
      }),
    ownerOf: (responseId) => run(() => redis.get(`${prefix}${responseId}`)),
  };
}
