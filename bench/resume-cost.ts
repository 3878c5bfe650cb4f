import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/server-process.ts';
import { type Child, type ProcessUsage, startChild } from './child-rpc.ts';
import { runLoad } from './load-client.ts';
import { gatewayBindings, relayEndpoint, reply } from './scenarios.ts';
import { median } from './stats.ts';

/**
 * What a resumable stream costs when it never reconnects: the same POST /api/completions/stream
 * load with and without `X-Stream-Resume: on`, in alternating rounds on one gateway process, so
 * drift on a shared machine falls on both alike. With `--store redis` (a redis-server this script
 * starts on 127.0.0.1) every store command is real, and Redis's own command counts give the
 * appends per stream. `--quick`: one small round each.
 */
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    store: { type: 'string', default: 'memory' },
    rounds: { type: 'string' },
    words: { type: 'string', default: '64' },
  },
});
const quick = values.quick ?? false;
const rounds = Number(values.rounds ?? (quick ? 1 : 5));
const load = quick ? { requests: 300, concurrency: 20 } : { requests: 2_000, concurrency: 50 };
const words = Number(values.words);

const redis = values.store === 'redis' ? await startRedis() : undefined;
const upstreamStart = await startChild<{ baseURL: string }>(
  new URL('./upstream-process.ts', import.meta.url),
);
const fake = upstreamStart.child;
// Not the fast mode: one write per chunk, as a model streams, so the relay sees many batches.
await fake.call('setDefault', { content: reply(words) });
const bindings = {
  ...gatewayBindings(upstreamStart.ready.baseURL),
  // Thousands of streams a second: logs that lived the default 300 s would hit the default bound
  // on live logs (10,000) within seconds; a short life keeps the store at a steady size instead.
  STREAM_RESUME_TTL_SECONDS: '5',
  STREAM_RESUME_MAX_STREAMS: '1000000',
  ...(redis ? { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '5000' } : {}),
};
const gatewayStart = await startChild<{ url: string }>(new URL('./gateway-process.ts', import.meta.url), {
  args: [JSON.stringify(bindings)],
});
const gateway = gatewayStart.child;

const plain = relayEndpoint(gatewayStart.ready.url, 'stream');
const resumable = { ...plain, headers: { ...plain.headers, 'x-stream-resume': 'on' } };
type Row = { rps: number; p50: number; p99: number; cpuUs: number; xaddPerStream: number | null };
const results: Record<'plain' | 'resumable', Row[]> = { plain: [], resumable: [] };

try {
  await runLoad(plain, { requests: 100, concurrency: 10 });
  await runLoad(resumable, { requests: 100, concurrency: 10 });
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['plain', 'resumable'] as const) {
      const before = await gateway.call<ProcessUsage>('usage');
      const xaddBefore = redis ? await redis.xadds() : 0;
      const result = await runLoad(mode === 'plain' ? plain : resumable, load);
      const after = await gateway.call<ProcessUsage>('usage');
      if (result.failed) throw new Error(`${mode}: ${result.failed} failed (${result.firstError})`);
      await fake.call('takeRequests');
      results[mode].push({
        rps: result.rps,
        p50: result.p50,
        p99: result.p99,
        cpuUs: ((after.cpuMs - before.cpuMs) * 1000) / result.ok,
        xaddPerStream: redis ? ((await redis.xadds()) - xaddBefore) / result.ok : null,
      });
    }
  }
  const row = (mode: 'plain' | 'resumable') => {
    const rows = results[mode];
    const of = (pick: (r: Row) => number) => median(rows.map(pick));
    return `| ${mode} | ${of((r) => r.rps).toFixed(0)} | ${of((r) => r.p50).toFixed(1)} | ${of((r) => r.p99).toFixed(1)} | ${of((r) => r.cpuUs).toFixed(0)} | ${redis ? of((r) => r.xaddPerStream ?? 0).toFixed(2) : '-'} |`;
  };
  console.log(
    `resume-cost: store ${values.store}, ${words}-word replies, ${load.requests} streams x ${rounds} round(s), concurrency ${load.concurrency}\n`,
  );
  console.log('| streams | req/s | p50 ms | p99 ms | gateway CPU us/stream | log appends/stream |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('plain'));
  console.log(row('resumable'));
} finally {
  for (const child of [fake, gateway] as Child[]) child.process.kill('SIGTERM');
  await redis?.stop();
}

/** A redis-server on a free 127.0.0.1 port, no persistence; stopped by its PID. */
async function startRedis() {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      await command(port, 'PING').then(
        (answer) => answer.includes('PONG'),
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async xadds() {
      const stats = await command(port, 'INFO commandstats');
      return Number(stats.match(/cmdstat_xadd:calls=(\d+)/)?.[1] ?? 0);
    },
    async stop() {
      if (server.pid) process.kill(server.pid, 'SIGTERM');
    },
  };
}

function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${line}\r\n`));
    let answer = '';
    socket.on('data', (data) => {
      answer += data;
      // A bulk reply is complete once its announced length arrived; PING's is one line.
      const bulk = answer.match(/^\$(\d+)\r\n/);
      if (!bulk || answer.length >= bulk[0].length + Number(bulk[1]) + 2) {
        socket.end();
        resolve(answer);
      }
    });
    socket.on('error', reject);
  });
}
