/**
 * The part of workerd's `cloudflare:workers` module the shared store uses. Hand-written because the
 * full runtime types (`wrangler types`, @cloudflare/workers-types) redeclare fetch, Request and
 * Response globally, which clashes with the DOM and Node types every other file here compiles with.
 */
declare module 'cloudflare:workers' {
  export type SqlValue = string | number | ArrayBuffer | null;

  export interface SqlCursor<Row> extends Iterable<Row> {
    toArray(): Row[];
    /** The only row; throws unless there is exactly one. */
    one(): Row;
  }

  export interface SqlStorage {
    exec<Row extends Record<string, SqlValue> = Record<string, SqlValue>>(
      query: string,
      ...bindings: SqlValue[]
    ): SqlCursor<Row>;
  }

  export interface DurableObjectStorage {
    readonly sql: SqlStorage;
    setAlarm(scheduledTime: number): Promise<void>;
    /** Deletes everything the object stored: its SQL tables, keys and alarm. */
    deleteAll(): Promise<void>;
  }

  export interface DurableObjectState {
    readonly storage: DurableObjectStorage;
  }

  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }

  export interface DurableObjectId {
    toString(): string;
  }

  /** What a stub offers for an object of class T: each public method, called over RPC. */
  export type DurableObjectStub<T> = {
    [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (
      ...args: infer A
    ) => infer R
      ? (...args: A) => Promise<Awaited<R>>
      : never;
  };

  export interface DurableObjectNamespace<T> {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): DurableObjectStub<T>;
  }
}
