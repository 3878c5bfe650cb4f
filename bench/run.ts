import { mkdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Child, startChild } from './child-rpc.ts';
import { emptyResults, type Sizes } from './collected.ts';
import { type CpuProfile, summarise } from './cpuprofile-summary.ts';
import { runLoad } from './load-client.ts';
import { measureAborts, measureOpenStreams } from './long-streams.ts';
import { loadAverage, runInfo, writeDocs } from './report.ts';
import { render } from './results.ts';
import {
  type BenchContext,
  endpoint,
  gatewayBindings,
  KINDS,
  type Kind,
  measureLoad,
  RELAYS,
  type Relay,
  type RelayName,
  relayEndpoint,
  reply,
  type TargetName,
} from './scenarios.ts';

/**
 * `npm run bench [-- options]`: the gateway (Node adapter, own process), the reference relay (Hono +
 * streamSSE + the official SDK, own process) and the fake upstream called directly (own process),
 * side by side, everything on 127.0.0.1. See docs/benchmarks.md.
 */
const USAGE = `Options:
  --quick               one small repetition, a smoke run; does not write docs/benchmarks.md
  --reps N              repetitions of every figure (default 5)
  --only a,b            scenarios: v1,responses,stream,json,serial,memory,aborts,profile (default: all but profile)
  --profile             also profile a gateway under each load (v1, stream, json; V8 CPU profiles,
                        the format of node --cpu-prof, to bench/profiles/) and summarise them
  --gateway-env K=V     extra gateway binding, repeatable (e.g. LOG_LEVEL=silent)
  --no-write            print only; leave docs/benchmarks.md alone
  --write               write docs/benchmarks.md even with --quick`;

const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv,
  allowNegative: true,
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'gateway-env': { type: 'string', multiple: true, default: [] },
    write: { type: 'boolean' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = values.quick;
const sizes: Sizes = {
  reps: Number(values.reps ?? (quick ? 1 : 5)),
  requests: quick ? 300 : 2_000,
  concurrency: 50,
  serialRequests: quick ? 100 : 500,
  openStreams: quick ? 100 : 500,
  aborts: 20,
  abortAfterMs: 300,
};
const warmupRequests = quick ? 200 : 1_000;
const profileRequests = quick ? 2_000 : 10_000;
const KNOWN = ['v1', 'responses', 'stream', 'json', 'serial', 'memory', 'aborts', 'profile'];
const scenarios = new Set(
  (values.only ?? 'v1,responses,stream,json,serial,memory,aborts').split(',').map((name) => name.trim()),
);
if (values.profile) scenarios.add('profile');
const unknown = [...scenarios].filter((name) => !KNOWN.includes(name));
if (unknown.length || !(sizes.reps >= 1)) {
  console.error(`${unknown.length ? `Unknown scenario: ${unknown.join(', ')}` : 'Bad --reps'}\n${USAGE}`);
  process.exit(2);
}
const write = values.write ?? !quick;
const info = runInfo(argv);

console.log(`${info.command}\n  ${info.machine}\n  ${info.versions}; code at ${info.revision}`);
console.log(`  load average ${info.loadBefore}; ${sizes.reps} repetition(s)\n`);

const upstreamStart = await startChild<{ baseURL: string }>(
  new URL('./upstream-process.ts', import.meta.url),
);
const upstream = upstreamStart.child;
const bindings = gatewayBindings(upstreamStart.ready.baseURL, values['gateway-env']);
const startRelay = async (name: RelayName, execArgv: string[] = []): Promise<Relay> => {
  const [script, args] =
    name === 'gateway'
      ? ['./gateway-process.ts', [JSON.stringify(bindings)]]
      : ['./reference-process.ts', [upstreamStart.ready.baseURL]];
  const started = await startChild<{ url: string }>(new URL(script, import.meta.url), { args, execArgv });
  return { child: started.child, url: started.ready.url };
};
const ctx: BenchContext = {
  upstream,
  directBaseURL: upstreamStart.ready.baseURL,
  relays: { gateway: await startRelay('gateway'), reference: await startRelay('reference') },
  startRelay,
};
const children: Child[] = [upstream, ctx.relays.gateway.child, ctx.relays.reference.child];

try {
  const results = emptyResults();
  const fast = () => upstream.call('setDefault', { fast: true, content: reply(50) });
  const needsWarmup = ['v1', 'responses', 'stream', 'json', 'serial'].some((name) => scenarios.has(name));
  if (needsWarmup) {
    await fast();
    for (const target of [...RELAYS, 'direct'] as const) {
      for (const kind of KINDS) {
        const run = await runLoad(endpoint(ctx, target, kind), { requests: warmupRequests, concurrency: 50 });
        if (run.failed)
          throw new Error(`warm-up ${target} ${kind}: ${run.failed} failed (${run.firstError})`);
      }
    }
    await upstream.call('takeRequests');
  }

  const repeated = ['v1', 'responses', 'stream', 'json', 'serial', 'aborts', 'memory'].some((name) =>
    scenarios.has(name),
  );
  for (let rep = 0; repeated && rep < sizes.reps; rep++) {
    // Alternate the order, so a burst of outside load does not always land on one side; the
    // gateway and the reference always run next to each other.
    const order: TargetName[] = ['gateway', 'reference', 'direct'];
    if (rep % 2) order.reverse();
    const started = Date.now();
    for (const kind of KINDS) {
      if (!scenarios.has(kind)) continue;
      await fast();
      for (const target of order) {
        const load = { requests: sizes.requests, concurrency: sizes.concurrency };
        results.load[kind][target].push(await measureLoad(ctx, target, kind, load));
      }
    }
    if (scenarios.has('serial')) {
      await fast();
      for (const kind of ['stream', 'json'] as const) {
        for (const target of order) {
          const load = { requests: sizes.serialRequests, concurrency: 1 };
          results.serial[kind][target].push(await measureLoad(ctx, target, kind, load));
        }
      }
    }
    if (scenarios.has('aborts')) {
      for (const target of order) {
        const options = { count: sizes.aborts, abortAfterMs: sizes.abortAfterMs, rep };
        results.aborts[target].push(await measureAborts(ctx, target, options));
      }
    }
    if (scenarios.has('memory')) {
      for (const relay of rep % 2 ? [...RELAYS].reverse() : RELAYS)
        results.memory[relay].push(await measureOpenStreams(ctx, relay, sizes.openStreams));
    }
    console.log(
      `repetition ${rep + 1}/${sizes.reps} done in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }

  info.loadAfter = loadAverage();
  const block = render(results, info, sizes);
  if (block.includes('####')) {
    console.log(`\n${block}\n`);
    if (write) {
      writeDocs(block);
      console.log('Written to docs/benchmarks.md');
    }
  }

  if (scenarios.has('profile')) {
    for (const kind of KINDS) await profile(kind);
  }
} finally {
  for (const child of children) await child.call('shutdown').catch(() => undefined);
  await Promise.race([Promise.all(children.map((child) => child.exited)), sleep(5_000)]);
}

/** A separate gateway for the profiler, so its overhead stays out of the figures above. */
async function profile(kind: Kind) {
  const dir = new URL('./profiles/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const name = `gateway-${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
  const gateway = await startRelay('gateway');
  try {
    await upstream.call('setDefault', { fast: true, content: reply(50) });
    const target = relayEndpoint(gateway.url, kind);
    await runLoad(target, { requests: warmupRequests, concurrency: sizes.concurrency });
    await gateway.child.call('profileStart', { intervalUs: 200 });
    const run = await runLoad(target, { requests: profileRequests, concurrency: sizes.concurrency });
    await gateway.child.call('profileStop', { file: fileURLToPath(new URL(name, dir)) });
    await upstream.call('takeRequests');
    console.log(
      `Profiled ${run.ok} ${kind} requests (${run.failed} failed) at ${run.rps.toFixed(0)} requests/s`,
    );
  } finally {
    await gateway.child.call('shutdown').catch(() => undefined);
    await gateway.child.exited;
  }
  console.log(`bench/profiles/${name}\n`);
  console.log(summarise(JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as CpuProfile));
}
