import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child, ProcessUsage } from './child-rpc.ts';
import { runLoad, type Sample, send } from './load-client.ts';
import {
  type BenchContext,
  endpoint,
  type RelayName,
  relayEndpoint,
  reply,
  type TargetName,
} from './scenarios.ts';
import { median } from './stats.ts';
import type { SeenRequest } from './upstream-process.ts';

/** The scenarios with paced, long streams: memory per open stream, and client aborts. */

export type OpenStreams = {
  open: number;
  idleRssMB: number;
  openRssMB: number;
  rssPerStreamKB: number;
  /** Live heap after a full GC with the streams open, per stream: what the streams hold on to. */
  heapPerStreamKB: number;
  /** Relay CPU per token relayed while all streams were open (each token read on its own). */
  cpuPerTokenUs: number;
  /** Tokens per second the relay passed on in that window (the upstream offers 20 per stream). */
  tokensPerSecond: number;
  /** Streams that failed before they were all open and measured. */
  failed: number;
};

/**
 * `count` paced streams (50 ms between tokens) held open at once through a fresh relay process (the
 * gateway or the reference); read while all are open, then dropped by the client, which also shows
 * the relay shedding them.
 */
export async function measureOpenStreams(
  ctx: BenchContext,
  relay: RelayName,
  count: number,
): Promise<OpenStreams> {
  const server = await ctx.startRelay(relay, ['--expose-gc']);
  const agent = new Agent({ keepAlive: true, maxSockets: count });
  try {
    const stream = relayEndpoint(server.url, 'stream');
    // Warm-up: every code path a stream takes, compiled and loaded before the idle reading.
    await ctx.upstream.call('setDefault', { fast: true, content: reply(50) });
    await runLoad(stream, { requests: 200, concurrency: 20 });
    await ctx.upstream.call('setDefault', { content: reply(5), chunkDelayMs: 50 });
    await runLoad(stream, { requests: 20, concurrency: 20 });
    const idle = await settledUsage(server.child);

    // 1,000 tokens at 50 ms would take 50 s: every stream is still open when measured.
    await ctx.upstream.call('setDefault', { content: reply(1_000), chunkDelayMs: 50 });
    const counter = { events: 0 };
    let firstEvents = 0;
    let settled = 0;
    const all = Array.from({ length: count }, () =>
      send(stream, {
        agent,
        timeoutMs: 120_000,
        eventCounter: counter,
        onFirstEvent: () => firstEvents++,
      }).finally(() => settled++),
    );
    const deadline = Date.now() + 30_000;
    while (firstEvents < count && Date.now() < deadline) await sleep(20);
    await sleep(500);
    const failed = settled;
    const first = await server.child.call<ProcessUsage>('usage');
    const eventsBefore = counter.events;
    const startedAt = performance.now();
    const readings: number[] = [first.rss];
    for (let index = 0; index < 4; index++) {
      await sleep(250);
      readings.push((await server.child.call<ProcessUsage>('usage')).rss);
    }
    const last = await server.child.call<ProcessUsage>('usage');
    const tokens = counter.events - eventsBefore;
    const seconds = (performance.now() - startedAt) / 1000;
    const open = firstEvents - settled;
    await server.child.call('gc');
    const heap = await server.child.call<ProcessUsage>('usage');
    agent.destroy();
    await Promise.all(all);
    const openRss = median(readings);
    return {
      open,
      idleRssMB: idle.rss / 2 ** 20,
      openRssMB: openRss / 2 ** 20,
      rssPerStreamKB: (openRss - idle.rss) / 1024 / Math.max(open, 1),
      heapPerStreamKB: (heap.heapUsed - idle.heapUsed) / 1024 / Math.max(open, 1),
      cpuPerTokenUs: ((last.cpuMs - first.cpuMs) * 1000) / Math.max(tokens, 1),
      tokensPerSecond: tokens / seconds,
      failed,
    };
  } finally {
    agent.destroy();
    await server.child.call('shutdown').catch(() => undefined);
    await server.child.exited;
  }
}

async function settledUsage(child: Child): Promise<ProcessUsage> {
  await child.call('gc');
  await sleep(300);
  await child.call('gc');
  return child.call<ProcessUsage>('usage');
}

export type Aborts = {
  sent: number;
  /** Upstream requests that saw the client's abort within a second, and how long after it (ms). */
  reached: number;
  delaysMs: number[];
  within50ms: number;
};

/** `count` slow streams, each aborted by the client after `abortAfterMs`. */
export async function measureAborts(
  ctx: BenchContext,
  target: TargetName,
  { count, abortAfterMs, rep }: { count: number; abortAfterMs: number; rep: number },
): Promise<Aborts> {
  // 100 tokens at 50 ms: a stream the abort did not reach is still running when it is counted.
  await ctx.upstream.call('setDefault', { content: reply(100), chunkDelayMs: 50 });
  await ctx.upstream.call('takeRequests');
  const agent = new Agent({ keepAlive: true, maxSockets: count });
  const markers = Array.from({ length: count }, (_, index) => `bench-abort-${target}-${rep}-${index}`);
  const samples: Sample[] = await Promise.all(
    markers.map((marker) => send(endpoint(ctx, target, 'stream', marker), { agent, abortAfterMs })),
  );
  agent.destroy();
  await sleep(1_000);
  const seen = new Map(
    (await ctx.upstream.call<SeenRequest[]>('takeRequests')).map((request) => [request.marker, request]),
  );
  const delaysMs: number[] = [];
  markers.forEach((marker, index) => {
    const upstream = seen.get(marker);
    const abortedAt = samples[index]?.abortedAt;
    // Both clocks are Date.now() on one machine, in whole milliseconds.
    if (upstream?.aborted && upstream.abortedAt !== null && abortedAt != null) {
      delaysMs.push(upstream.abortedAt - abortedAt);
    }
  });
  return {
    sent: count,
    reached: delaysMs.length,
    delaysMs,
    within50ms: delaysMs.filter((delay) => delay <= 50).length,
  };
}
