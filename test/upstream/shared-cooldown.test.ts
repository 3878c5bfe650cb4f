import { afterAll, describe, expect, it } from 'vitest';
import { packagedTemplate, startDynalite, tableOf } from '../dynamodb/dynalite-server.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { chat, startGateway, waitFor } from '../support/start-gateway.ts';

// Two gateway instances on one shared store: a cooldown one of them starts is the other's too, and
// of all the requests both send when it ends, exactly one probes the upstream.
const [redis, dynalite] = await Promise.all([
  startRedisServer(),
  packagedTemplate()
    .then(tableOf)
    .then((table) => startDynalite(table)),
]);
let unique = 0;

const stores: [string, () => Record<string, string>][] = [
  ['Redis', () => ({ REDIS_URL: redis.url, REDIS_PREFIX: `cooldown${unique++}:` })],
  ['DynamoDB', () => dynalite.bindings],
];

async function fakes(): Promise<[FakeUpstream, FakeUpstream]> {
  const started = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  afterAll(() => Promise.all(started.map((fake) => fake.close())));
  return started;
}

describe.each(stores)('two gateways sharing one %s', (_name, storeBindings) => {
  it('share a cooldown, and one probe when it ends', async () => {
    const [a, b] = await fakes();
    // Names of their own per run, so the DynamoDB table (shared by the file) starts clean for them.
    const run = unique++;
    const [first, second] = [`a${run}`, `b${run}`];
    const bindings = {
      ...storeBindings(),
      OPENAI_API_KEY: '',
      OPENAI_BASE_URL: '',
      UPSTREAMS: JSON.stringify([
        { name: first, base_url: a.baseURL, api_key_binding: 'KEY_A' },
        { name: second, base_url: b.baseURL, api_key_binding: 'KEY_B' },
      ]),
      KEY_A: 'sk-a-key',
      KEY_B: 'sk-b-key',
      UPSTREAM_ATTEMPTS_EACH: '1',
      UPSTREAM_COOLDOWN_FAILURES: '2',
      UPSTREAM_COOLDOWN_MS: '2000',
      // Generous: the first calls of each instance connect to the store.
      REDIS_TIMEOUT_MS: '5000',
    };
    const [one, two] = await Promise.all([startGateway({ bindings }), startGateway({ bindings })]);
    const upstreamOf = async (gateway: typeof one) => {
      const response = await gateway.post('/api/completions', chat());
      expect(response.status).toBe(200);
      return response.headers.get('x-gateway-upstream');
    };

    a.setDefault({ status: 503 });
    expect([await upstreamOf(one), await upstreamOf(one)]).toEqual([second, second]);
    expect(a.requests).toHaveLength(2);
    const cooldown = await waitFor(() => one.logs.find((line) => line.event === 'upstream_cooldown'));

    // The other instance never saw a failure: it reads the cooldown from the store.
    expect(await upstreamOf(two)).toBe(second);
    expect(a.requests).toHaveLength(2);
    expect(two.logs.filter((line) => line.event === 'upstream_attempt_failed')).toEqual([]);

    // Well again, and the cooldown over: four requests at once, two from each instance, while the
    // probe is held long enough for all of them to arrive; exactly one reaches a.
    a.setDefault({ firstByteDelayMs: 400 });
    const ends = Date.parse(String(cooldown.until));
    await waitFor(() => Date.now() > ends + 50);
    const answers = await Promise.all([one, two, one, two].map((gateway) => upstreamOf(gateway)));
    expect(answers.filter((name) => name === first)).toHaveLength(1);
    expect(answers.filter((name) => name === second)).toHaveLength(3);
    expect(a.requests).toHaveLength(3);

    // The probe succeeded: the record is gone for both, and a is first choice again everywhere.
    a.setDefault({});
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect([await upstreamOf(one), await upstreamOf(two)]).toEqual([first, first]);
  });
});
