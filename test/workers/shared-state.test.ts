import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker, type TestWorker } from './support/start-worker.ts';

/**
 * Limits shared through the GatewayCounters Durable Object, proved with two workerd processes that
 * cannot share memory: `primary` is the gateway from wrangler.toml and hosts the objects; `peer` is
 * the same gateway in a second workerd whose COUNTERS binding reaches the primary's objects through
 * the dev registry (`script_name`), as every isolate on Cloudflare reaches the one object of a name.
 * Had either counted in its own memory, each would allow the full limit: the counts below would
 * double, and each process would report its own RateLimit-Remaining.
 */
const registry = await mkdtemp(join(tmpdir(), 'gateway-dev-registry-'));
afterAll(() => rm(registry, { recursive: true, force: true }));

// One key per test, so tests do not share a window: all of them count in the same objects.
const CLIENTS = ['sequential', 'burst', 'budget', 'usage-a', 'usage-b', 'fallback', 'unreachable'];
const keyOf = (name: string) => `sk-${name}-0123456789abcdef`;
const as = (name: string) => ({ headers: { authorization: `Bearer ${keyOf(name)}` } });
const ADMIN = { headers: { authorization: `Bearer ${keyOf('admin')}` } };

const vars = {
  GATEWAY_API_KEYS: CLIENTS.map((name) => `${name}:${keyOf(name)}`).join(','),
  ADMIN_API_KEY: keyOf('admin'),
  RATE_LIMIT_MAX: '5',
  RATE_LIMIT_WINDOW_MS: '60000',
  TOKEN_LIMIT_MAX: '1000',
  // An hour, so the budget test cannot straddle two epoch-aligned windows.
  TOKEN_LIMIT_WINDOW_MS: '3600000',
};
const PRIMARY = 'gateway-counters-primary';
const counters = (scriptName: string) => ({
  type: 'durable_object_namespace',
  class_name: 'GatewayCounters',
  script_name: scriptName,
});

const primary = await startWorker({ vars, name: PRIMARY, registry });
const peer = await startWorker({
  vars,
  name: 'gateway-counters-peer',
  entrypoint: 'test/workers/support/peer-worker.ts',
  registry,
  upstream: primary.upstream,
  // UNREACHABLE names a worker that is not running: every call to it fails.
  bindings: { COUNTERS: counters(PRIMARY), UNREACHABLE: counters('gateway-not-running') },
});
const upstream = primary.upstream;
const either = (i: number): TestWorker => (i % 2 === 0 ? primary : peer);

describe('limits shared by two workerd processes through the GatewayCounters Durable Object', () => {
  it('starts both workers without runtime warnings, with the Durable Object store', () => {
    for (const worker of [primary, peer]) {
      expect(worker.runtimeMessages.filter((line) => line.level !== 'info' && line.level !== 'log')).toEqual(
        [],
      );
      expect(worker.logs.find((line) => line.event === 'limit_store')).toMatchObject({
        kind: 'durable-object',
      });
    }
  });

  it('continues one RateLimit-Remaining count whichever process answers, and refuses the 6th of 5', async () => {
    const sent = upstream.requests.length;
    const answers: [number, string | null][] = [];
    for (let i = 0; i < 6; i++) {
      const response = await either(i).post('/api/completions', chat(), as('sequential'));
      await response.arrayBuffer();
      answers.push([response.status, response.headers.get('ratelimit-remaining')]);
    }
    // Two memory stores would answer 4, 4, 3, 3, 2, 2 and let all six through.
    expect(answers).toEqual([
      [200, '4'],
      [200, '3'],
      [200, '2'],
      [200, '1'],
      [200, '0'],
      [429, '0'],
    ]);
    expect(upstream.requests.length - sent).toBe(5);
  });

  it('lets exactly RATE_LIMIT_MAX of 20 concurrent requests, split over both processes, reach the upstream', async () => {
    const sent = upstream.requests.length;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => either(i).post('/api/completions', chat(), as('burst'))),
    );
    await Promise.all(responses.map((response) => response.arrayBuffer()));
    const statuses = responses.map((response) => response.status);
    // Per-process memory would let 5 through on each: 10.
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
    expect(upstream.requests.length - sent).toBe(5);
  });

  it("charges a stream's usage to the token budget, and the other process sees and enforces it", async () => {
    upstream.enqueue({ promptTokens: 900 });
    const stream = await primary.post('/api/completions/stream', chat(), as('budget'));
    expect(stream.headers.get('x-ratelimit-remaining-tokens')).toBe('1000');
    expect(await stream.text()).toContain('"total_tokens":911');

    // Charged before the stream closed: the peer already sees 1000 - 911.
    upstream.enqueue({ promptTokens: 100 });
    const json = await peer.post('/api/completions', chat(), as('budget'));
    expect(json.headers.get('x-ratelimit-remaining-tokens')).toBe('89');
    expect((await json.json()).usage.total_tokens).toBe(111);

    const sent = upstream.requests.length;
    const refused = await primary.post('/api/completions/stream', chat(), as('budget'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect((await refused.json()).error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(upstream.requests.length).toBe(sent);
  });

  it('keeps one set of usage totals: /api/usage answers the same on both, counting what each served', async () => {
    const served = [
      await primary.post('/api/completions', chat('hi', { model: 'gpt-4.1' }), as('usage-a')),
      await peer.post('/api/completions/stream', chat(), as('usage-b')),
      await peer.post('/api/completions', chat(), as('usage-a')),
    ];
    for (const response of served) await response.text();
    const [fromPrimary, fromPeer] = await Promise.all(
      [primary, peer].map(async (worker) => (await worker.get('/api/usage', ADMIN)).json()),
    );
    expect(fromPeer).toEqual(fromPrimary);
    // The fake upstream reports 12 prompt tokens and one completion token per word (11).
    const tally = (requests: number) => ({
      requests,
      prompt_tokens: 12 * requests,
      completion_tokens: 11 * requests,
      total_tokens: 23 * requests,
      estimated_requests: 0,
    });
    expect(fromPrimary.by_key['usage-a']).toEqual(tally(2));
    expect(fromPrimary.by_key['usage-b']).toEqual(tally(1));
    expect(fromPrimary.by_model['gpt-4.1']).toEqual(tally(1));
  });
});

describe('the Workers adapter when the shared store is missing, unreachable or misconfigured', () => {
  it('falls back to memory without the binding, counting apart from the shared store, and says so once', async () => {
    const counted = async (worker: TestWorker, path: string) => {
      const response = await worker.post(path, chat(), as('fallback'));
      await response.arrayBuffer();
      return response.headers.get('ratelimit-remaining');
    };
    expect(await counted(primary, '/api/completions')).toBe('4');
    expect(await counted(peer, '/without-binding/api/completions')).toBe('4');
    expect(await counted(peer, '/without-binding/api/completions')).toBe('3');
    const notices = peer.logs.filter((line) => line.event === 'limit_store_not_shared');
    expect(notices).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('COUNTERS') }),
    ]);
    expect(peer.logs.filter((line) => line.event === 'limit_store').map((line) => line.kind)).toContain(
      'memory',
    );
  });

  it('refuses REDIS_URL, which a Worker cannot use, as a configuration error naming it', async () => {
    const response = await peer.get('/with-redis-url/api/health');
    expect(response.status).toBe(500);
    expect((await response.json()).error).toMatchObject({ code: 'config_error' });
    await waitFor(() => peer.logs.some((line) => line.event === 'config_error'));
    expect(peer.logs.find((line) => line.event === 'config_error')?.message).toMatch(/^REDIS_URL is set/);
  });

  it('applies REDIS_FAILURE_POLICY when the object cannot be reached: closed answers 503, open serves', async () => {
    const sent = upstream.requests.length;
    for (let i = 0; i < 2; i++) {
      const closed = await peer.post('/unreachable-closed/api/completions', chat(), as('unreachable'));
      expect(closed.status).toBe(503);
      expect((await closed.json()).error).toMatchObject({ code: 'limits_unavailable' });
    }
    expect(upstream.requests.length).toBe(sent);

    const open = await peer.post('/unreachable-open/api/completions', chat(), as('unreachable'));
    expect(open.status).toBe(200);
    await open.arrayBuffer();
    expect(upstream.requests.length).toBe(sent + 1);

    // Logged once per outage (here: per env, each with its own policy), not once per request.
    await waitFor(() => peer.logs.filter((line) => line.event === 'limit_store_unavailable').length === 2);
    const outages = peer.logs.filter((line) => line.event === 'limit_store_unavailable');
    expect(outages.map((line) => [line.level, line.store, line.policy])).toEqual([
      ['error', 'durable-object', 'closed'],
      ['error', 'durable-object', 'open'],
    ]);
  });
});
