import { DurableObject, type DurableObjectState } from 'cloudflare:workers';
import type { StreamLogPage } from '../../src/stores/stream-log-store.ts';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS batches (last INTEGER PRIMARY KEY, first INTEGER NOT NULL, frames TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS live (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
`;

/**
 * A resumable stream's log on Workers: one object per stream (`idFromName(<stream id>)`), so a
 * stream's appends and reads go to an object of its own, never queue behind other streams (one
 * object for every stream would serialise them all, and the GatewayCounters objects are per
 * client). A read waits in the object for the next append, so a reconnect tails the log without
 * polling. The alarm deletes the whole object once the log expires. One more object, named
 * `index`, counts the live logs for STREAM_RESUME_MAX_STREAMS (`admit`).
 */
export class StreamLog extends DurableObject {
  #waiting = new Set<() => void>();

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.ctx.storage.sql.exec(SCHEMA);
  }

  async open(ttlMs: number): Promise<'created' | 'exists'> {
    if (this.#state('opened')) return 'exists';
    this.#set('opened', 1);
    await this.#expireIn(ttlMs);
    return 'created';
  }

  async append(first: number, frames: string[], ttlMs: number): Promise<void> {
    if (!this.#state('opened')) return;
    this.#sql(
      'INSERT OR REPLACE INTO batches (last, first, frames) VALUES (?, ?, ?)',
      first + frames.length - 1,
      first,
      JSON.stringify(frames),
    );
    await this.#expireIn(ttlMs);
    this.#wake();
  }

  async end(ttlMs: number): Promise<void> {
    if (!this.#state('opened')) return;
    this.#set('ended', 1);
    await this.#expireIn(ttlMs);
    this.#wake();
  }

  async remove(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.ctx.storage.sql.exec(SCHEMA);
    this.#wake();
  }

  read(after: number): StreamLogPage | null {
    if (!this.#state('opened')) return null;
    this.#set('read_at', Date.now());
    const page: StreamLogPage = { frames: [], ended: this.#state('ended') === 1 };
    const rows = this.#sql<{ first: number; frames: string }>(
      'SELECT first, frames FROM batches WHERE last > ? ORDER BY last',
      after,
    ).toArray();
    for (const row of rows) {
      const batch = JSON.parse(row.frames) as string[];
      page.frames.push(...batch.slice(Math.max(0, after + 1 - row.first)));
    }
    return page;
  }

  lastRead(): number {
    return this.#state('read_at');
  }

  /** Resolves at the next append or end, or after `maxMs`, whichever comes first. */
  async waitFor(after: number, maxMs: number): Promise<void> {
    const [row] = this.#sql<{ last: number }>('SELECT max(last) AS last FROM batches').toArray();
    if ((row?.last ?? 0) > after || this.#state('ended') || !this.#state('opened')) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, maxMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiting.add(done);
    });
  }

  /** On the `index` object: counts a log in, unless `max` live ones are counted already. */
  admit(id: string, max: number, ttlMs: number): boolean {
    const now = Date.now();
    this.#sql('DELETE FROM live WHERE expires_at <= ?', now);
    const { count } = this.#sql<{ count: number }>('SELECT count(*) AS count FROM live').one();
    if (count >= max) return false;
    this.#sql('INSERT OR REPLACE INTO live (id, expires_at) VALUES (?, ?)', id, now + ttlMs);
    return true;
  }

  /** On the `index` object: a log that ended lives its TTL from now; a removed one no longer counts. */
  release(id: string, ttlMs: number | null): void {
    if (ttlMs === null) this.#sql('DELETE FROM live WHERE id = ?', id);
    else this.#sql('UPDATE live SET expires_at = ? WHERE id = ?', Date.now() + ttlMs, id);
  }

  async alarm(): Promise<void> {
    // The index object has no log of its own: its rows expire as they are read.
    await this.remove();
  }

  #wake() {
    for (const done of this.#waiting) done();
    this.#waiting.clear();
  }

  async #expireIn(ttlMs: number) {
    await this.ctx.storage.setAlarm(Date.now() + ttlMs);
  }

  #state(name: string): number {
    const [row] = this.#sql<{ value: number }>('SELECT value FROM state WHERE name = ?', name).toArray();
    return row?.value ?? 0;
  }

  #set(name: string, value: number) {
    this.#sql('INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)', name, value);
  }

  #sql<Row extends Record<string, number | string | null>>(query: string, ...bindings: (number | string)[]) {
    return this.ctx.storage.sql.exec<Row>(query, ...bindings);
  }
}
