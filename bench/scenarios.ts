import type { Child, ProcessUsage } from './child-rpc.ts';
import { type Endpoint, type LoadResult, runLoad } from './load-client.ts';

/** The two things measured side by side: the gateway, and the fake upstream called directly. */
export type TargetName = 'gateway' | 'direct';
export type Kind = 'stream' | 'json';

export type BenchContext = {
  upstream: Child;
  directBaseURL: string;
  /** The long-lived gateway the throughput, latency and abort scenarios share. */
  gateway: { child: Child; url: string };
  /** A fresh gateway process (the memory scenario wants an unloaded heap each time). */
  startGateway(execArgv?: string[]): Promise<{ child: Child; url: string }>;
};

/**
 * The gateway's bindings in every bench: production mode against the fake upstream, with the
 * access log written (to a discarded stdout), plus `K=V` pairs from `--gateway-env`.
 */
export const gatewayBindings = (baseURL: string, extra: readonly string[] = []) => ({
  NODE_ENV: 'production',
  PUBLIC_ACCESS: 'on',
  OPENAI_API_KEY: 'sk-bench',
  OPENAI_BASE_URL: baseURL,
  LOG_LEVEL: 'info',
  // A rate limiter must not turn the load into 429s; its per-request work is still measured.
  RATE_LIMIT_MAX: '1000000000',
  ...Object.fromEntries(extra.map((pair) => pair.split(/=(.*)/s).slice(0, 2))),
});

const WORDS = 'The quick brown fox jumps over the lazy dog while a model streams'.split(' ');
/** A reply of `count` words: the fake sends one chunk (one token) per word. */
export const reply = (count: number) =>
  Array.from({ length: count }, (_, index) => WORDS[index % WORDS.length]).join(' ');

const messages = (marker: string) => [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: marker },
];

/** The gateway's own endpoints on a gateway at `gatewayUrl`: `/api/completions/stream` or `/api/completions`. */
export function gatewayEndpoint(gatewayUrl: string, kind: Kind, marker = 'Say hello'): Endpoint {
  const sse = kind === 'stream';
  const url = new URL(sse ? '/api/completions/stream' : '/api/completions', gatewayUrl);
  return { url, sse, body: Buffer.from(JSON.stringify({ messages: messages(marker) })) };
}

/** The same request either way: the direct one as the gateway itself sends it upstream. */
export function endpoint(ctx: BenchContext, target: TargetName, kind: Kind, marker = 'Say hello'): Endpoint {
  const sse = kind === 'stream';
  if (target === 'gateway') return gatewayEndpoint(ctx.gateway.url, kind, marker);
  const body = {
    model: 'gpt-4o-mini',
    messages: messages(marker),
    ...(sse ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
  return {
    url: new URL(`${ctx.directBaseURL}/chat/completions`),
    sse,
    body: Buffer.from(JSON.stringify(body)),
  };
}

export type Measured = LoadResult & {
  /** CPU time per completed request, microseconds, in each process. */
  cpuPerRequestUs: { gateway: number; upstream: number; client: number };
};

/** One load run against one target, with the CPU each process spent on it. */
export async function measureLoad(
  ctx: BenchContext,
  target: TargetName,
  kind: Kind,
  load: { requests: number; concurrency: number },
): Promise<Measured> {
  const before = await usages(ctx);
  const clientBefore = process.cpuUsage();
  const result = await runLoad(endpoint(ctx, target, kind), load);
  const clientCpu = process.cpuUsage(clientBefore);
  const after = await usages(ctx);
  await ctx.upstream.call('takeRequests');
  const per = (ms: number) => (ms * 1000) / Math.max(result.ok, 1);
  return {
    ...result,
    samples: [],
    cpuPerRequestUs: {
      gateway: target === 'gateway' ? per(after.gateway.cpuMs - before.gateway.cpuMs) : 0,
      upstream: per(after.upstream.cpuMs - before.upstream.cpuMs),
      client: per((clientCpu.user + clientCpu.system) / 1000),
    },
  };
}

async function usages(ctx: BenchContext) {
  const [gateway, upstream] = await Promise.all([
    ctx.gateway.child.call<ProcessUsage>('usage'),
    ctx.upstream.call<ProcessUsage>('usage'),
  ]);
  return { gateway, upstream };
}
