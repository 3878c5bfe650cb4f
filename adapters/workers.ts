import type { ExecutionContext } from 'hono';
import { type App, createApp } from '../src/app.ts';
import { type Bindings, ConfigError, loadConfig } from '../src/config.ts';
import { GatewayError } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import { memoryStores } from '../src/stores/memory-stores.ts';
import { type CountersNamespace, workersStores } from './workers/workers-stores.ts';
import { type StreamLogNamespace, workersStreamLogStore } from './workers/workers-stream-log-store.ts';

// wrangler requires every Durable Object class to be exported from the entry module.
export { GatewayCounters } from './workers/gateway-counters.ts';
export { StreamLog } from './workers/stream-log.ts';

/** The Worker's env: the app's string bindings, and the Durable Object bindings from wrangler.toml. */
type WorkersEnv = Bindings & { COUNTERS?: CountersNamespace; STREAM_LOGS?: StreamLogNamespace };

// Cloudflare's edge sets CF-Connecting-IP on every request that reaches a Worker, overwriting
// any value the client sent; unlike X-Forwarded-For it cannot be forged.
const clientAddress = (request: Request) => request.headers.get('cf-connecting-ip') ?? undefined;

// Whatever LOG_LEVEL says: it may be the bad variable.
const log = createLogger({ level: 'error' });

const apps = new WeakMap<WorkersEnv, App>();

/**
 * The Workers entry: `env` (vars, secrets, the COUNTERS binding) is the app's bindings, one object
 * per isolate. Workers has no start-up that could refuse a bad variable, so each request checks
 * (memoised per `env`, so once per isolate when the variables are good): the client gets a JSON
 * 500 that names nothing, the log names the variable.
 */
export default {
  fetch(request: Request, env: WorkersEnv, ctx: ExecutionContext) {
    let app: App;
    try {
      app = appFor(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return misconfigured(error);
    }
    return app.fetch(request, env, ctx);
  },
};

/** The app for one env: limits in the COUNTERS Durable Object when it is bound, else in memory. */
function appFor(env: WorkersEnv): App {
  let app = apps.get(env);
  if (app) return app;
  const config = loadConfig(env);
  if (config.REDIS_URL) {
    throw new ConfigError(
      'REDIS_URL is set, but a Worker cannot open a Redis connection: unset it. ' +
        'Limits are shared through the COUNTERS Durable Object binding (wrangler.toml) instead',
    );
  }
  // Refused rather than ignored: whoever set it expects limits in that table, which a Worker never writes.
  if (config.DYNAMODB_TABLE) {
    throw new ConfigError(
      'DYNAMODB_TABLE is set, but a Worker keeps its limits and usage in the COUNTERS Durable Object ' +
        '(wrangler.toml), not in DynamoDB: unset it',
    );
  }
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  if (!env.COUNTERS) {
    log.warn('limit_store_not_shared', {
      message:
        'No COUNTERS Durable Object binding: rate limits, token budgets and usage are counted per ' +
        'isolate, so a client gets each limit once per isolate. Add the binding (see wrangler.toml).',
    });
  }
  const shared = env.COUNTERS ? workersStores(env.COUNTERS)(config, log) : undefined;
  // Resumable streams' logs in StreamLog objects when bound; else in this isolate's memory.
  const stores = env.STREAM_LOGS
    ? { ...(shared ?? memoryStores(config)), streamLogs: workersStreamLogStore(env.STREAM_LOGS, config) }
    : shared;
  app = createApp({ config, log, clientAddress, ...(stores ? { stores } : {}) });
  apps.set(env, app);
  return app;
}

function misconfigured(error: ConfigError): Response {
  log.error('config_error', { message: error.message });
  const body = new GatewayError({
    status: 500,
    type: 'server_error',
    code: 'config_error',
    message: 'The gateway is misconfigured; its log names the setting to fix',
  }).toBody();
  return Response.json(body, { status: 500 });
}
