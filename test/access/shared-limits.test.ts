import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-server.ts';
import { chat, startGateway } from '../support/start-gateway.ts';
import { ALICE, BOB, bearer, KEY_BINDINGS } from './fixtures.ts';

const redis = await startRedisServer();

describe('two instances sharing one Redis', () => {
  it('enforce one global limit exactly under concurrent requests', async () => {
    // A generous REDIS_TIMEOUT_MS: the burst's first commands queue while each instance connects
    // and loads its scripts, which a busy machine can stretch past the 500 ms default (the
    // requests would then be served by the failure policy, unlimited). Stalls are redis-outage's.
    const bindings = {
      ...KEY_BINDINGS,
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'global:',
      RATE_LIMIT_MAX: '10',
      REDIS_TIMEOUT_MS: '15000',
    };
    const [first, second] = await Promise.all([startGateway({ bindings }), startGateway({ bindings })]);
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        (index % 2 ? first : second)
          .post('/api/completions', chat(), { headers: bearer(ALICE) })
          .then((response) => response.status),
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(30);
    expect(first.upstream.requests.length + second.upstream.requests.length).toBe(10);
    // The count is the key's, on both instances; another key starts its own.
    const other = await first.post('/api/completions', chat(), { headers: bearer(BOB) });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-remaining')).toBe('9');
    for (const gateway of [first, second]) {
      expect(gateway.logs.filter((line) => line.event === 'redis_unavailable')).toEqual([]);
    }
  });

  it('log which store they use', async () => {
    const gateway = await startGateway({ bindings: { REDIS_URL: redis.url } });
    expect(gateway.logs.find((line) => line.event === 'limit_store')).toMatchObject({ kind: 'redis' });
  });
});
