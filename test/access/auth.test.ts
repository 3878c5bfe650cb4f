import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { chat, startGateway } from '../support/start-gateway.ts';
import { ALICE, BOB, bearer, errorOf, KEY_BINDINGS, sha256, UNNAMED } from './fixtures.ts';

const gateway = await startGateway({ bindings: KEY_BINDINGS });

const guarded: [string, string, unknown][] = [
  ['POST', '/api/completions', chat()],
  ['POST', '/api/completions/stream', chat()],
  ['POST', '/v1/chat/completions', { model: 'gpt-4o-mini', ...chat() }],
  ['GET', '/v1/models', undefined],
  ['POST', '/api/streams', chat()],
];

const call = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('client keys', () => {
  it.each(guarded)(
    'refuses %s %s without a key: 401, and the upstream is never called',
    async (method, path, body) => {
      const response = await call(method, path, body);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect((await errorOf(response)).error).toEqual({
        message: expect.stringContaining('Authorization: Bearer'),
        type: 'invalid_request_error',
        param: null,
        code: 'missing_api_key',
      });
      expect(gateway.upstream.requests).toHaveLength(0);
    },
  );

  it.each(guarded)('refuses %s %s with a wrong key, without echoing it', async (method, path, body) => {
    const wrong = 'sk-gw-wrong-key-that-must-not-leak';
    for (const headers of [bearer(wrong), { 'x-api-key': wrong }, bearer(`${ALICE}x`), bearer(sha256(BOB))]) {
      const response = await call(method, path, body, headers);
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(JSON.parse(text).error.code).toBe('invalid_api_key');
      expect(text).not.toContain('wrong-key');
      expect(text).not.toContain('sk-gw');
    }
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('accepts a key as Bearer (any case of the scheme) or as x-api-key, plain or hashed', async () => {
    const accepted: Record<string, string>[] = [
      bearer(ALICE),
      { authorization: `bearer  ${UNNAMED}` },
      { 'x-api-key': BOB },
      // A non-Bearer Authorization is not a key; x-api-key still is.
      { authorization: 'Basic Zm9vOmJhcg==', 'x-api-key': ALICE },
    ];
    for (const headers of accepted) {
      const response = await gateway.post('/api/completions', chat(), { headers });
      expect(response.status).toBe(200);
    }
    expect(gateway.upstream.requests).toHaveLength(accepted.length);
  });

  it('names each client by its key id in the log, and never logs a key', async () => {
    for (const [key, id] of [
      [ALICE, 'alice'],
      [BOB, 'bob'],
      [UNNAMED, `key_${sha256(UNNAMED).slice(0, 12)}`],
    ] as const) {
      await gateway.post('/api/completions', chat(), {
        headers: { ...bearer(key), 'x-request-id': `id-${id}` },
      });
      expect(gateway.logs.find((line) => line.request_id === `id-${id}`)?.key_id).toBe(id);
    }
    const logged = JSON.stringify(gateway.logs);
    for (const key of [ALICE, BOB, UNNAMED]) expect(logged).not.toContain(key);
  });

  it('leaves health open', async () => {
    const response = await fetch(`${gateway.url}/api/health`);
    expect(response.status).toBe(200);
  });

  it('is an AuthenticationError for the official SDK', async () => {
    const client = new OpenAI({
      apiKey: 'sk-not-a-gateway-key',
      baseURL: `${gateway.url}/v1`,
      maxRetries: 0,
    });
    const error = await client.models.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    const listed = await new OpenAI({
      apiKey: ALICE,
      baseURL: `${gateway.url}/v1`,
      maxRetries: 0,
    }).models.list();
    expect(listed.data.map((model) => model.id)).toContain('gpt-4o-mini');
  });

  it('lets a signed stream link stand in for the key: EventSource cannot send headers', async () => {
    const created = await gateway.post('/api/streams', chat(), { headers: bearer(ALICE) });
    expect(created.status).toBe(201);
    const { url } = (await created.json()) as { url: string };
    const stream = await fetch(`${gateway.url}${url}`);
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('[DONE]');
    // A forged link gets the route's own refusal, not a request for a key.
    const forged = await fetch(`${gateway.url}/api/streams/not.valid`);
    expect(forged.status).toBe(401);
    expect((await errorOf(forged)).error.code).toBe('invalid_stream_link');
  });
});

describe('without GATEWAY_API_KEYS', () => {
  it('refuses to start in production unless PUBLIC_ACCESS=on says anonymous traffic is meant', async () => {
    await expect(startGateway({ bindings: { NODE_ENV: 'production' } })).rejects.toThrow(
      /GATEWAY_API_KEYS: production needs client keys.*PUBLIC_ACCESS=on/s,
    );
  });

  it('is open with PUBLIC_ACCESS=on, and says so once at start-up in production', async () => {
    const open = await startGateway({ bindings: { NODE_ENV: 'production', PUBLIC_ACCESS: 'on' } });
    const warnings = () => open.logs.filter((line) => line.event === 'auth_disabled');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('GATEWAY_API_KEYS'),
    });
    expect((await open.post('/api/completions', chat())).status).toBe(200);
    expect((await open.post('/api/completions', chat())).status).toBe(200);
    expect(warnings()).toHaveLength(1);
  });

  it('stays quiet about it outside production', async () => {
    const open = await startGateway();
    expect((await open.post('/api/completions', chat())).status).toBe(200);
    expect(open.logs.filter((line) => line.event === 'auth_disabled')).toHaveLength(0);
  });
});
