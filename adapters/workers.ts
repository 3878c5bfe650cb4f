import type { ExecutionContext } from 'hono';
import { createApp } from '../src/app.ts';
import { type Bindings, ConfigError, loadConfig } from '../src/config.ts';
import { GatewayError } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';

const app = createApp({
  // Cloudflare's edge sets CF-Connecting-IP on every request that reaches a Worker, overwriting
  // any value the client sent; unlike X-Forwarded-For it cannot be forged.
  clientAddress: (request) => request.headers.get('cf-connecting-ip') ?? undefined,
});

// Whatever LOG_LEVEL says: it may be the bad variable.
const log = createLogger('error');

/**
 * The Workers entry: `env` (vars and secrets) is the app's bindings, one object per isolate.
 * Workers has no start-up that could refuse a bad variable, so each request checks (memoised per
 * `env`, so once per isolate when the variables are good): the client gets a JSON 500 that names
 * nothing, the log names the variable.
 */
export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
    try {
      loadConfig(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return misconfigured(error);
    }
    return app.fetch(request, env, ctx);
  },
};

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
