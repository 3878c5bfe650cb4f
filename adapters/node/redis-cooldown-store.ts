import type { Redis } from 'ioredis';
import type { CooldownStore, UpstreamHealth } from '../../src/stores/stores.ts';

/**
 * nextHealth (src/stores/memory-cooldown-store.ts) in Lua, with healthTtlMs as the key's PEXPIRE,
 * so a failure is counted and judged in one step however many instances report one at once. The
 * caller's clock is `now`, as coolUntil is read against the callers' clocks. A failure releases any
 * probe claim: the next probe waits for the cooldown it may have just started.
 */
const FAILED = `
local now, threshold, cooldownMs, coolForMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local stored = redis.call('HMGET', KEYS[1], 'failures', 'coolUntil')
local failures = (tonumber(stored[1]) or 0) + 1
local coolUntil = tonumber(stored[2]) or 0
local onProbation = coolUntil > 0 and coolUntil <= now
if coolForMs ~= 0 then
  coolUntil = math.max(coolUntil, now + coolForMs)
elseif failures >= threshold or onProbation then
  coolUntil = math.max(coolUntil, now + cooldownMs)
end
redis.call('HSET', KEYS[1], 'failures', failures, 'coolUntil', coolUntil)
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(coolUntil, now) - now + cooldownMs))
redis.call('DEL', KEYS[2])
return { failures, coolUntil }
`;

type WithFailed = Redis & {
  cooldownFailed(health: string, probe: string, ...args: number[]): Promise<[number, number]>;
};

/**
 * Upstream cooldowns every instance shares: a hash per upstream (`<prefix>cooldown:<name>`,
 * `failures` and `coolUntil`) that expires with its record, and a probe claim beside it
 * (`<prefix>cooldown-probe:<name>`, SET NX PX). Redis expires keys exactly, so reads filter nothing.
 */
export function redisCooldownStore(
  redis: Redis,
  run: <T>(command: () => Promise<T>) => Promise<T>,
  prefix: string,
): CooldownStore {
  // ioredis sends EVALSHA, and the script itself when Redis answers NOSCRIPT (after a restart).
  redis.defineCommand('cooldownFailed', { numberOfKeys: 2, lua: FAILED });
  const healthKey = (name: string) => `${prefix}cooldown:${name}`;
  const probeKey = (name: string) => `${prefix}cooldown-probe:${name}`;
  return {
    health: (names) =>
      run(async () => {
        const found = new Map<string, UpstreamHealth>();
        if (!names.length) return found;
        const pipeline = redis.pipeline();
        for (const name of names) pipeline.hmget(healthKey(name), 'failures', 'coolUntil');
        const results = (await pipeline.exec()) ?? [];
        results.forEach(([error, fields], i) => {
          if (error) throw error;
          const [failures, coolUntil] = fields as (string | null)[];
          if (failures !== null && failures !== undefined)
            found.set(names[i]!, { failures: Number(failures), coolUntil: Number(coolUntil ?? 0) });
        });
        return found;
      }),
    failed: (name, rule) =>
      run(async () => {
        const [failures, coolUntil] = await (redis as WithFailed).cooldownFailed(
          healthKey(name),
          probeKey(name),
          Date.now(),
          rule.threshold,
          rule.cooldownMs,
          // 0 for none, as nextHealth treats any falsy coolForMs.
          rule.coolForMs || 0,
        );
        return { failures, coolUntil };
      }),
    succeeded: (name) =>
      run(async () => {
        await redis.del(healthKey(name), probeKey(name));
      }),
    claimProbe: (name, ttlMs) =>
      run(async () => {
        // PX takes a positive whole number of milliseconds.
        const px = Math.max(1, Math.ceil(ttlMs));
        return (await redis.set(probeKey(name), '1', 'PX', px, 'NX')) === 'OK';
      }),
  };
}
