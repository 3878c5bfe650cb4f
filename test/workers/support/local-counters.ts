import { DatabaseSync, type SQLInputValue, type SQLOutputValue } from 'node:sqlite';
import { vi } from 'vitest';
import type { GatewayCounters } from '../../../adapters/workers/gateway-counters.ts';
import type { CountersNamespace } from '../../../adapters/workers/workers-stores.ts';

// workerd's module, reduced to what GatewayCounters inherits: the state it was given.
vi.mock('cloudflare:workers', () => ({
  DurableObject: class {
    ctx: unknown;
    constructor(ctx: unknown) {
      this.ctx = ctx;
    }
  },
}));
const { GatewayCounters: Counters } = await import('../../../adapters/workers/gateway-counters.ts');

/** A Durable Object's storage, as far as GatewayCounters uses it, on Node's SQLite. */
function sqliteStorage() {
  let db = new DatabaseSync(':memory:');
  const storage = {
    alarm: null as number | null,
    sql: {
      exec(query: string, ...bindings: SQLInputValue[]) {
        // Like workerd's exec: several statements in one call, or one with bindings.
        const statements = query.split(';').filter((part) => part.trim());
        let rows: Record<string, SQLOutputValue>[] = [];
        if (bindings.length === 0 && statements.length > 1) db.exec(query);
        else rows = db.prepare(query).all(...bindings);
        return {
          toArray: () => rows,
          one: () => {
            if (rows.length !== 1) throw new Error(`expected exactly one row, got ${rows.length}`);
            return rows[0];
          },
          [Symbol.iterator]: () => rows[Symbol.iterator](),
        };
      },
    },
    async setAlarm(time: number) {
      storage.alarm = time;
    },
    async deleteAll() {
      db.close();
      db = new DatabaseSync(':memory:');
      storage.alarm = null;
    },
    /** Rows left in a table: what storage still holds. */
    count: (table: string) => Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n),
  };
  return storage;
}

type Method = (...args: unknown[]) => unknown;

export type LocalObject = { counters: GatewayCounters; storage: ReturnType<typeof sqliteStorage> };

/**
 * A COUNTERS namespace in this process: one GatewayCounters per name, each on its own SQLite
 * database, called the way RPC calls it (asynchronously, arguments and results copied).
 * `failWith` makes every call throw (or never answer) instead, as an unreachable object would.
 */
export function localCounters() {
  const objects = new Map<string, LocalObject>();
  const control = { failWith: null as ((call: number) => Promise<never>) | null, calls: 0 };
  const object = (name: string): LocalObject => {
    let found = objects.get(name);
    if (!found) {
      const storage = sqliteStorage();
      found = { counters: new Counters({ storage } as never, {}), storage };
      objects.set(name, found);
    }
    return found;
  };
  const namespace = {
    idFromName: (name: string) => ({ toString: () => name }),
    get: (id: { toString(): string }) =>
      new Proxy(
        {},
        {
          get:
            (_, method: string) =>
            async (...args: unknown[]) => {
              control.calls++;
              if (control.failWith) return control.failWith(control.calls);
              const target = object(id.toString()).counters as unknown as Record<string, Method>;
              const result = await target[method]!.apply(target, structuredClone(args));
              return structuredClone(result);
            },
        },
      ),
  } as unknown as CountersNamespace;
  return { namespace, object, control };
}
