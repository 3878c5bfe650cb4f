import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../app-env.ts';
import { servicesResolver } from '../services.ts';
import { clientIpOf } from './client-ip.ts';

// Incoming ids are echoed into logs and headers, so only short, plain ones are honoured.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const never = new AbortController().signal;
const NO_BINDINGS = {};

/** First middleware: config, logger and upstream for these bindings, plus the request's id. */
export function requestContext(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const servicesFor = servicesResolver(deps);
  return async function requestContext(c, next) {
    const { config, log, upstream, streamTokens, metrics, bootedAt } = servicesFor(c.env ?? NO_BINDINGS);
    c.set('config', config);
    c.set('log', log);
    c.set('upstream', upstream);
    c.set('streamTokens', streamTokens);
    c.set('metrics', metrics);
    c.set('bootedAt', bootedAt);
    c.set('startedAt', Date.now());
    c.set('shutdownSignal', deps.shutdownSignal?.(c.req.raw) ?? never);
    c.set('clientIp', clientIpOf(c.req.raw, deps.clientAddress?.(c.req.raw), config.TRUST_PROXY_HOPS));
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
  };
}
