import type { CooldownRule, CooldownStore, UpstreamHealth } from './stores.ts';

export const HEALTHY: UpstreamHealth = { failures: 0, coolUntil: 0 };

/**
 * The cooldown rule, one place for every store: each failure counts; `threshold` in a row, or a
 * failure while on probation (a cooldown has ended, no success since), starts a cooldown; a
 * `coolForMs` (Retry-After) starts one at once and never shortens one already running.
 */
export function nextHealth(previous: UpstreamHealth, rule: CooldownRule, now: number): UpstreamHealth {
  const failures = previous.failures + 1;
  const onProbation = previous.coolUntil > 0 && previous.coolUntil <= now;
  let coolUntil = previous.coolUntil;
  if (rule.coolForMs) coolUntil = Math.max(coolUntil, now + rule.coolForMs);
  else if (failures >= rule.threshold || onProbation) coolUntil = Math.max(coolUntil, now + rule.cooldownMs);
  return { failures, coolUntil };
}

/**
 * How long a shared store keeps an upstream's record after `now`: past its cooldown by one more
 * cooldown (its probation), so a count of old failures does not outlive the incident.
 */
export const healthTtlMs = (health: UpstreamHealth, rule: Pick<CooldownRule, 'cooldownMs'>, now: number) =>
  Math.max(health.coolUntil, now) - now + rule.cooldownMs;

/** Cooldowns in this process (or isolate) only. */
export function memoryCooldownStore(now: () => number = Date.now): CooldownStore {
  const records = new Map<string, UpstreamHealth & { expiresAt: number }>();
  const probes = new Map<string, number>();
  const live = (name: string) => {
    const record = records.get(name);
    if (record && record.expiresAt <= now()) records.delete(name);
    return records.get(name);
  };
  return {
    async health(names) {
      const found = new Map<string, UpstreamHealth>();
      for (const name of names) {
        const record = live(name);
        if (record) found.set(name, { failures: record.failures, coolUntil: record.coolUntil });
      }
      return found;
    },
    async failed(name, rule) {
      const at = now();
      const health = nextHealth(live(name) ?? HEALTHY, rule, at);
      records.set(name, { ...health, expiresAt: at + healthTtlMs(health, rule, at) });
      probes.delete(name);
      return health;
    },
    async succeeded(name) {
      records.delete(name);
      probes.delete(name);
    },
    async claimProbe(name, ttlMs) {
      const at = now();
      if ((probes.get(name) ?? 0) > at) return false;
      probes.set(name, at + ttlMs);
      return true;
    },
  };
}
