import { describe, expect, it } from 'vitest';
import { functionUrlEvent } from '../support/lambda-events.ts';
import { buildBundle, type LambdaFunction, startLambdaFunction } from '../support/lambda-function.ts';
import { packagedTemplate, startDynalite, tableOf, until } from './dynalite-server.ts';

// The deployable bundle and the table serverless.yml deploys, once for this file.
const [taskRoot, table] = await Promise.all([buildBundle(), packagedTemplate().then(tableOf)]);
const dynalite = await startDynalite(table);

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const body = { messages: [{ role: 'user', content: 'Say hello' }] };
let unique = 0;

/** Two instances of the function (two processes, as two Lambda sandboxes), one client key for both. */
async function twoInstances(settings: Record<string, string>) {
  const name = `client${Date.now()}${unique++}`;
  const key = `${name}-key-0123456789abcdef`;
  const env = {
    ...dynalite.bindings,
    MOCK_TOKEN_DELAY_MS: '0',
    GATEWAY_API_KEYS: `${name}:${key}`,
    ADMIN_API_KEY: ADMIN_KEY,
    ...settings,
  };
  const instances = await Promise.all([
    startLambdaFunction({ taskRoot, env }),
    startLambdaFunction({ taskRoot, env }),
  ]);
  const send = async (fn: LambdaFunction, path = '/api/completions') => {
    const invocation = fn.invoke(
      functionUrlEvent({ path, body, headers: { authorization: `Bearer ${key}` } }),
    );
    const response = await invocation.response;
    await response.arrayBuffer();
    await invocation.settled;
    return response;
  };
  return { name, instances, send };
}

describe('Lambda with DYNAMODB_TABLE: two instances share one table', () => {
  it('holds a request limit of N exactly across both instances', async () => {
    const { instances, send } = await twoInstances({ RATE_LIMIT_MAX: '3' });
    const [first, second] = instances;
    // Both at once: six requests, three of them in each sandbox, and exactly three get through.
    const statuses = await Promise.all(
      [first, second, first, second, first, second].map(async (fn) => (await send(fn)).status),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(3);
    const refused = await send(second);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    for (const fn of instances) {
      expect(fn.logs.find((line) => line.event === 'limit_store')).toMatchObject({ kind: 'dynamodb' });
    }
  });

  it('charges a token budget in one instance that the other enforces', async () => {
    // A day's window, aligned to the clock: no boundary falls inside the test but at midnight UTC.
    const { instances, send } = await twoInstances({
      RATE_LIMIT_MAX: '0',
      TOKEN_LIMIT_MAX: '10',
      TOKEN_LIMIT_WINDOW_MS: '86400000',
    });
    const [first, second] = instances;
    const allowed = await send(first);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-ratelimit-remaining-tokens')).toBe('10');
    // The mock model's answer used more than 10 tokens, charged before the answer was sent.
    const refused = await send(second);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it("counts both instances' requests in /api/usage on either", async () => {
    const { name, instances, send } = await twoInstances({ RATE_LIMIT_MAX: '0' });
    const [first, second] = instances;
    for (const fn of [first, second, second, first, second]) expect((await send(fn)).status).toBe(200);
    const invocation = first.invoke(
      functionUrlEvent({ path: '/api/usage', headers: { authorization: `Bearer ${ADMIN_KEY}` } }),
    );
    const usage = await (await invocation.response).json();
    await invocation.settled;
    expect(usage.by_key[name]).toMatchObject({ requests: 5 });
    expect(usage.by_key[name].total_tokens).toBeGreaterThan(0);
  });

  it('refuses with 503 under REDIS_FAILURE_POLICY=closed while the table is unreachable, and limits again once it is back', async () => {
    const { instances, send } = await twoInstances({ RATE_LIMIT_MAX: '50', REDIS_FAILURE_POLICY: 'closed' });
    const [first, second] = instances;
    expect((await send(first)).status).toBe(200);
    await dynalite.kill();
    const refused = await send(second);
    expect(refused.status).toBe(503);
    expect(second.logs.filter((line) => line.event === 'limit_store_unavailable')).toHaveLength(1);
    await dynalite.restart();
    await until(async () => (await send(second)).status === 200);
    expect((await send(first)).headers.get('ratelimit-limit')).toBe('50');
    expect(second.logs.filter((line) => line.event === 'limit_store_recovered')).toHaveLength(1);
  });
});
