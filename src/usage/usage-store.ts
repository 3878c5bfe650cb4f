/** One completed (or cut short) completion, as the usage API and the stores see it. */
export type UsageRecord = {
  time: number;
  keyId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** True when the upstream sent no usage and the gateway counted the tokens itself. */
  estimated: boolean;
};

export type Tally = {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  estimated_requests: number;
};

export type UsageTotals = {
  from: string;
  to: string;
  total: Tally;
  by_key: Record<string, Tally>;
  by_model: Record<string, Tally>;
};

/** Usage kept per hour, key and model: in this process, or in the Redis every instance shares. */
export interface UsageStore {
  record(record: UsageRecord): Promise<void>;
  /** Totals over the hours that overlap [from, to). */
  totals(from: number, to: number): Promise<UsageTotals>;
}

export const HOUR_MS = 3_600_000;

/** The counters one record adds, as stored per hour, key and model. */
export const countersOf = (record: UsageRecord) => ({
  requests: 1,
  prompt_tokens: record.promptTokens,
  completion_tokens: record.completionTokens,
  estimated_requests: record.estimated ? 1 : 0,
});

export type Counters = ReturnType<typeof countersOf>;

/** The names of those counters, for stores that keep each as a field of its own. */
export const COUNTER_FIELDS = [
  'requests',
  'prompt_tokens',
  'completion_tokens',
  'estimated_requests',
] as const;

/** How long shared stores keep an hour: the usage API looks back at most 31 days. */
export const SHARED_RETENTION_S = 35 * 24 * 3600;

/** Sums per-hour rows of (key, model, counters) into the API's totals. */
export function summarise(
  rows: Iterable<{ keyId: string; model: string; counters: Counters }>,
  from: number,
  to: number,
): UsageTotals {
  const empty = (): Tally => ({
    requests: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    estimated_requests: 0,
  });
  const totals: UsageTotals = {
    from: new Date(Math.floor(from / HOUR_MS) * HOUR_MS).toISOString(),
    to: new Date(Math.ceil(to / HOUR_MS) * HOUR_MS).toISOString(),
    total: empty(),
    by_key: {},
    by_model: {},
  };
  const add = (tally: Tally, counters: Counters) => {
    tally.requests += counters.requests;
    tally.prompt_tokens += counters.prompt_tokens;
    tally.completion_tokens += counters.completion_tokens;
    tally.total_tokens += counters.prompt_tokens + counters.completion_tokens;
    tally.estimated_requests += counters.estimated_requests;
  };
  for (const { keyId, model, counters } of rows) {
    totals.by_key[keyId] ??= empty();
    totals.by_model[model] ??= empty();
    add(totals.total, counters);
    add(totals.by_key[keyId], counters);
    add(totals.by_model[model], counters);
  }
  return totals;
}

// Memory usage is bounded by the hours kept; older hours are dropped on the next write.
const MEMORY_RETENTION_HOURS = 24 * 31;

export function memoryUsageStore(): UsageStore {
  // hour -> "key\0model" -> counters
  const hours = new Map<number, Map<string, { keyId: string; model: string; counters: Counters }>>();
  return {
    async record(record) {
      const hour = Math.floor(record.time / HOUR_MS);
      let rows = hours.get(hour);
      if (!rows) {
        rows = new Map();
        hours.set(hour, rows);
        for (const old of hours.keys()) if (old < hour - MEMORY_RETENTION_HOURS) hours.delete(old);
      }
      const id = `${record.keyId}\0${record.model}`;
      const add = countersOf(record);
      const row = rows.get(id);
      if (!row) rows.set(id, { keyId: record.keyId, model: record.model, counters: add });
      else for (const name of Object.keys(add) as (keyof Counters)[]) row.counters[name] += add[name];
    },
    async totals(from, to) {
      const first = Math.floor(from / HOUR_MS);
      const last = Math.ceil(to / HOUR_MS);
      const rows = [...hours]
        .filter(([hour]) => hour >= first && hour < last)
        .flatMap(([, byId]) => [...byId.values()]);
      return summarise(rows, from, to);
    },
  };
}
