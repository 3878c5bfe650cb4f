import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { clientIpOf } from './client-ip.ts';

// Incoming ids are echoed into logs and headers, so only short, plain ones are honoured.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

type Options = {
  /** The client's address as the runtime saw it (Node socket, Lambda request context, CF-Connecting-IP). */
  clientAddress?: ((request: Request) => string | undefined) | undefined;
  /** TRUST_PROXY_HOPS: how many proxies in front append to X-Forwarded-For. */
  trustedHops: number;
};

/** First middleware: the request's own state (id, client address, start time, log fields). */
export function requestContext({ clientAddress, trustedHops }: Options): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    c.set('startedAt', Date.now());
    c.set('clientIp', clientIpOf(c.req.raw, clientAddress?.(c.req.raw), trustedHops));
    c.set('keyId', null);
    c.set('streamTicket', null);
    c.set('logFields', {});
    c.set('logAtStreamEnd', false);
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
  };
}
