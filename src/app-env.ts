import type { LogFields } from './logger.ts';
import type { StreamTicket } from './stream-tokens.ts';

/**
 * What the Hono context carries: the state of one request, and nothing process-wide. Services
 * (config, upstream, stores, metrics) reach middleware and routes through their factories' options.
 */
export type RequestState = {
  requestId: string;
  /**
   * From the adapter's `clientAddress` (or X-Forwarded-For, only with TRUST_PROXY_HOPS);
   * 'unknown' when the runtime gives none.
   */
  clientIp: string;
  /** The authenticated client key's id (a name or a hash prefix, never the key); null when open. */
  keyId: string | null;
  /** A verified EventSource link's ticket (GET /api/streams/<token>); null when absent or invalid. */
  streamTicket: StreamTicket | null;
  startedAt: number;
  /** Fields the request's access-log line gets besides method, path and status (model, usage, ...). */
  logFields: LogFields;
  /** Set when a stream takes over the access-log line: it writes the line when it ends. */
  logAtStreamEnd: boolean;
};

/** No Bindings: the adapters parse theirs into a Config and hand it to createApp, once. */
export type AppEnv = { Variables: RequestState };
