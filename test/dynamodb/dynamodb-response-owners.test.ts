import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { type Item, numberOf, stringOf } from '../../adapters/node/dynamodb-client.ts';
import { dynamoDbStores } from '../../adapters/node/dynamodb-stores.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { ALICE, BOB, KEY_BINDINGS } from '../access/fixtures.ts';
import { startGateway } from '../support/start-gateway.ts';
import { packagedTemplate, startDynalite, tableOf } from './dynalite-server.ts';

const dynalite = await startDynalite(tableOf(await packagedTemplate()));

describe('response owners shared through DynamoDB', () => {
  it('let the creator read its response on another instance, and nobody else, with a TTL', async () => {
    // A generous REDIS_TIMEOUT_MS (which bounds DynamoDB calls too) for a busy machine.
    const bindings = {
      ...KEY_BINDINGS,
      ...dynalite.bindings,
      REDIS_TIMEOUT_MS: '15000',
      RESPONSE_OWNER_TTL_SECONDS: '600',
    };
    const first = await startGateway({ bindings });
    const second = await startGateway({ bindings: { ...bindings, OPENAI_BASE_URL: first.upstream.baseURL } });
    const on = (gateway: typeof first, key: string) =>
      new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const stream = await on(first, ALICE).responses.create({ input: 'Say hello', stream: true });
    let id = '';
    for await (const event of stream) if (event.type === 'response.created') id = event.response.id;
    expect((await on(second, ALICE).responses.retrieve(id)).id).toBe(id);
    await expect(on(second, BOB).responses.retrieve(id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(on(first, BOB).responses.delete(id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const { Item: item } = await dynalite.call<{ Item?: Item }>('GetItem', {
      Key: { pk: { S: `response#${id}` }, sk: { S: 'owner' } },
    });
    expect(stringOf(item, 'keyId')).toBe('alice');
    const expiresIn = numberOf(item, 'expiresAt') - Date.now() / 1000;
    expect(expiresIn).toBeGreaterThan(500);
    expect(expiresIn).toBeLessThanOrEqual(601);
  });

  it('hands an unsettled response to exactly one of several instances claiming it at once', async () => {
    const config = loadConfig({ NODE_ENV: 'test', ...dynalite.bindings, REDIS_TIMEOUT_MS: '5000' });
    const instances = [1, 2, 3].map(() => dynamoDbStores(config, createLogger({ level: 'silent' })));
    await instances[0]?.responseOwners.remember('resp_claimed', { keyId: 'alice', unsettled: true });
    await instances[0]?.responseOwners.remember('resp_settled', { keyId: 'alice', unsettled: false });
    const claims = await Promise.all(
      instances.flatMap((stores) => [1, 2].map(() => stores.responseOwners.claimUnsettled('resp_claimed'))),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await instances[1]?.responseOwners.claimUnsettled('resp_settled')).toBe(false);
    expect(await instances[1]?.responseOwners.claimUnsettled('resp_unknown')).toBe(false);
    expect(await instances[2]?.responseOwners.ownerOf('resp_claimed')).toBe('alice');
  });
});
