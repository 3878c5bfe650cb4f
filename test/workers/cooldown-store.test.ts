import { describe, expect, it } from 'vitest';
import type { CooldownStore, UpstreamHealth } from '../../src/stores/stores.ts';
import { cooldownContract } from '../stores/cooldown-contract.ts';
import { waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

/**
 * The Workers cooldown store and its GatewayCounters object as workerd runs them: the contract
 * (test/stores/cooldown-contract.ts) through test/workers/support/cooldowns-worker.ts, each store
 * instance built in the worker as an isolate builds its own, all of them reaching the one
 * `cooldowns` object; and the object's alarm as workerd fires it.
 */
const worker = await startWorker({ entrypoint: 'test/workers/support/cooldowns-worker.ts' });

let instances = 0;
/** A store in the worker, called over HTTP: `instance` names which one. */
function workerStore(instance = `instance-${instances++}`): CooldownStore {
  const call = async (method: keyof CooldownStore, ...args: unknown[]) => {
    const response = await worker.post(`/__cooldowns/${instance}/${method}`, args);
    const body = (await response.json()) as { result?: unknown; error?: string };
    if (body.error) throw new Error(body.error);
    return body.result;
  };
  return {
    health: async (names) => new Map((await call('health', names)) as [string, UpstreamHealth][]),
    failed: async (name, rule) => (await call('failed', name, rule)) as UpstreamHealth,
    succeeded: async (name) => {
      await call('succeeded', name);
    },
    claimProbe: async (name, ttlMs) => (await call('claimProbe', name, ttlMs)) as boolean,
  };
}

type Inspected = { cooldowns: number; probes: number; alarm: number | null };
const inspect = async (name: string) => (await (await worker.get(`/__inspect/${name}`)).json()) as Inspected;

// First, while the object holds nothing that lives longer than these few seconds.
describe('the cooldowns object, fired by workerd', () => {
  it('keeps every upstream in one object, and its alarm deletes them, and its storage, once they end', async () => {
    const store = workerStore();
    const before = Date.now();
    // Lifetimes of a few seconds: long enough to read the object before they end on a busy machine.
    const cooled = await store.failed('alarm-a', { threshold: 1, cooldownMs: 2_000 });
    await store.failed('alarm-b', { threshold: 5, cooldownMs: 2_000 });
    expect(await store.claimProbe('alarm-a', 2_000)).toBe(true);

    // One alarm, at the latest end: alarm-a's record, one cooldown past its own (unless the calls
    // after it took seconds).
    const live = await inspect('cooldowns');
    expect(live).toMatchObject({ cooldowns: 2, probes: 1 });
    expect(live.alarm).toBeGreaterThanOrEqual(cooled.coolUntil + 2_000);
    expect(live.alarm).toBeGreaterThanOrEqual(before + 4_000);
    expect(live.alarm).toBeLessThanOrEqual(Date.now() + 4_000);

    // Nothing calls the store again: only the alarm can empty the object.
    const emptied = await waitFor(async () => {
      const state = await inspect('cooldowns');
      return state.alarm === null && state.cooldowns === 0 && state;
    });
    expect(emptied).toEqual({ cooldowns: 0, probes: 0, alarm: null });
    expect(await store.health(['alarm-a', 'alarm-b'])).toEqual(new Map());
    expect(await store.failed('alarm-a', { threshold: 1, cooldownMs: 1_000 })).toMatchObject({ failures: 1 });
  });
});

cooldownContract('the GatewayCounters object in workerd', { open: () => workerStore() });
