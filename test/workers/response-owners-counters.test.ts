import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { workersStores } from '../../adapters/workers/workers-stores.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { localCounters } from './support/local-counters.ts';

// GatewayCounters' response-owner table behind the Workers stores, on Node's SQLite (as
// gateway-counters.test.ts runs the object), on a fake clock. The whole Worker: test/responses-runtimes.test.ts.
const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('response owners in the GatewayCounters Durable Object', () => {
  it('keeps one object per response id, answers its owner until the TTL, then deletes its storage', async () => {
    const local = localCounters();
    const config = loadConfig({ RESPONSE_OWNER_TTL_SECONDS: '600' });
    const { responseOwners } = workersStores(local.namespace)(config, createLogger({ level: 'silent' }));
    await responseOwners.remember('resp_1', { keyId: 'alice', unsettled: true });
    expect(await responseOwners.ownerOf('resp_1')).toBe('alice');
    expect(await Promise.all([1, 2, 3].map(() => responseOwners.claimUnsettled('resp_1')))).toEqual([
      true,
      false,
      false,
    ]);
    expect(await responseOwners.ownerOf('resp_2')).toBeNull();
    const { counters, storage } = local.object('response:resp_1');
    expect(storage.count('response_owners')).toBe(1);
    expect(storage.alarm).toBe(T0 + 600_000);

    vi.setSystemTime(T0 + 600_000);
    expect(await responseOwners.ownerOf('resp_1')).toBeNull();
    await counters.alarm();
    expect(storage.alarm).toBeNull();
    expect(storage.count('response_owners')).toBe(0);
  });
});
