import type { Bindings, Config } from './config.ts';
import type { LogFields, Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics/gateway-metrics.ts';
import type { UsageFacts } from './middleware/usage-accounting.ts';
import type { StoreFactory } from './stores/stores.ts';
import type { StreamTicket, StreamTokens } from './stream-tokens.ts';
import type { ChatUpstream } from './upstream/chat-upstream.ts';

/** What the adapters may hand `createApp` besides the bindings. */
export type AppDeps = {
  /** Where log lines go; stdout by default. */
  writeLog?: (line: string) => void;
  /** ANSI colours in LOG_FORMAT=pretty lines: the Node adapter asks for them on a terminal. */
  colorLogs?: boolean;
  /**
   * The signal that ends a request's open stream early, with an error event: the Node server's
   * shutdown, or a Lambda invocation's approaching deadline. Asked once per request.
   */
  shutdownSignal?: (request: Request) => AbortSignal | undefined;
  /**
   * The client's address as the runtime saw it (Node socket, Lambda request context, Workers
   * CF-Connecting-IP). Each adapter supplies its own; headers a client can forge are not used here.
   */
  clientAddress?: (request: Request) => string | undefined;
  /**
   * Builds the stores rate limits and token budgets share (src/stores/node-stores.ts: Redis when
   * REDIS_URL is set; adapters/workers/workers-stores.ts: a Durable Object). Without one, memory.
   */
  createStores?: StoreFactory;
  /**
   * The `fetch` the openai SDK calls the upstream with: the runtime's own by default; the Node
   * adapter hands in a leaner one (adapters/node/upstream-fetch.ts).
   */
  upstreamFetch?: typeof fetch;
};

export type Services = {
  config: Config;
  log: Logger;
  upstream: ChatUpstream;
  streamTokens: StreamTokens;
  metrics: GatewayMetrics;
  /** When this instance built its services, at its first request (Workers' clock is still at load). */
  bootedAt: number;
};

export type AppEnv = {
  Bindings: Bindings;
  Variables: Services & {
    requestId: string;
    /**
     * From the adapter's `clientAddress` (or X-Forwarded-For, only with TRUST_PROXY_HOPS);
     * 'unknown' when the runtime gives none.
     */
    clientIp: string;
    /** A verified EventSource link's ticket (GET /api/streams/<token>); null when absent or invalid. */
    streamTicket: StreamTicket | null;
    /** The authenticated client key's id (a name or a hash prefix, never the key); null when open. */
    keyId: string | null;
    /** Charges a finished request's tokens to the client's token budget; never throws. */
    chargeTokens: (usage: { total_tokens: number } | null | undefined) => Promise<void>;
    /** Settles a completion's usage once: token budget, usage store, log line. Never throws. */
    accountUsage: (facts: UsageFacts) => Promise<void>;
    startedAt: number;
    shutdownSignal: AbortSignal;
    /** Fields a route adds to its access log line (model, usage). */
    logFields: LogFields;
    /** Streams call this to own the access log line, written when the stream ends. */
    deferAccessLog: () => (fields: LogFields) => void;
  };
};
