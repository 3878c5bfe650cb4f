import type { Aborts, OpenStreams } from './long-streams.ts';
import { type RunInfo, table } from './report.ts';
import type { Kind, Measured, TargetName } from './scenarios.ts';
import { formatSpread, median, percentile, spread } from './stats.ts';

/** Every repetition of every scenario, as run.ts collects them. */
export type Results = {
  load: Record<Kind, Record<TargetName, Measured[]>>;
  serial: Record<Kind, Record<TargetName, Measured[]>>;
  memory: OpenStreams[];
  aborts: Record<TargetName, Aborts[]>;
};

export const emptyResults = (): Results => ({
  load: { stream: { gateway: [], direct: [] }, json: { gateway: [], direct: [] } },
  serial: { stream: { gateway: [], direct: [] }, json: { gateway: [], direct: [] } },
  memory: [],
  aborts: { gateway: [], direct: [] },
});

export type Sizes = {
  reps: number;
  requests: number;
  concurrency: number;
  serialRequests: number;
  openStreams: number;
  aborts: number;
  abortAfterMs: number;
};

const KIND = { stream: 'Streaming (50 tokens)', json: 'JSON' } as const;
const TARGETS = { stream: 0.5, json: 0.6 } as const;

/** Per-repetition values of `pick`, and per-repetition gateway/direct ratios or differences. */
const of = (runs: Measured[], pick: (run: Measured) => number) => spread(runs.map(pick));
const paired = (
  pair: Record<TargetName, Measured[]>,
  pick: (run: Measured) => number,
  combine: (gateway: number, direct: number) => number,
) => spread(pair.gateway.map((run, index) => combine(pick(run), pick(pair.direct[index] as Measured))));
const ratio = (gateway: number, direct: number) => gateway / direct;
const added = (gateway: number, direct: number) => gateway - direct;
const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

export function render(results: Results, info: RunInfo, sizes: Sizes): string {
  const sections: string[] = [
    `### Run of ${info.date}`,
    [
      `- Command: \`${info.command}\` (${sizes.reps} repetition${sizes.reps === 1 ? '' : 's'}; figures are medians, ranges over repetitions in brackets)`,
      `- Machine: ${info.machine}; load average (1/5/15 min) ${info.loadBefore} before, ${info.loadAfter ?? '?'} after`,
      `- Versions: ${info.versions}; code at ${info.revision}`,
    ].join('\n'),
  ];

  const loadRows: string[][] = [];
  for (const kind of ['stream', 'json'] as const) {
    const pair = results.load[kind];
    if (pair.gateway.length === 0) continue;
    const rps = paired(pair, (run) => run.rps, ratio);
    const row = (figure: string, pick: (run: Measured) => number, digits: number, target = '', met = '') => [
      `${KIND[kind]}: ${figure}`,
      formatSpread(of(pair.gateway, pick), digits),
      formatSpread(of(pair.direct, pick), digits),
      formatSpread(paired(pair, pick, ratio), 2, 'x'),
      target,
      met,
    ];
    loadRows.push(
      row('requests/s', (run) => run.rps, 0, `≥ ${TARGETS[kind]}x`, verdict(rps.median >= TARGETS[kind])),
    );
    loadRows.push(row('latency p50, ms', (run) => run.p50, 1));
    loadRows.push(row('latency p99, ms', (run) => run.p99, 1));
    if (kind === 'stream') {
      loadRows.push(row('first data event p50, ms', (run) => run.firstEventP50, 1));
      loadRows.push(row('first data event p99, ms', (run) => run.firstEventP99, 1));
    }
    const failed = (runs: Measured[]) => String(runs.reduce((sum, run) => sum + run.failed, 0));
    loadRows.push([
      `${KIND[kind]}: failed requests, all runs`,
      failed(pair.gateway),
      failed(pair.direct),
      '',
      '',
      '',
    ]);
  }
  if (loadRows.length) {
    sections.push(
      `#### Throughput: ${sizes.requests} requests, ${sizes.concurrency} at a time`,
      table(['Figure', 'Gateway', 'Direct', 'Gateway/direct', 'Target', 'Status'], loadRows),
    );
  }

  const serialRows: string[][] = [];
  for (const kind of ['stream', 'json'] as const) {
    const pair = results.serial[kind];
    if (pair.gateway.length === 0) continue;
    const row = (figure: string, pick: (run: Measured) => number, target = '', met = '') => [
      `${KIND[kind]}: ${figure}`,
      formatSpread(of(pair.gateway, pick), 2),
      formatSpread(of(pair.direct, pick), 2),
      formatSpread(paired(pair, pick, added), 2),
      target,
      met,
    ];
    const p50 = paired(pair, (run) => run.p50, added);
    serialRows.push(row('latency p50', (run) => run.p50, '< 1 ms', verdict(p50.median < 1)));
    serialRows.push(row('latency p99', (run) => run.p99));
    if (kind === 'stream') serialRows.push(row('first data event p50', (run) => run.firstEventP50));
  }
  if (serialRows.length) {
    sections.push(
      `#### Added latency: ${sizes.serialRequests} requests, one at a time (ms)`,
      table(['Figure', 'Gateway', 'Direct', 'Added', 'Target', 'Status'], serialRows),
    );
  }

  const cpuRows: string[][] = [];
  for (const [label, group] of [
    ['concurrency 50', results.load],
    ['concurrency 1', results.serial],
  ] as const) {
    for (const kind of ['stream', 'json'] as const) {
      const pair = group[kind];
      if (pair.gateway.length === 0) continue;
      cpuRows.push([
        `${KIND[kind]}, ${label}`,
        formatSpread(
          of(pair.gateway, (run) => run.cpuPerRequestUs.gateway),
          0,
        ),
        formatSpread(
          of(pair.gateway, (run) => run.cpuPerRequestUs.upstream),
          0,
        ),
        formatSpread(
          of(pair.direct, (run) => run.cpuPerRequestUs.upstream),
          0,
        ),
        formatSpread(
          of(pair.gateway, (run) => run.cpuPerRequestUs.client),
          0,
        ),
        formatSpread(
          of(pair.direct, (run) => run.cpuPerRequestUs.client),
          0,
        ),
      ]);
    }
  }
  if (cpuRows.length) {
    sections.push(
      '#### CPU time per request (µs; less sensitive to other load on the machine than requests/s)',
      table(
        [
          'Load',
          'Gateway process',
          'Upstream (via gateway)',
          'Upstream (direct)',
          'Client (via gateway)',
          'Client (direct)',
        ],
        cpuRows,
      ),
    );
  }

  if (results.memory.length) {
    const perStream = spread(results.memory.map((run) => run.rssPerStreamKB));
    const pick = (key: keyof OpenStreams, digits: number) =>
      formatSpread(spread(results.memory.map((run) => run[key])), digits);
    sections.push(
      `#### Memory: ${sizes.openStreams} open streams (50 ms between tokens), a fresh gateway process each time`,
      table(
        ['Figure', 'Value', 'Target', 'Status'],
        [
          ['RSS per open stream, KB', pick('rssPerStreamKB', 1), '< 32 KB', verdict(perStream.median < 32)],
          ['Live heap per open stream after GC, KB', pick('heapPerStreamKB', 1), '', ''],
          ['Idle RSS after warm-up, MB', pick('idleRssMB', 1), '', ''],
          ['RSS with the streams open, MB', pick('openRssMB', 1), '', ''],
          ['Streams open while measured', pick('open', 0), '', ''],
          [
            'Streams failed before that, all runs',
            String(results.memory.reduce((sum, run) => sum + run.failed, 0)),
            '',
            '',
          ],
          [
            `Tokens relayed per second (offered: ${sizes.openStreams * 20})`,
            pick('tokensPerSecond', 0),
            '',
            '',
          ],
          ['Gateway CPU per relayed token, µs', pick('cpuPerTokenUs', 1), '', ''],
        ],
      ),
    );
  }

  const abortRows = (['gateway', 'direct'] as const).flatMap((target) => {
    const runs = results.aborts[target];
    if (runs.length === 0) return [];
    const sent = runs.reduce((sum, run) => sum + run.sent, 0);
    const reached = runs.reduce((sum, run) => sum + run.reached, 0);
    const within = runs.reduce((sum, run) => sum + run.within50ms, 0);
    const delays = runs.flatMap((run) => run.delaysMs);
    return [
      [
        target === 'gateway' ? 'Through the gateway' : 'Direct (floor)',
        `${reached}/${sent}`,
        `${within}/${sent} (${((100 * within) / sent).toFixed(0)}%)`,
        delays.length
          ? `${median(delays).toFixed(0)} / ${percentile(delays, 99).toFixed(0)} / ${Math.max(...delays)}`
          : 'n/a',
        target === 'gateway' ? '100% within 50 ms' : '',
        target === 'gateway' ? verdict(within === sent) : '',
      ],
    ];
  });
  if (abortRows.length) {
    sections.push(
      `#### Client aborts: ${sizes.aborts} streams aborted at ${sizes.abortAfterMs} ms, per repetition`,
      table(
        [
          'Path',
          'Upstream saw the abort (within 1 s)',
          'Within 50 ms',
          'Delay p50 / p99 / max, ms',
          'Target',
          'Status',
        ],
        abortRows,
      ),
    );
  }
  return sections.join('\n\n');
}
