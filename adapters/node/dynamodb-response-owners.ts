import type { ResponseOwnerStore } from '../../src/stores/response-owner-store.ts';
import { type DynamoDbCall, type Item, num, numberOf, type Run, str, stringOf } from './dynamodb-client.ts';

/**
 * Response owners every instance shares: one item per response, `pk = response#<id>`,
 * `sk = owner`, holding `keyId`, with `expiresAt` (epoch seconds) for DynamoDB's TTL. An item past
 * it is ignored before TTL gets to it.
 */
export function dynamoDbResponseOwners(call: DynamoDbCall, run: Run, ttlSeconds: number): ResponseOwnerStore {
  const Key = (responseId: string) => ({ pk: str(`response#${responseId}`), sk: str('owner') });
  return {
    remember: (responseId, keyId) =>
      run(async () => {
        await call('PutItem', {
          Item: {
            ...Key(responseId),
            keyId: str(keyId),
            expiresAt: num(Math.ceil(Date.now() / 1000) + ttlSeconds),
          },
        });
      }),
    ownerOf: (responseId) =>
      run(async () => {
        const { Item: item } = await call<{ Item?: Item }>('GetItem', {
          Key: Key(responseId),
          ConsistentRead: true,
        });
        if (!item || numberOf(item, 'expiresAt') <= Date.now() / 1000) return null;
        return stringOf(item, 'keyId') || null;
      }),
  };
}
