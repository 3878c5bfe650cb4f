import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { toGatewayError } from '../errors.ts';
import { describeError, type LogFields } from '../logger.ts';

/**
 * One line per request. A stream takes the line over with `deferAccessLog` and writes it when it
 * ends, with its outcome and usage; everything else is logged when the response is ready.
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    let deferred = false;
    const routeFields: LogFields = {};
    c.set('logFields', routeFields);
    const write = (fields: LogFields) => {
      const status = c.res.status;
      const line = {
        request_id: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status,
        client_ip: c.get('clientIp'),
        latency_ms: Date.now() - c.get('startedAt'),
        ...routeFields,
        ...fields,
      };
      if (status >= 500 || fields.outcome === 'upstream_error') c.get('log').error('request', line);
      else c.get('log').info('request', line);
    };
    c.set('deferAccessLog', () => {
      deferred = true;
      return write;
    });
    await next();
    if (deferred) return;
    // The error is logged here, once, with its cause; the client only got the safe message.
    const error = c.error ? toGatewayError(c.error) : undefined;
    write(
      error
        ? {
            outcome: outcomeOf(error.status),
            code: error.code,
            ...(error.status >= 500 ? describeError(error.cause ?? error) : { message: error.message }),
          }
        : { outcome: c.res.status >= 400 ? 'rejected' : 'ok' },
    );
  };
}

function outcomeOf(status: number): string {
  if (status === 499) return 'client_aborted';
  if (status === 504) return 'timeout';
  if (status >= 500 || status === 429) return 'upstream_error';
  return 'rejected';
}
