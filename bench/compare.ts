import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Child, type ProcessUsage, startChild } from './child-rpc.ts';
import { type LoadResult, runLoad } from './load-client.ts';
import { gatewayBindings, KINDS, type Kind, relayEndpoint, reply } from './scenarios.ts';
import { formatSpread, spread } from './stats.ts';

/**
 * `npm run bench:compare -- <git-ref>`: the working tree's gateway against the gateway at a git
 * ref, both started afresh each round against one fake upstream and loaded in turns (the order
 * alternating each round), so that outside load falls on both alike. Prints medians of gateway CPU per request
 * (the steadiest figure on a shared machine), requests/s and, one request at a time, p50 latency.
 * The ref is checked out in a temporary git worktree that shares this tree's node_modules.
 */
const USAGE = `Usage: npm run bench:compare -- <git-ref> [--rounds N] [--requests N] [--kinds json,sse,...] [--gateway-env K=V ...]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '8' },
    requests: { type: 'string', default: '2000' },
    // Only these endpoints: a ref older than an endpoint cannot serve it.
    kinds: { type: 'string', default: KINDS.join(',') },
    'gateway-env': { type: 'string', multiple: true, default: [] },
  },
});
const [ref] = positionals;
if (!ref) {
  console.error(USAGE);
  process.exit(2);
}
const rounds = Number(values.rounds);
const kinds = values.kinds.split(',').map((kind) => kind.trim()) as Kind[];
const unknown = kinds.filter((kind) => !KINDS.includes(kind));
if (unknown.length) {
  console.error(`Unknown kinds ${unknown.join(', ')}; known: ${KINDS.join(', ')}`);
  process.exit(2);
}
const requests = Number(values.requests);
const root = fileURLToPath(new URL('..', import.meta.url));
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

const revision = git('rev-parse', '--short', ref);
const baseDir = mkdtempSync(join(tmpdir(), 'gateway-compare-'));
git('worktree', 'add', '--detach', baseDir, ref);

const children: Child[] = [];
try {
  symlinkSync(join(root, 'node_modules'), join(baseDir, 'node_modules'));
  const upstreamStart = await startChild<{ baseURL: string }>(
    new URL('./upstream-process.ts', import.meta.url),
  );
  const upstream = upstreamStart.child;
  children.push(upstream);
  await upstream.call('setDefault', { fast: true, content: reply(50) });
  const bindings = JSON.stringify(gatewayBindings(upstreamStart.ready.baseURL, values['gateway-env']));
  const start = async (dir: string) => {
    const script = pathToFileURL(join(dir, 'bench/gateway-process.ts'));
    const started = await startChild<{ url: string }>(script, { args: [bindings] });
    return { child: started.child, url: started.ready.url };
  };
  const dirs: Record<string, string> = { [`${revision} (base)`]: baseDir, 'working tree': root };
  type Figures = { kind: Kind; name: string; cpuUs: number[]; rps: number[]; serialP50: number[] };
  const figures: Figures[] = [];
  const figuresOf = (kind: Kind, name: string) => {
    let entry = figures.find((figure) => figure.kind === kind && figure.name === name);
    if (!entry) {
      entry = { kind, name, cpuUs: [], rps: [], serialP50: [] };
      figures.push(entry);
    }
    return entry;
  };
  const measure = async (label: string, child: Child, run: () => Promise<LoadResult>) => {
    const before = await child.call<ProcessUsage>('usage');
    const result = await run();
    const after = await child.call<ProcessUsage>('usage');
    await upstream.call('takeRequests');
    if (result.failed) throw new Error(`${label}: ${result.failed} requests failed: ${result.firstError}`);
    return { result, cpuUs: ((after.cpuMs - before.cpuMs) * 1000) / result.ok };
  };

  for (let round = 0; round < rounds; round++) {
    // Fresh processes every round: one process's JIT and heap history can bias it for its lifetime,
    // so the medians are over processes as well as runs.
    const names = Object.keys(dirs);
    if (round % 2) names.reverse();
    const sides = new Map<string, Awaited<ReturnType<typeof start>>>();
    for (const name of names) sides.set(name, await start(dirs[name]!));
    for (const side of sides.values()) {
      for (const kind of kinds)
        await runLoad(relayEndpoint(side.url, kind), { requests: 1_000, concurrency: 50 });
    }
    await upstream.call('takeRequests');
    for (const kind of kinds) {
      for (const [name, side] of sides) {
        const entry = figuresOf(kind, name);
        const load = await measure(`${kind}, ${name}`, side.child, () =>
          runLoad(relayEndpoint(side.url, kind), { requests, concurrency: 50 }),
        );
        entry.cpuUs.push(load.cpuUs);
        entry.rps.push(load.result.rps);
        const serial = await runLoad(relayEndpoint(side.url, kind), { requests: 300, concurrency: 1 });
        entry.serialP50.push(serial.p50);
      }
    }
    for (const side of sides.values()) {
      await side.child.call('shutdown').catch(() => undefined);
      await side.child.exited;
    }
    console.error(`round ${round + 1}/${rounds} done`);
  }

  console.log(`\nGateway at ${revision} against the working tree, ${rounds} rounds, medians (ranges):\n`);
  console.log('| Load | Side | CPU µs/request (c=50) | requests/s (c=50) | p50 ms (c=1) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const entry of figures) {
    const row = [
      formatSpread(spread(entry.cpuUs), 0),
      formatSpread(spread(entry.rps), 0),
      formatSpread(spread(entry.serialP50), 2),
    ];
    console.log(`| ${entry.kind} | ${entry.name} | ${row.join(' | ')} |`);
  }
} finally {
  for (const child of children) await child.call('shutdown').catch(() => undefined);
  await Promise.race([Promise.all(children.map((child) => child.exited)), sleep(5_000)]);
  git('worktree', 'remove', '--force', baseDir);
  rmSync(baseDir, { recursive: true, force: true });
}
