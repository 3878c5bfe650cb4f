import type { Child, ProcessUsage } from './child-rpc.ts';
import { type Endpoint, type LoadResult, runLoad } from './load-client.ts';

/**
 * The three things measured side by side: the gateway, the reference relay (bench/reference-relay.ts:
 * Hono + streamSSE + the official SDK) and the fake upstream called directly.
 */
export type TargetName = 'gateway' | 'reference' | 'direct';
/** The targets that are a process between the client and the upstream. */
export type RelayName = Exclude<TargetName, 'direct'>;
export const RELAYS = ['gateway', 'reference'] as const satisfies readonly RelayName[];
/**
 * `stream`: POST /api/completions/stream (the gateway's `{"content":...}` frames); `json`: POST
 * /api/completions; `v1`: POST /v1/chat/completions with `stream: true` (OpenAI's chunks relayed);
 * `responses`: POST /v1/responses with `stream: true` (the Responses API's events relayed).
 */
export type Kind = 'stream' | 'json' | 'v1' | 'responses';
export const KINDS = ['stream', 'json', 'v1', 'responses'] as const satisfies readonly Kind[];

/** How a complete Responses API stream shows itself (it sends no `[DONE]`). */
const RESPONSES_COMPLETE = 'event: response.completed\n';

export type Relay = { child: Child; url: string };

export type BenchContext = {
  upstream: Child;
  directBaseURL: string;
  /** The long-lived relays the throughput, latency and abort scenarios share. */
  relays: Record<RelayName, Relay>;
  /** A fresh relay process (the memory scenario wants an unloaded heap each time). */
  startRelay(name: RelayName, execArgv?: string[]): Promise<Relay>;
};

/** The client key the bench's gateway holds and every request to it sends, so auth is measured too. */
export const GATEWAY_KEY = 'sk-gateway-bench-0123456789abcdef';

/**
 * The gateway's bindings in every bench: production mode against the fake upstream, one client key
 * (authentication on), the rate limiter on, the access log written (to a discarded stdout), plus
 * `K=V` pairs from `--gateway-env`.
 */
export const gatewayBindings = (baseURL: string, extra: readonly string[] = []) => ({
  NODE_ENV: 'production',
  GATEWAY_API_KEYS: `bench:${GATEWAY_KEY}`,
  // Only matters when --gateway-env GATEWAY_API_KEYS= turns authentication off.
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

const PATHS: Record<Kind, string> = {
  stream: '/api/completions/stream',
  json: '/api/completions',
  v1: '/v1/chat/completions',
  responses: '/v1/responses',
};

/**
 * A relay's endpoint for `kind` (the gateway's or the reference's: they serve the same ones). The
 * client key goes to both: the reference ignores it, and the request bytes stay the same.
 */
export function relayEndpoint(relayUrl: string, kind: Kind, marker = 'Say hello'): Endpoint {
  const body =
    kind === 'v1'
      ? { model: 'gpt-4o-mini', messages: messages(marker), stream: true }
      : kind === 'responses'
        ? { model: 'gpt-4o-mini', input: marker, stream: true }
        : { messages: messages(marker) };
  return {
    url: new URL(PATHS[kind], relayUrl),
    sse: kind !== 'json',
    ...(kind === 'responses' ? { completeMarker: RESPONSES_COMPLETE } : {}),
    body: Buffer.from(JSON.stringify(body)),
    headers: { authorization: `Bearer ${GATEWAY_KEY}` },
  };
}

/** The same request every way: the direct one as the gateway itself sends it upstream. */
export function endpoint(ctx: BenchContext, target: TargetName, kind: Kind, marker = 'Say hello'): Endpoint {
  if (target !== 'direct') return relayEndpoint(ctx.relays[target].url, kind, marker);
  if (kind === 'responses') {
    return {
      url: new URL(`${ctx.directBaseURL}/responses`),
      sse: true,
      completeMarker: RESPONSES_COMPLETE,
      body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', input: marker, stream: true })),
    };
  }
  const sse = kind !== 'json';
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
  /** CPU time per completed request, microseconds, in each process (relay: 0 when direct). */
  cpuPerRequestUs: { relay: number; upstream: number; client: number };
};

/** One load run against one target, with the CPU each process spent on it. */
export async function measureLoad(
  ctx: BenchContext,
  target: TargetName,
  kind: Kind,
  load: { requests: number; concurrency: number },
): Promise<Measured> {
  const relay = target === 'direct' ? undefined : ctx.relays[target].child;
  const before = await usages(ctx.upstream, relay);
  const clientBefore = process.cpuUsage();
  const result = await runLoad(endpoint(ctx, target, kind), load);
  const clientCpu = process.cpuUsage(clientBefore);
  const after = await usages(ctx.upstream, relay);
  await ctx.upstream.call('takeRequests');
  const per = (ms: number) => (ms * 1000) / Math.max(result.ok, 1);
  return {
    ...result,
    samples: [],
    cpuPerRequestUs: {
      relay: after.relay && before.relay ? per(after.relay.cpuMs - before.relay.cpuMs) : 0,
      upstream: per(after.upstream.cpuMs - before.upstream.cpuMs),
      client: per((clientCpu.user + clientCpu.system) / 1000),
    },
  };
}

async function usages(upstream: Child, relay: Child | undefined) {
  const [upstreamUsage, relayUsage] = await Promise.all([
    upstream.call<ProcessUsage>('usage'),
    relay?.call<ProcessUsage>('usage'),
  ]);
  return { upstream: upstreamUsage, relay: relayUsage };
}
