import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type Child, type ProcessUsage, startChild } from './child-rpc.ts';
import { runLoad, send } from './load-client.ts';
import { gatewayBindings, relayEndpoint, reply } from './scenarios.ts';

/**
 * `npm run bench:soak [-- --rounds 6]`: a leak check. Each round sends the gateway (Node adapter,
 * own process, production mode) 3,000 streams, 3,000 JSON completions, 500 `/v1` completions and
 * 100 streams its clients drop after 100 ms; then forces two full GCs and reads the live heap.
 * A heap that grows round after round is a leak; RSS is printed beside it but moves with V8's
 * heap sizing more than with what is alive (docs/benchmarks.md, "Leak check").
 */
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' } } });
const rounds = Number(values.rounds);

const children: Child[] = [];
try {
  const upstream = await startChild<{ baseURL: string }>(new URL('./upstream-process.ts', import.meta.url));
  children.push(upstream.child);
  const gateway = await startChild<{ url: string }>(new URL('./gateway-process.ts', import.meta.url), {
    args: [JSON.stringify(gatewayBindings(upstream.ready.baseURL))],
    execArgv: ['--expose-gc'],
  });
  children.push(gateway.child);
  const stream = relayEndpoint(gateway.ready.url, 'stream');
  const json = relayEndpoint(gateway.ready.url, 'json');
  const v1 = { ...json, url: new URL('/v1/chat/completions', gateway.ready.url) };

  const heaps: number[] = [];
  console.log('| Round | Requests so far | Live heap after GC, MB | RSS, MB |\n| --- | --- | --- | --- |');
  for (let round = 1; round <= rounds; round++) {
    await upstream.child.call('setDefault', { fast: true, content: reply(50) });
    const loads = [
      await runLoad(stream, { requests: 3_000, concurrency: 50 }),
      await runLoad(json, { requests: 3_000, concurrency: 50 }),
      await runLoad(v1, { requests: 500, concurrency: 20 }),
    ];
    const failed = loads.reduce((sum, load) => sum + load.failed, 0);
    if (failed) throw new Error(`round ${round}: ${failed} requests failed`);
    // Streams the client leaves early: the path that aborts upstream calls and estimates usage.
    await upstream.child.call('setDefault', { content: reply(200), chunkDelayMs: 20 });
    const agent = new Agent({ keepAlive: true });
    await Promise.all(Array.from({ length: 100 }, () => send(stream, { agent, abortAfterMs: 100 })));
    agent.destroy();
    await upstream.child.call('takeRequests');
    await sleep(500);
    await gateway.child.call('gc');
    await gateway.child.call('gc');
    const usage = await gateway.child.call<ProcessUsage>('usage');
    heaps.push(usage.heapUsed);
    const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);
    console.log(`| ${round} | ${round * 6_600} | ${mb(usage.heapUsed)} | ${mb(usage.rss)} |`);
  }
  // The first round still warms caches and JIT code; later rounds must not keep growing.
  if (heaps.length > 2) {
    const growth = (heaps.at(-1)! - heaps[1]!) / 1_048_576;
    console.log(
      `\nLive heap from round 2 to round ${rounds}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`,
    );
  }
} finally {
  for (const child of children) await child.call('shutdown').catch(() => undefined);
  await Promise.race([Promise.all(children.map((child) => child.exited)), sleep(5_000)]);
}
