import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { type Item, numberOf, stringOf } from '../../adapters/node/dynamodb-client.ts';
import { ALICE, BOB, KEY_BINDINGS } from '../access/fixtures.ts';
import { startGateway } from '../support/start-gateway.ts';
import { packagedTemplate, startDynalite, tableOf } from './dynalite-server.ts';

const dynalite = await startDynalite(tableOf(await packagedTemplate()));

describe('response owners shared through DynamoDB', () => {
  it('let the creator read its response on another instance, and nobody else, with a TTL', async () => {
    const bindings = { ...KEY_BINDINGS, ...dynalite.bindings, RESPONSE_OWNER_TTL_SECONDS: '600' };
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
});
