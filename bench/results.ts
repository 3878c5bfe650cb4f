import type { Results, Sizes } from './collected.ts';
import type { OpenStreams } from './long-streams.ts';
import { type RunInfo, table } from './report.ts';
import type { Kind, Measured } from './scenarios.ts';
import { formatSpread, median, percentile, spread } from './stats.ts';
import { renderTargets } from './targets.ts';

const KIND: Record<Kind, string> = {
  stream: '/api/completions/stream (50 tokens)',
  json: 'JSON',
  v1: '/v1 stream (50 tokens)',
  responses: '/v1/responses stream (50 tokens)',
};
const RELAY_TITLE = { gateway: 'Gateway', reference: 'Reference' } as const;

/** Per-repetition values of `pick`, and per-repetition ratios or differences against direct. */
const of = (runs: Measured[], pick: (run: Measured) => number) => spread(runs.map(pick));
const paired = (
  relay: Measured[],
  direct: Measured[],
  pick: (run: Measured) => number,
  combine: (relay: number, direct: number) => number,
) => spread(relay.flatMap((run, index) => (direct[index] ? [combine(pick(run), pick(direct[index]))] : [])));
const ratio = (relay: number, direct: number) => relay / direct;
const added = (relay: number, direct: number) => relay - direct;

export function render(results: Results, info: RunInfo, sizes: Sizes): string {
  const sections: string[] = [
    `### Run of ${info.date}`,
    [
      `- Command: \`${info.command}\` (${sizes.reps} repetition${sizes.reps === 1 ? '' : 's'}; figures are medians, ranges over repetitions in brackets)`,
      `- Machine: ${info.machine}; load average (1/5/15 min) ${info.loadBefore} before, ${info.loadAfter ?? '?'} after`,
      `- Versions: ${info.versions}; code at ${info.revision}`,
      '- Gateway: production bindings, a client key sent with every request (authentication on), the rate limiter on (a limit no run reaches), the access log written to a discarded stdout. Reference: `bench/reference-relay.ts` (Hono + `streamSSE` + the official SDK), no middleware.',
    ].join('\n'),
  ];

  const targets = renderTargets(results, sizes.concurrency, sizes.openStreams);
  if (targets) sections.push('#### Targets', targets);

  const loadRows: string[][] = [];
  for (const kind of ['v1', 'responses', 'stream', 'json'] as const) {
    const runs = results.load[kind];
    if (runs.gateway.length === 0) continue;
    const row = (figure: string, pick: (run: Measured) => number, digits: number) => [
      `${KIND[kind]}: ${figure}`,
      formatSpread(of(runs.gateway, pick), digits),
      formatSpread(of(runs.reference, pick), digits),
      formatSpread(of(runs.direct, pick), digits),
      formatSpread(paired(runs.gateway, runs.direct, pick, ratio), 2, 'x'),
      formatSpread(paired(runs.reference, runs.direct, pick, ratio), 2, 'x'),
    ];
    loadRows.push(row('requests/s', (run) => run.rps, 0));
    loadRows.push(row('latency p50, ms', (run) => run.p50, 1));
    loadRows.push(row('latency p99, ms', (run) => run.p99, 1));
    if (kind !== 'json') {
      loadRows.push(row('first data event p50, ms', (run) => run.firstEventP50, 1));
      loadRows.push(row('first data event p99, ms', (run) => run.firstEventP99, 1));
    }
    const failed = (list: Measured[]) => String(list.reduce((sum, run) => sum + run.failed, 0));
    loadRows.push([
      `${KIND[kind]}: failed requests, all runs`,
      failed(runs.gateway),
      failed(runs.reference),
      failed(runs.direct),
      '',
      '',
    ]);
  }
  if (loadRows.length) {
    sections.push(
      `#### Throughput: ${sizes.requests} requests, ${sizes.concurrency} at a time`,
      table(['Figure', 'Gateway', 'Reference', 'Direct', 'Gateway/direct', 'Reference/direct'], loadRows),
    );
  }

  const serialRows: string[][] = [];
  for (const kind of ['stream', 'json'] as const) {
    const runs = results.serial[kind];
    if (runs.gateway.length === 0) continue;
    const row = (figure: string, pick: (run: Measured) => number) => [
      `${KIND[kind]}: ${figure}`,
      formatSpread(of(runs.gateway, pick), 2),
      formatSpread(of(runs.reference, pick), 2),
      formatSpread(of(runs.direct, pick), 2),
      formatSpread(paired(runs.gateway, runs.direct, pick, added), 2),
      formatSpread(paired(runs.reference, runs.direct, pick, added), 2),
    ];
    serialRows.push(row('latency p50', (run) => run.p50));
    serialRows.push(row('latency p99', (run) => run.p99));
    if (kind === 'stream') serialRows.push(row('first data event p50', (run) => run.firstEventP50));
  }
  if (serialRows.length) {
    sections.push(
      `#### Added latency: ${sizes.serialRequests} requests, one at a time (ms)`,
      table(['Figure', 'Gateway', 'Reference', 'Direct', 'Gateway added', 'Reference added'], serialRows),
    );
  }

  const cpuRows: string[][] = [];
  for (const [label, group] of [
    ['concurrency 50', results.load],
    ['concurrency 1', results.serial],
  ] as const) {
    for (const kind of ['v1', 'responses', 'stream', 'json'] as const) {
      const runs = (group as Partial<Results['load']>)[kind];
      if (!runs?.gateway.length) continue;
      const cpu = (list: Measured[], key: keyof Measured['cpuPerRequestUs']) =>
        formatSpread(
          of(list, (run) => run.cpuPerRequestUs[key]),
          0,
        );
      cpuRows.push([
        `${KIND[kind]}, ${label}`,
        cpu(runs.gateway, 'relay'),
        cpu(runs.reference, 'relay'),
        cpu(runs.gateway, 'upstream'),
        cpu(runs.reference, 'upstream'),
        cpu(runs.direct, 'upstream'),
        cpu(runs.gateway, 'client'),
        cpu(runs.direct, 'client'),
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
          'Reference process',
          'Upstream (via gateway)',
          'Upstream (via reference)',
          'Upstream (direct)',
          'Client (via gateway)',
          'Client (direct)',
        ],
        cpuRows,
      ),
    );
  }

  const relays = (['gateway', 'reference'] as const).filter((name) => results.memory[name].length);
  if (relays.length) {
    const pick = (key: keyof OpenStreams, digits: number) =>
      relays.map((name) => formatSpread(spread(results.memory[name].map((run) => run[key])), digits));
    const failed = relays.map((name) =>
      String(results.memory[name].reduce((sum, run) => sum + run.failed, 0)),
    );
    sections.push(
      `#### Memory: ${sizes.openStreams} open streams (50 ms between tokens), a fresh process each time`,
      table(
        ['Figure', ...relays.map((name) => RELAY_TITLE[name])],
        [
          ['Live heap per open stream after GC, KB', ...pick('heapPerStreamKB', 1)],
          ['RSS per open stream, KB', ...pick('rssPerStreamKB', 1)],
          ['Idle RSS after warm-up, MB', ...pick('idleRssMB', 1)],
          ['RSS with the streams open, MB', ...pick('openRssMB', 1)],
          ['Streams open while measured', ...pick('open', 0)],
          ['Streams failed before that, all runs', ...failed],
          [`Tokens relayed per second (offered: ${sizes.openStreams * 20})`, ...pick('tokensPerSecond', 0)],
          ['CPU per relayed token, µs', ...pick('cpuPerTokenUs', 1)],
        ],
      ),
    );
  }

  const PATH = {
    gateway: 'Through the gateway',
    reference: 'Through the reference',
    direct: 'Direct (floor)',
  };
  const abortRows = (['gateway', 'reference', 'direct'] as const).flatMap((target) => {
    const runs = results.aborts[target];
    if (runs.length === 0) return [];
    const sent = runs.reduce((sum, run) => sum + run.sent, 0);
    const reached = runs.reduce((sum, run) => sum + run.reached, 0);
    const within = runs.reduce((sum, run) => sum + run.within50ms, 0);
    const delays = runs.flatMap((run) => run.delaysMs);
    return [
      [
        PATH[target],
        `${reached}/${sent}`,
        `${within}/${sent} (${((100 * within) / sent).toFixed(0)}%)`,
        delays.length
          ? `${median(delays).toFixed(0)} / ${percentile(delays, 99).toFixed(0)} / ${Math.max(...delays)}`
          : 'n/a',
      ],
    ];
  });
  if (abortRows.length) {
    sections.push(
      `#### Client aborts: ${sizes.aborts} streams aborted at ${sizes.abortAfterMs} ms, per repetition`,
      table(
        ['Path', 'Upstream saw the abort (within 1 s)', 'Within 50 ms', 'Delay p50 / p99 / max, ms'],
        abortRows,
      ),
    );
  }
  return sections.join('\n\n');
}
