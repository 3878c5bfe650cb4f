import type { ResponseOwnerStore } from '../../src/stores/response-owner-store.ts';
import {
  conditionFailed,
  type DynamoDbCall,
  type Item,
  num,
  numberOf,
  type Run,
  str,
  stringOf,
} from './dynamodb-client.ts';

/**
 * Response owners every instance shares: one item per response, `pk = response#<id>`,
 * `sk = owner`, holding `keyId` (and `unsettled` while its usage is to be accounted), with
 * `expiresAt` (epoch seconds) for DynamoDB's TTL. An item past it is ignored before TTL gets to it.
 * Claiming removes `unsettled` on the condition that it is there: exactly one instance succeeds.
 */
export function dynamoDbResponseOwners(call: DynamoDbCall, run: Run, ttlSeconds: number): ResponseOwnerStore {
  const Key = (responseId: string) => ({ pk: str(`response#${responseId}`), sk: str('owner') });
  return {
    remember: (responseId, { keyId, unsettled }) =>
      run(async () => {
        await call('PutItem', {
          Item: {
            ...Key(responseId),
            keyId: str(keyId),
            ...(unsettled ? { unsettled: num(1) } : {}),
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
        return stringOf(item, 'keyId');
      }),
    claimUnsettled: (responseId) =>
      run(async () => {
        try {
          await call('UpdateItem', {
            Key: Key(responseId),
            UpdateExpression: 'REMOVE #unsettled',
            ConditionExpression: 'attribute_exists(#unsettled) AND #expiresAt > :now',
            ExpressionAttributeNames: { '#unsettled': 'unsettled', '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: { ':now': num(Date.now() / 1000) },
          });
          return true;
        } catch (error) {
          if (conditionFailed(error)) return false;
          throw error;
        }
      }),
  };
}
