import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { memoryStores } from '../src/stores/memory-stores.ts';
import { readSse } from './support/sse.ts';
import { chat } from './support/start-gateway.ts';
import { createTestApp } from './support/test-app.ts';

const SECRET_DETAIL = 'disk full at /var/lib/gateway/ledger-7f3a';
const bindings = { TOKEN_LIMIT_MAX: '1000', ADMIN_API_KEY: 'admin-key-0123456789abcdef' };

/**
 * A gateway bug, as the app meets it: something below a route throws a plain Error, not one of the
 * gateway's own. Provoked for real, through the stores createApp is handed (as an adapter hands
 * its Redis or Durable Object ones), not by calling onError.
 */
function brokenApp(broken: 'tokens' | 'usage') {
  const stores = memoryStores(loadConfig(bindings));
  const fail = async () => {
    throw new Error(SECRET_DETAIL);
  };
  if (broken === 'tokens') stores.tokens = { ...stores.tokens, used: fail };
  else stores.usage = { ...stores.usage, totals: fail };
  return createTestApp(bindings, { stores });
}

const GENERIC = {
  error: { message: 'Internal server error', type: 'server_error', param: null, code: 'internal_error' },
};

describe('an unexpected error (app.onError)', () => {
  it.each([
    ['POST', '/api/completions', 'tokens'],
    ['POST', '/api/completions/stream', 'tokens'],
    ['POST', '/v1/chat/completions', 'tokens'],
    ['GET', '/api/usage', 'usage'],
  ] as const)(
    'answers %s %s with a generic 500; the cause goes to the log only',
    async (method, path, broken) => {
      const gateway = brokenApp(broken);
      const response =
        method === 'GET'
          ? await gateway.request(path, {
              headers: { authorization: `Bearer ${bindings.ADMIN_API_KEY}`, 'x-request-id': 'bug-1' },
            })
          : await gateway.post(path, chat(), { headers: { 'x-request-id': 'bug-1' } });
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toContain('application/json');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual(GENERIC);
      expect(text).not.toContain('disk full');

      const lines = gateway.logs.filter((line) => line.request_id === 'bug-1');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'error',
        status: 500,
        outcome: 'error',
        code: 'internal_error',
      });
      expect(JSON.stringify(lines[0])).toContain(SECRET_DETAIL);
    },
  );

  it('leaves the gateway serving what does not touch the broken part', async () => {
    const gateway = brokenApp('usage');
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(events.at(-1)?.data).toBe('[DONE]');
  });
});
