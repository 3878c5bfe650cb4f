import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getPath } from 'hono/utils/url';
import type { AppDeps, AppEnv } from './app-env.ts';
import type { Config } from './config.ts';
import { type GatewayError, notFound, payloadTooLarge, toGatewayError } from './errors.ts';
import { accessLog } from './middleware/access-log.ts';
import { authenticate } from './middleware/authenticate.ts';
import { corsPolicy } from './middleware/cors-policy.ts';
import { jsonHygiene } from './middleware/json-hygiene.ts';
import { modelPolicy } from './middleware/model-policy.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { tokenBudget } from './middleware/token-budget.ts';
import { usageAccounting } from './middleware/usage-accounting.ts';
import { adminRoutes } from './routes/admin.ts';
import { completionsRoute } from './routes/completions.ts';
import { healthRoute } from './routes/health.ts';
import { playgroundRoute } from './routes/playground.ts';
import { streamsRoute } from './routes/streams.ts';
import { v1Route } from './routes/v1.ts';
import { storesResolver } from './stores/resolve-stores.ts';

// Outside client keys and limits: health for load balancers, the playground page (a browser loads
// it before it has a key to send), and the operator's endpoints, which check ADMIN_API_KEY themselves.
const PUBLIC_PATHS = new Set(['/api/health', '/', '/playground', '/api/usage', '/metrics']);
const isPublic = (path: string) => PUBLIC_PATHS.has(path);

/** The whole gateway, runtime-neutral: every adapter serves this app with its own bindings. */
export function createApp(deps: AppDeps = {}) {
  const app = new Hono<AppEnv>({ getPath: pathOf });

  const stores = storesResolver(deps.createStores);

  // Cheapest refusals first: nothing reads a body, or costs a store round trip, before the key
  // is known to be good; the upstream is never called for a request refused here.
  app.use(requestContext(deps));
  app.use(accessLog());
  app.use(securityHeaders());
  app.use(corsPolicy());
  app.use(authenticate({ isPublic, streamLinkPrefix: '/api/streams/' }));
  app.use(rateLimit({ stores, isPublic }));
  app.use(tokenBudget({ stores, isPublic }));
  app.use(usageAccounting({ stores, isPublic }));
  app.use(limitBodySize());
  app.use(jsonHygiene());
  app.use(modelPolicy());

  app.route('/api/health', healthRoute());
  app.route('/api/completions', completionsRoute());
  app.route('/api/streams', streamsRoute());
  app.route('/v1', v1Route());
  app.route('/', adminRoutes({ stores }));
  app.route('/', playgroundRoute());

  app.notFound((c) => renderError(c, notFound(c.req.path)));
  app.onError((thrown, c) => renderError(c, toGatewayError(thrown)));
  return app;
}

export type App = ReturnType<typeof createApp>;

/**
 * Repeated slashes count as one, as most web servers treat them: the URL AWS prints for a Function
 * URL ends in `/`, so `$URL/api/health` asks for `//api/health`.
 */
function pathOf(request: Request): string {
  const path = getPath(request);
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

const renderError = (c: Context, error: GatewayError) => c.json(error.toBody(), error.status, error.headers);

/**
 * Bodies over MAX_BODY_BYTES get a 413. A declared Content-Length is checked as it stands (the
 * runtime's HTTP parser holds the body to it), as Hono's bodyLimit does, but without first reading
 * `c.req.raw.body`: on Node that builds a full Request and moves the body onto a web stream, for
 * every request. Only a chunked body, whose size is known once read, goes through bodyLimit.
 */
function limitBodySize(): MiddlewareHandler<AppEnv> {
  const byConfig = new WeakMap<Config, MiddlewareHandler>();
  return async function limitBodySize(c, next) {
    const config = c.get('config');
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number.parseInt(declared, 10) > config.MAX_BODY_BYTES) throw payloadTooLarge(config.MAX_BODY_BYTES);
      return next();
    }
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
