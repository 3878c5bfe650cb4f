/** A figure repeated over runs: its median and the range it moved in. */
export type Spread = { median: number; min: number; max: number; runs: number };

/** Linear-interpolated percentile of unsorted values (p in 0..100); NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (rank - low);
}

export const median = (values: readonly number[]) => percentile(values, 50);

export function spread(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: 0 };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), runs: finite.length };
}

/** `1.23 (1.10–1.40)`; the range is left out for a single run. */
export function formatSpread(value: Spread, digits = 2, unit = ''): string {
  if (value.runs === 0) return 'n/a';
  const f = (n: number) => `${n.toFixed(digits)}${unit}`;
  return value.runs === 1 ? f(value.median) : `${f(value.median)} (${f(value.min)}–${f(value.max)})`;
}
