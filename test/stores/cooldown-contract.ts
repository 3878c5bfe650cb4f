import { describe, expect, it } from 'vitest';
import { type CooldownStore, StoreUnavailableError } from '../../src/stores/stores.ts';

export type CooldownBackend = {
  /** A store as one more instance would open it on the shared backend (memory: the one store). */
  open(): CooldownStore;
  /** A store whose backend cannot be reached; absent where there is none (memory). */
  unreachable?: () => CooldownStore;
};

let unique = 0;
/** An upstream name no other test (or earlier run against the same backend) has used. */
const upstream = () => `upstream-${Date.now()}-${unique++}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until the clock is past `time`, plus a margin against clocks read a moment apart. */
const pastTime = async (time: number, marginMs = 250) => sleep(Math.max(0, time - Date.now()) + marginMs);

/** Runs a call between two readings of the clock: bounds on the times the store chose. */
async function timed<T>(action: () => Promise<T>) {
  const before = Date.now();
  const result = await action();
  return { result, before, after: Date.now() };
}

/**
 * What every CooldownStore must do, as memoryCooldownStore does (src/stores/memory-cooldown-store.ts).
 * Times are real: cooldowns of a second or more, and waits with margins, so a loaded machine only
 * makes the suite slower. Each test uses its own upstream names, so backends need no reset.
 */
export function cooldownContract(label: string, backend: CooldownBackend) {
  describe(`the cooldown store on ${label}`, () => {
    const rule = { threshold: 3, cooldownMs: 60_000 };

    it('counts failures, and starts a cooldown only when they reach the threshold', async () => {
      const store = backend.open();
      const name = upstream();
      expect(await store.failed(name, rule)).toEqual({ failures: 1, coolUntil: 0 });
      expect(await store.failed(name, rule)).toEqual({ failures: 2, coolUntil: 0 });
      expect(await store.health([name])).toEqual(new Map([[name, { failures: 2, coolUntil: 0 }]]));

      const { result, before, after } = await timed(() => store.failed(name, rule));
      expect(result.failures).toBe(3);
      expect(result.coolUntil).toBeGreaterThanOrEqual(before + rule.cooldownMs);
      expect(result.coolUntil).toBeLessThanOrEqual(after + rule.cooldownMs);
      expect((await store.health([name])).get(name)).toEqual(result);
    });

    it('answers for many upstreams at once, leaving healthy ones out', async () => {
      const store = backend.open();
      const [sick, healthy, other] = [upstream(), upstream(), upstream()];
      await store.failed(sick, rule);
      await store.failed(other, { ...rule, threshold: 1 });
      const health = await store.health([sick, healthy, other]);
      expect([...health.keys()].sort()).toEqual([sick, other].sort());
      expect(health.get(sick)).toEqual({ failures: 1, coolUntil: 0 });
      expect(health.get(other)?.coolUntil).toBeGreaterThan(Date.now());
      expect(await store.health([])).toEqual(new Map());
    });

    it('cools down at once for a Retry-After (coolForMs), and never shortens a running cooldown', async () => {
      const store = backend.open();
      const name = upstream();
      const first = await timed(() => store.failed(name, { ...rule, coolForMs: 120_000 }));
      expect(first.result.failures).toBe(1);
      expect(first.result.coolUntil).toBeGreaterThanOrEqual(first.before + 120_000);
      expect(first.result.coolUntil).toBeLessThanOrEqual(first.after + 120_000);
      const { coolUntil } = first.result;

      // A shorter Retry-After, and a threshold reached with a shorter cooldown, leave it as it is.
      expect(await store.failed(name, { ...rule, coolForMs: 1_000 })).toEqual({ failures: 2, coolUntil });
      expect(await store.failed(name, { threshold: 1, cooldownMs: 10_000 })).toEqual({
        failures: 3,
        coolUntil,
      });
      // A longer one extends it.
      const longer = await timed(() => store.failed(name, { ...rule, coolForMs: 300_000 }));
      expect(longer.result.failures).toBe(4);
      expect(longer.result.coolUntil).toBeGreaterThanOrEqual(longer.before + 300_000);
      expect((await store.health([name])).get(name)).toEqual(longer.result);
    });

    it('restarts the cooldown on a failure during probation, below the threshold', async () => {
      const store = backend.open();
      const name = upstream();
      // A high threshold: only probation can start the second cooldown.
      const patient = { threshold: 100, cooldownMs: 30_000 };
      const first = await store.failed(name, { ...patient, coolForMs: 1_500 });
      // While it cools down, a failure below the threshold changes only the count.
      expect(await store.failed(name, patient)).toEqual({ failures: 2, coolUntil: first.coolUntil });

      await pastTime(first.coolUntil);
      // On probation now: the record outlives its cooldown by one more cooldown.
      expect((await store.health([name])).get(name)).toEqual({ failures: 2, coolUntil: first.coolUntil });
      const again = await timed(() => store.failed(name, patient));
      expect(again.result.failures).toBe(3);
      expect(again.result.coolUntil).toBeGreaterThanOrEqual(again.before + patient.cooldownMs);
      expect(again.result.coolUntil).toBeLessThanOrEqual(again.after + patient.cooldownMs);
    });

    it('clears the count and the cooldown on a success', async () => {
      const store = backend.open();
      const name = upstream();
      for (let i = 0; i < 3; i++) await store.failed(name, rule);
      expect((await store.health([name])).get(name)?.coolUntil).toBeGreaterThan(0);
      await store.succeeded(name);
      expect(await store.health([name])).toEqual(new Map());
      // The count starts again from one.
      expect(await store.failed(name, rule)).toEqual({ failures: 1, coolUntil: 0 });
      // A success for an upstream with no record is harmless.
      await store.succeeded(upstream());
    });

    it('lets one caller probe per ttl, and another after a failure or a success', async () => {
      const store = backend.open();
      const name = upstream();
      expect(await store.claimProbe(name, 60_000)).toBe(true);
      expect(await store.claimProbe(name, 60_000)).toBe(false);
      // The probe failed: the claim is released with the failure.
      await store.failed(name, rule);
      expect(await store.claimProbe(name, 60_000)).toBe(true);
      expect(await store.claimProbe(name, 60_000)).toBe(false);
      // The probe succeeded: no claim is left either.
      await store.succeeded(name);
      expect(await store.claimProbe(name, 60_000)).toBe(true);

      // A claim nobody released ends with its ttl.
      const stale = upstream();
      expect(await store.claimProbe(stale, 2_000)).toBe(true);
      const claimedAt = Date.now();
      expect(await store.claimProbe(stale, 2_000)).toBe(false);
      await pastTime(claimedAt + 2_000);
      expect(await store.claimProbe(stale, 2_000)).toBe(true);
    });

    it('shows two instances one state, and counts every failure they report at once', async () => {
      const [a, b] = [backend.open(), backend.open()];
      const name = upstream();
      const patient = { threshold: 100, cooldownMs: 60_000 };
      await a.failed(name, patient);
      expect((await b.health([name])).get(name)).toEqual({ failures: 1, coolUntil: 0 });
      expect(await b.failed(name, patient)).toEqual({ failures: 2, coolUntil: 0 });

      // Eight at once, from both: each failure counted once, none lost to another.
      const counts = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).failed(name, patient)),
      );
      expect(counts.map((health) => health.failures).sort((x, y) => x - y)).toEqual([
        3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect((await a.health([name])).get(name)?.failures).toBe(10);

      // One probe between them, however many ask at once.
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimProbe(name, 60_000)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await a.claimProbe(name, 60_000)).toBe(false);

      await b.succeeded(name);
      expect(await a.health([name])).toEqual(new Map());
      expect(await a.claimProbe(name, 60_000)).toBe(true);
    });

    it("forgets an upstream's record once its cooldown and probation are over", async () => {
      const store = backend.open();
      const name = upstream();
      const quick = { threshold: 1, cooldownMs: 1_500 };
      const { result } = await timed(() => store.failed(name, quick));
      expect((await store.health([name])).get(name)).toEqual(result);
      // healthTtlMs: the record lives one cooldown past the end of its own.
      await pastTime(result.coolUntil + quick.cooldownMs);
      expect(await store.health([name])).toEqual(new Map());
      // Forgotten: no probation, and the count starts again.
      expect(await store.failed(name, { threshold: 2, cooldownMs: 1_000 })).toEqual({
        failures: 1,
        coolUntil: 0,
      });

      // Below the threshold too: a failure counts for one cooldown.
      const other = upstream();
      const { after } = await timed(() => store.failed(other, { threshold: 5, cooldownMs: 1_500 }));
      expect((await store.health([other])).get(other)).toEqual({ failures: 1, coolUntil: 0 });
      await pastTime(after + 1_500);
      expect(await store.health([other])).toEqual(new Map());
    });

    const { unreachable } = backend;
    if (!unreachable) return;
    it('fails as unavailable when its backend cannot be reached', async () => {
      const store = unreachable();
      await expect(store.health(['a'])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.failed('a', rule)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.succeeded('a')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.claimProbe('a', 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
