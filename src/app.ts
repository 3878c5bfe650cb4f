import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { AppDeps, AppEnv } from './app-env.ts';
import type { Config } from './config.ts';
import { type GatewayError, notFound, payloadTooLarge, toGatewayError } from './errors.ts';
import { accessLog } from './middleware/access-log.ts';
import { requestContext } from './middleware/request-context.ts';
import { completionsRoute } from './routes/completions.ts';
import { healthRoute } from './routes/health.ts';
import { playgroundRoute } from './routes/playground.ts';
import { streamsRoute } from './routes/streams.ts';
import { v1Route } from './routes/v1.ts';

/** The whole gateway, runtime-neutral: every adapter serves this app with its own bindings. */
export function createApp(deps: AppDeps = {}) {
  const app = new Hono<AppEnv>();

  app.use(requestContext(deps));
  app.use(accessLog());
  app.use(
    cors({
      origin: (origin, c) => {
        const allowed = c.get('config').CORS_ORIGINS;
        return allowed.includes('*') || allowed.includes(origin) ? origin : null;
      },
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'X-Api-Key', 'X-Request-Id'],
      exposeHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    }),
  );
  app.use(limitBodySize());

  app.route('/api/health', healthRoute());
  app.route('/api/completions', completionsRoute());
  app.route('/api/streams', streamsRoute());
  app.route('/v1', v1Route());
  app.route('/', playgroundRoute());

  app.notFound((c) => renderError(c, notFound(c.req.path)));
  app.onError((thrown, c) => renderError(c, toGatewayError(thrown)));
  return app;
}

export type App = ReturnType<typeof createApp>;

const renderError = (c: Context, error: GatewayError) => c.json(error.toBody(), error.status, error.headers);

/** Hono's bodyLimit, built once per configuration rather than once per request. */
function limitBodySize(): MiddlewareHandler<AppEnv> {
  const byConfig = new WeakMap<Config, MiddlewareHandler>();
  return function limitBodySize(c, next) {
    const config = c.get('config');
    let limit = byConfig.get(config);
    if (!limit) {
      limit = bodyLimit({
        maxSize: config.MAX_BODY_BYTES,
        onError: () => {
          throw payloadTooLarge(config.MAX_BODY_BYTES);
        },
      });
      byConfig.set(config, limit);
    }
    return limit(c, next);
  };
}
