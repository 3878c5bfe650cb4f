import { DurableObject, type DurableObjectState } from 'cloudflare:workers';
import { HEALTHY, healthTtlMs, nextHealth } from '../../src/stores/memory-cooldown-store.ts';
import type { CooldownRule, UpstreamHealth } from '../../src/stores/stores.ts';
import { type Counters, countersOf, HOUR_MS, type UsageRecord } from '../../src/usage/usage-store.ts';

/** A client's requests in its current window: hono-rate-limiter's count, and the time left. */
export type Hits = { totalHits: number; resetMs: number };

export type UsageRow = { keyId: string; model: string; counters: Counters };

// As long as the Redis store keeps usage: the usage API can look back over this span.
const USAGE_RETENTION_HOURS = 35 * 24;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS hits (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, reset_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS tokens (
    key TEXT PRIMARY KEY, slot INTEGER NOT NULL, used INTEGER NOT NULL, ends_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS usage (
    hour INTEGER NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL,
    requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, estimated_requests INTEGER NOT NULL,
    PRIMARY KEY (hour, key_id, model));
  CREATE TABLE IF NOT EXISTS cooldowns (
    name TEXT PRIMARY KEY, failures INTEGER NOT NULL, cool_until INTEGER NOT NULL, live_until INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS probes (name TEXT PRIMARY KEY, claimed_until INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS response_owners (
    id TEXT PRIMARY KEY, key_id TEXT NOT NULL, unsettled INTEGER NOT NULL, expires_at INTEGER NOT NULL);
`;

/**
 * The counters every isolate shares (docs/workers.md, "Shared state"). One object per client key
 * holds that client's request window and token window; one object named `usage` holds usage per
 * hour, key and model; one named `cooldowns` holds every upstream's cooldown. Each method runs
 * alone on its object and its SQL is synchronous, so a read-modify-write is atomic without a
 * transaction: the same guarantee Redis's scripts give.
 */
export class GatewayCounters extends DurableObject {
  /** The alarm this instance last set; 0 after a restart, so the first write sets it again. */
  #alarmAt = 0;
  #prunedHour = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.ctx.storage.sql.exec(SCHEMA);
  }

  /** hono-rate-limiter's increment, as its Redis script does it: a window starts at the first hit. */
  async incrementHits(key: string, windowMs: number): Promise<Hits> {
    const now = Date.now();
    const row = this.#sql<{ count: number; reset_at: number }>(
      `INSERT INTO hits (key, count, reset_at) VALUES (?1, 1, ?2 + ?3)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN reset_at <= ?2 THEN 1 ELSE count + 1 END,
         reset_at = CASE WHEN reset_at <= ?2 THEN ?2 + ?3 ELSE reset_at END
       RETURNING count, reset_at`,
      key,
      now,
      windowMs,
    ).one();
    await this.#expireAt(row.reset_at);
    return { totalHits: row.count, resetMs: row.reset_at - now };
  }

  getHits(key: string): Hits | undefined {
    const now = Date.now();
    const [row] = this.#sql<{ count: number; reset_at: number }>(
      'SELECT count, reset_at FROM hits WHERE key = ? AND reset_at > ?',
      key,
      now,
    ).toArray();
    return row && { totalHits: row.count, resetMs: row.reset_at - now };
  }

  /** Never below zero, and never into a window that has ended (as MemoryStore and RedisStore). */
  decrementHits(key: string): void {
    this.#sql(
      'UPDATE hits SET count = count - 1 WHERE key = ? AND count > 0 AND reset_at > ?',
      key,
      Date.now(),
    );
  }

  resetHits(key: string): void {
    this.#sql('DELETE FROM hits WHERE key = ?', key);
  }

  /** Token windows are fixed and aligned to the epoch, as in the memory and Redis stores. */
  usedTokens(key: string, windowMs: number): { used: number; resetMs: number } {
    const now = Date.now();
    const slot = Math.floor(now / windowMs);
    const [row] = this.#sql<{ used: number }>(
      'SELECT used FROM tokens WHERE key = ? AND slot = ?',
      key,
      slot,
    ).toArray();
    return { used: row?.used ?? 0, resetMs: (slot + 1) * windowMs - now };
  }

  async chargeTokens(key: string, tokens: number, windowMs: number): Promise<void> {
    const slot = Math.floor(Date.now() / windowMs);
    const endsAt = (slot + 1) * windowMs;
    this.#sql(
      `INSERT INTO tokens (key, slot, used, ends_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (key) DO UPDATE SET
         used = CASE WHEN slot = ?2 THEN used + ?3 ELSE ?3 END, slot = ?2, ends_at = ?4`,
      key,
      slot,
      tokens,
      endsAt,
    );
    await this.#expireAt(endsAt);
  }

  recordUsage(record: UsageRecord): void {
    const hour = Math.floor(record.time / HOUR_MS);
    const add = countersOf(record);
    this.#sql(
      `INSERT INTO usage VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
       ON CONFLICT (hour, key_id, model) DO UPDATE SET
         requests = requests + ?4, prompt_tokens = prompt_tokens + ?5,
         completion_tokens = completion_tokens + ?6, estimated_requests = estimated_requests + ?7`,
      hour,
      record.keyId,
      record.model,
      add.requests,
      add.prompt_tokens,
      add.completion_tokens,
      add.estimated_requests,
    );
    if (hour > this.#prunedHour) {
      this.#sql('DELETE FROM usage WHERE hour < ?', hour - USAGE_RETENTION_HOURS);
      this.#prunedHour = hour;
    }
  }

  /** Rows for the hours that overlap [from, to); the caller sums them (src/usage/usage-store.ts). */
  usageRows(from: number, to: number): UsageRow[] {
    const rows = this.#sql<{
      key_id: string;
      model: string;
      requests: number;
      prompt_tokens: number;
      completion_tokens: number;
      estimated_requests: number;
    }>(
      `SELECT key_id, model, requests, prompt_tokens, completion_tokens, estimated_requests
       FROM usage WHERE hour >= ? AND hour < ?`,
      Math.floor(from / HOUR_MS),
      Math.ceil(to / HOUR_MS),
    ).toArray();
    return rows.map(({ key_id, model, ...counters }) => ({ keyId: key_id, model, counters }));
  }

  /** The named upstreams' live records: healthy ones have none (src/stores/memory-cooldown-store.ts). */
  cooldownHealth(names: string[]): [string, UpstreamHealth][] {
    const wanted = new Set(names);
    return this.#sql<{ name: string; failures: number; cool_until: number }>(
      'SELECT name, failures, cool_until FROM cooldowns WHERE live_until > ?',
      Date.now(),
    )
      .toArray()
      .filter((row) => wanted.has(row.name))
      .map((row) => [row.name, { failures: row.failures, coolUntil: row.cool_until }]);
  }

  /** nextHealth on the live record, or on a healthy one; a failure releases any probe claim. */
  async cooldownFailed(name: string, rule: CooldownRule): Promise<UpstreamHealth> {
    const now = Date.now();
    const [row] = this.#sql<{ failures: number; cool_until: number }>(
      'SELECT failures, cool_until FROM cooldowns WHERE name = ? AND live_until > ?',
      name,
      now,
    ).toArray();
    const health = nextHealth(
      row ? { failures: row.failures, coolUntil: row.cool_until } : HEALTHY,
      rule,
      now,
    );
    const liveUntil = now + healthTtlMs(health, rule, now);
    this.#sql(
      'INSERT OR REPLACE INTO cooldowns VALUES (?, ?, ?, ?)',
      name,
      health.failures,
      health.coolUntil,
      liveUntil,
    );
    this.#sql('DELETE FROM probes WHERE name = ?', name);
    await this.#expireAt(liveUntil);
    return health;
  }

  cooldownSucceeded(name: string): void {
    this.#sql('DELETE FROM cooldowns WHERE name = ?', name);
    this.#sql('DELETE FROM probes WHERE name = ?', name);
  }

  /** True for exactly one caller per `ttlMs`: the upsert changes a row only once the last claim ended. */
  async claimCooldownProbe(name: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const claimed = this.#sql(
      `INSERT INTO probes VALUES (?1, ?2 + ?3)
       ON CONFLICT (name) DO UPDATE SET claimed_until = ?2 + ?3 WHERE claimed_until <= ?2
       RETURNING claimed_until`,
      name,
      now,
      ttlMs,
    ).toArray();
    if (!claimed.length) return false;
    await this.#expireAt(now + ttlMs);
    return true;
  }

  /** Which client key created a Responses API response (one object per response id). */
  async rememberOwner(
    responseId: string,
    keyId: string,
    unsettled: boolean,
    expiresAt: number,
  ): Promise<void> {
    this.#sql(
      'INSERT OR REPLACE INTO response_owners (id, key_id, unsettled, expires_at) VALUES (?, ?, ?, ?)',
      responseId,
      keyId,
      unsettled ? 1 : 0,
      expiresAt,
    );
    await this.#expireAt(expiresAt);
  }

  ownerOf(responseId: string): string | null {
    const [row] = this.#sql<{ key_id: string }>(
      'SELECT key_id FROM response_owners WHERE id = ? AND expires_at > ?',
      responseId,
      Date.now(),
    ).toArray();
    return row?.key_id ?? null;
  }

  /** True once: the call that finds the response unsettled marks it settled. */
  claimUnsettled(responseId: string): boolean {
    const rows = this.#sql<{ id: string }>(
      'UPDATE response_owners SET unsettled = 0 WHERE id = ? AND unsettled = 1 AND expires_at > ? RETURNING id',
      responseId,
      Date.now(),
    ).toArray();
    return rows.length > 0;
  }

  /**
   * Windows, cooldowns and probe claims that ended are deleted, as Redis expires their keys. An
   * object left with nothing live (a client that stopped calling) deletes all its storage, so one
   * object per client address does not keep storage, or its bill, forever.
   */
  async alarm(): Promise<void> {
    const now = Date.now();
    this.#sql('DELETE FROM hits WHERE reset_at <= ?', now);
    this.#sql('DELETE FROM tokens WHERE ends_at <= ?', now);
    this.#sql('DELETE FROM cooldowns WHERE live_until <= ?', now);
    this.#sql('DELETE FROM probes WHERE claimed_until <= ?', now);
    this.#sql('DELETE FROM response_owners WHERE expires_at <= ?', now);
    const { next, usage } = this.#sql<{ next: number | null; usage: number }>(
      `SELECT (SELECT max(t) FROM (
                SELECT reset_at AS t FROM hits UNION ALL SELECT ends_at FROM tokens
                UNION ALL SELECT live_until FROM cooldowns UNION ALL SELECT claimed_until FROM probes
                UNION ALL SELECT expires_at FROM response_owners))
              AS next, (SELECT count(*) FROM usage) AS usage`,
    ).one();
    this.#alarmAt = 0;
    if (next !== null) await this.#expireAt(next);
    else if (!usage) {
      await this.ctx.storage.deleteAll();
      this.ctx.storage.sql.exec(SCHEMA);
    }
  }

  /** One alarm, at the latest expiry: moved only when a window reaches past it. */
  async #expireAt(time: number): Promise<void> {
    if (time <= this.#alarmAt) return;
    this.#alarmAt = time;
    await this.ctx.storage.setAlarm(time);
  }

  #sql<Row extends Record<string, number | string | null>>(query: string, ...bindings: (number | string)[]) {
    return this.ctx.storage.sql.exec<Row>(query, ...bindings);
  }
}
