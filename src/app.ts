import { type Context, Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import type { AppEnv } from './app-env.ts';
import { clientKeyTable } from './client-keys.ts';
import type { Config } from './config.ts';
import { type GatewayError, notFound, toGatewayError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { createGatewayMetrics } from './metrics/gateway-metrics.ts';
import { createAccessLog } from './middleware/access-log.ts';
import { authenticate } from './middleware/authenticate.ts';
import { bodySizeLimit } from './middleware/body-size-limit.ts';
import { corsPolicy } from './middleware/cors-policy.ts';
import { jsonHygiene } from './middleware/json-hygiene.ts';
import { storeFailurePolicy } from './middleware/limit-policy.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { tokenBudget } from './middleware/token-budget.ts';
import { adminRoutes } from './routes/admin.ts';
import { chatRequestBuilder } from './routes/completion-request.ts';
import { completionRunner } from './routes/completion-runner.ts';
import { completionsRoute } from './routes/completions.ts';
import { healthRoute } from './routes/health.ts';
import { playgroundEnabled, playgroundRoute } from './routes/playground.ts';
import { responseTenancy } from './routes/response-tenancy.ts';
import { responsesRoute } from './routes/responses.ts';
import { responsesRequestBuilder } from './routes/responses-request.ts';
import { responsesRunner } from './routes/responses-runner.ts';
import { streamsRoute } from './routes/streams.ts';
import { v1Route } from './routes/v1.ts';
import { memoryStores, streamLogLimits } from './stores/memory-stores.ts';
import { memoryStreamLogStore } from './stores/memory-stream-log-store.ts';
import type { Stores } from './stores/stores.ts';
import { createStreamTokens, streamTokenSecret } from './stream-tokens.ts';
import { resumableStreams } from './streaming/resumable-streams.ts';
import { createUpstream } from './upstream/create-upstream.ts';
import type { UpstreamTransport } from './upstream/transport.ts';
import { createUsageLedger } from './usage/usage-ledger.ts';

/** What an adapter hands createApp: the parsed configuration, and what only the runtime knows. */
export type AppDeps = {
  config: Config;
  /** One JSON line per event on stdout by default (LOG_LEVEL, LOG_FORMAT). */
  log?: Logger;
  /**
   * The stores limits and usage share: the adapter's shared ones (Redis beside the Node adapter,
   * a Durable Object on Workers); memory, for this process only, by default.
   */
  stores?: Stores;
  /** How upstream calls leave the process: the runtime's `fetch` by default (Node brings node:http). */
  upstreamTransport?: UpstreamTransport;
  /**
   * The signal that ends a request's open stream early, with an error event: the Node server's
   * shutdown, or a Lambda invocation's approaching deadline. Asked once per stream.
   */
  shutdownSignal?: (request: Request) => AbortSignal | undefined;
  /**
   * The client's address as the runtime saw it (Node socket, Lambda request context, Workers
   * CF-Connecting-IP). Each adapter supplies its own; headers a client can forge are not used here.
   */
  clientAddress?: (request: Request) => string | undefined;
};

const STREAM_LINK_PREFIX = '/api/streams/';

/**
 * The whole gateway, runtime-neutral, built once per configuration: every service is made here
 * and handed to the middleware and routes that need it; the context carries request state only.
 */
export function createApp(deps: AppDeps) {
  const { config } = deps;
  const log = deps.log ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const stores = deps.stores ?? memoryStores(config);
  log.info('limit_store', { kind: stores.kind });
  const keys = clientKeyTable(config);
  if (config.PUBLIC_ACCESS && !config.GATEWAY_API_KEYS.length && !config.GATEWAY_API_KEY_HASHES.length) {
    warnOpen(config, log);
  }
  const metrics = createGatewayMetrics();
  const { chat: upstream, responses: responsesUpstream } = createUpstream({
    config,
    log,
    transport: deps.upstreamTransport,
    cooldowns: stores.cooldowns,
    metrics: metrics.pool,
  });
  const streamTokens = createStreamTokens({
    secret: streamTokenSecret(config, log),
    ttlSeconds: config.STREAM_TOKEN_TTL_SECONDS,
  });
  const accessLog = createAccessLog({ log, metrics, emf: config.METRICS_EMF });
  const settle = createUsageLedger({
    tokens: stores.tokens,
    usage: stores.usage,
    chargeTokens: config.TOKEN_LIMIT_MAX > 0,
    logBodies: config.LOG_BODIES,
    log,
  });
  const resumable = resumableStreams({
    store: stores.streamLogs ?? memoryStreamLogStore(streamLogLimits(config)),
    windowMs: config.STREAM_RESUME_WINDOW_MS,
    maxBytes: config.STREAM_RESUME_MAX_BYTES,
    keepaliveMs: config.SSE_KEEPALIVE_MS,
    idleTimeoutMs: config.REQUEST_TIMEOUT,
    log,
  });
  const completions = completionRunner({
    upstream,
    settle,
    accessLog,
    metrics,
    config,
    shutdownSignal: deps.shutdownSignal,
    resumable,
  });
  const chatRequest = chatRequestBuilder(config);
  const responses = responsesRunner({
    upstream: responsesUpstream,
    tenancy: responseTenancy({ owners: stores.responseOwners, log }),
    settle,
    accessLog,
    metrics,
    config,
    shutdownSignal: deps.shutdownSignal,
  });
  const onStoreFailure = storeFailurePolicy(config.REDIS_FAILURE_POLICY);

  const app = new Hono<AppEnv>({ getPath: pathOf });
  app.use(requestContext({ clientAddress: deps.clientAddress, trustedHops: config.TRUST_PROXY_HOPS }));
  app.use(accessLog.middleware);
  app.use(securityHeaders());
  app.use(corsPolicy({ origins: config.CORS_ORIGINS }));

  // Public: health for load balancers, the playground page (a browser loads it before it has a key
  // to send), and the operator's endpoints, which check ADMIN_API_KEY themselves. Registered before
  // the key check: Hono runs handlers in the order they were added, and these answer without next().
  app.route(
    '/api/health',
    healthRoute({ mode: upstream.mode, upstreams: upstream.names, bootedAt: Date.now() }),
  );
  app.route('/', playgroundRoute({ enabled: playgroundEnabled(config) }));
  app.route('/', adminRoutes({ adminKey: config.ADMIN_API_KEY, usage: stores.usage, metrics }));

  // Everything else, unknown paths included. Cheapest refusals first: nothing reads a body, or
  // costs a store round trip, before the key is known to be good.
  app.use(
    authenticate({
      keys,
      streamTokens,
      streamLinkPrefix: STREAM_LINK_PREFIX,
      resumeGraceSeconds: config.STREAM_RESUME_TTL_SECONDS,
    }),
  );
  app.use(
    rateLimit({
      store: stores.requests,
      limit: config.RATE_LIMIT_MAX,
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      onStoreFailure,
    }),
  );
  app.use(
    tokenBudget({
      store: stores.tokens,
      limit: config.TOKEN_LIMIT_MAX,
      windowMs: config.TOKEN_LIMIT_WINDOW_MS,
      onStoreFailure,
    }),
  );
  app.use(bodySizeLimit({ maxBytes: config.MAX_BODY_BYTES }));
  app.use(jsonHygiene());
  app.route(
    '/api/completions',
    completionsRoute({ chatRequest, completions, resumeLinks: { streamTokens, resumable } }),
  );
  app.route('/api/streams', streamsRoute({ chatRequest, completions, streamTokens, resumable }));
  app.route(
    '/v1/responses',
    responsesRoute({ responsesRequest: responsesRequestBuilder(config), responses }),
  );
  app.route('/v1', v1Route({ chatRequest, completions, upstream, allowedModels: config.ALLOWED_MODELS }));

  app.notFound((c) => renderError(c, notFound(c.req.path)));
  app.onError((thrown, c) => renderError(c, toGatewayError(thrown)));
  return app;
}

export type App = ReturnType<typeof createApp>;

const renderError = (c: Context, error: GatewayError) => c.json(error.toBody(), error.status, error.headers);

/**
 * Repeated slashes count as one, as most web servers treat them: the URL AWS prints for a Function
 * URL ends in `/`, so `$URL/api/health` asks for `//api/health`.
 */
function pathOf(request: Request): string {
  const path = getPath(request);
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

function warnOpen(config: Config, log: Logger) {
  if (config.NODE_ENV !== 'production') return;
  log.warn('auth_disabled', {
    message:
      'PUBLIC_ACCESS=on and no GATEWAY_API_KEYS or GATEWAY_API_KEY_HASHES: anyone who can reach ' +
      'this gateway can use it, on your upstream account. Keep CORS_ORIGINS and a token budget ' +
      '(TOKEN_LIMIT_MAX) set, or set client keys.',
  });
}
