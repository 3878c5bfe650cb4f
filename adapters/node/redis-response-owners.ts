import type { Redis } from 'ioredis';
import type { ResponseOwnerStore } from '../../src/stores/response-owner-store.ts';

/**
 * Response owners every instance shares: one key per response id holding the key id, and one
 * more while its usage is unsettled, both with the TTL. Claiming is a DEL, which exactly one
 * instance sees delete the key.
 */
export function redisResponseOwners(
  redis: Redis,
  run: <T>(command: () => Promise<T>) => Promise<T>,
  prefix: string,
  ttlSeconds: number,
): ResponseOwnerStore {
  const owner = (responseId: string) => `${prefix}${responseId}`;
  const unsettled = (responseId: string) => `${prefix}${responseId}:unsettled`;
  return {
    remember: (responseId, entry) =>
      run(async () => {
        const multi = redis.multi().set(owner(responseId), entry.keyId, 'EX', ttlSeconds);
        if (entry.unsettled) multi.set(unsettled(responseId), '1', 'EX', ttlSeconds);
        for (const [error] of (await multi.exec()) ?? []) if (error) throw error;
      }),
    ownerOf: (responseId) => run(() => redis.get(owner(responseId))),
    claimUnsettled: (responseId) => run(async () => (await redis.del(unsettled(responseId))) === 1),
  };
}
