import type { Results } from './collected.ts';
import type { Aborts } from './long-streams.ts';
import { table } from './report.ts';
import type { Measured, TargetName } from './scenarios.ts';
import { formatSpread, median, spread } from './stats.ts';

/**
 * The targets of issue 15, one row each: the gateway's figure, the reference's, whether the
 * gateway meets the target, and whether it beats the reference (it must, on every row, with all its
 * middleware on). "Beats" compares the two within each repetition (they run back to back) and
 * takes the median of those comparisons.
 */

type Pair = Record<TargetName, Measured[]>;
type Row = {
  figure: string;
  target: string;
  gateway: string;
  reference: string;
  met: boolean;
  beats: string;
};

/** Per repetition: `combine(pick(a[i]), pick(b[i]))`. */
const paired = (
  a: Measured[],
  b: Measured[],
  pick: (run: Measured) => number,
  combine: (x: number, y: number) => number,
) => spread(a.flatMap((run, index) => (b[index] ? [combine(pick(run), pick(b[index]))] : [])));
const ratio = (x: number, y: number) => x / y;
const minus = (x: number, y: number) => x - y;

/** "yes (1.32x)": whether the gateway's figure is better, and by what, when the median says so. */
function beats(better: boolean, detail: string): string {
  return `${better ? 'yes' : '**no**'} (${detail})`;
}

function throughputRow(pair: Pair, figure: string, target: number): Row | undefined {
  if (!pair.gateway.length || !pair.reference.length) return undefined;
  const rps = (run: Measured) => run.rps;
  const gateway = paired(pair.gateway, pair.direct, rps, ratio);
  const reference = paired(pair.reference, pair.direct, rps, ratio);
  const versus = paired(pair.gateway, pair.reference, rps, ratio);
  return {
    figure,
    target: `≥ ${target}x`,
    gateway: formatSpread(gateway, 2, 'x'),
    reference: formatSpread(reference, 2, 'x'),
    met: gateway.median >= target,
    beats: beats(versus.median > 1, `${versus.median.toFixed(2)}x its requests/s`),
  };
}

function addedLatencyRow(pair: Pair, figure: string, limitMs: number): Row | undefined {
  if (!pair.gateway.length || !pair.reference.length) return undefined;
  const p50 = (run: Measured) => run.p50;
  const gateway = paired(pair.gateway, pair.direct, p50, minus);
  const reference = paired(pair.reference, pair.direct, p50, minus);
  const versus = paired(pair.gateway, pair.reference, p50, minus);
  const sign = versus.median > 0 ? '+' : '';
  return {
    figure,
    target: `< ${limitMs} ms`,
    gateway: `${formatSpread(gateway, 2)} ms`,
    reference: `${formatSpread(reference, 2)} ms`,
    met: gateway.median < limitMs,
    beats: beats(versus.median < 0, `${sign}${versus.median.toFixed(2)} ms p50`),
  };
}

/**
 * Lower is better: a figure of each relay, met below `limit` (or at it, when `inclusive`), and the
 * gateway's as a share of the reference's.
 */
function lowerIsBetter(
  values: Record<'gateway' | 'reference', number[]>,
  {
    figure,
    limit,
    inclusive = false,
    digits,
    unit,
  }: { figure: string; limit: number; inclusive?: boolean; digits: number; unit: string },
): Row | undefined {
  if (!values.gateway.length || !values.reference.length) return undefined;
  const gateway = spread(values.gateway);
  const reference = spread(values.reference);
  return {
    figure,
    target: `${inclusive ? '≤' : '<'} ${limit} ${unit}`,
    gateway: `${formatSpread(gateway, digits)} ${unit}`,
    reference: `${formatSpread(reference, digits)} ${unit}`,
    met: inclusive ? gateway.median <= limit : gateway.median < limit,
    beats: beats(
      gateway.median < reference.median,
      `${(gateway.median / reference.median).toFixed(2)}x its figure`,
    ),
  };
}

function abortsRow(results: Results): Row | undefined {
  const share = (runs: Aborts[]) => {
    const sent = runs.reduce((sum, run) => sum + run.sent, 0);
    const within = runs.reduce((sum, run) => sum + run.within50ms, 0);
    const delays = runs.flatMap((run) => run.delaysMs);
    return { sent, within, percent: sent ? (100 * within) / sent : Number.NaN, p50: median(delays) };
  };
  const { gateway: g, reference: r } = results.aborts;
  if (!g.length || !r.length) return undefined;
  const gateway = share(g);
  const reference = share(r);
  const delays = `p50 delay ${gateway.p50.toFixed(0)} vs ${reference.p50.toFixed(0)} ms`;
  return {
    figure: 'Client aborts reaching the upstream within 50 ms',
    target: '100%',
    gateway: `${gateway.within}/${gateway.sent} (${gateway.percent.toFixed(0)}%)`,
    reference: `${reference.within}/${reference.sent} (${reference.percent.toFixed(0)}%)`,
    met: gateway.within === gateway.sent,
    beats:
      gateway.percent === reference.percent
        ? `tie (${delays})`
        : beats(gateway.percent > reference.percent, delays),
  };
}

export function renderTargets(results: Results, concurrency: number, openStreams: number): string {
  const cpu = (runs: Measured[]) => runs.map((run) => run.cpuPerRequestUs.relay);
  const memory = (pick: (run: Results['memory']['gateway'][number]) => number) => ({
    gateway: results.memory.gateway.map(pick),
    reference: results.memory.reference.map(pick),
  });
  const rows = [
    throughputRow(
      results.load.v1,
      `\`/v1/chat/completions\` stream, 50 tokens, c=${concurrency}: throughput vs direct`,
      0.6,
    ),
    throughputRow(
      results.load.responses,
      `\`/v1/responses\` stream, 50 tokens, c=${concurrency}: throughput vs direct`,
      0.6,
    ),
    throughputRow(
      results.load.stream,
      `\`/api/completions/stream\`, c=${concurrency}: throughput vs direct`,
      0.5,
    ),
    lowerIsBetter(
      { gateway: cpu(results.load.json.gateway), reference: cpu(results.load.json.reference) },
      {
        figure: `JSON completions: CPU per request, c=${concurrency}`,
        limit: 350,
        inclusive: true,
        digits: 0,
        unit: 'µs',
      },
    ),
    addedLatencyRow(results.serial.stream, 'Added latency, c=1, p50: stream', 0.7),
    addedLatencyRow(results.serial.json, 'Added latency, c=1, p50: JSON', 0.7),
    lowerIsBetter(
      memory((run) => run.heapPerStreamKB),
      {
        figure: `Live heap per open stream after GC (${openStreams} paced streams)`,
        limit: 32,
        digits: 1,
        unit: 'KB',
      },
    ),
    lowerIsBetter(
      memory((run) => run.idleRssMB),
      { figure: 'Idle RSS after warm-up', limit: 130, inclusive: true, digits: 1, unit: 'MB' },
    ),
    abortsRow(results),
  ].flatMap((row) => (row ? [row] : []));
  if (!rows.length) return '';
  return table(
    ['Figure', 'Target', 'Gateway', 'Reference', 'Status', 'Gateway beats the reference'],
    rows.map((row) => [
      row.figure,
      row.target,
      row.gateway,
      row.reference,
      row.met ? '**met**' : '**not met**',
      row.beats,
    ]),
  );
}
