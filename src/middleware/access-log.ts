import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../app-env.ts';
import { type GatewayError, toGatewayError } from '../errors.ts';
import { describeError, type LogFields } from '../logger.ts';
import { emfFields } from '../metrics/emf.ts';

/**
 * One line per request, and the metrics from the same facts. A stream takes the line over with
 * `deferAccessLog` and writes it when it ends, with its outcome and usage; everything else is
 * logged when the response is ready.
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    let deferred = false;
    const routeFields: LogFields = {};
    c.set('logFields', routeFields);
    const write = (fields: LogFields) => {
      const status = c.res.status;
      const route = routeOf(c);
      const line: LogFields = {
        request_id: c.get('requestId'),
        method: c.req.method,
        // A stream link's path is its credential: the route stands in for it.
        path: route.includes(':') ? route : c.req.path,
        status,
        client_ip: c.get('clientIp'),
        latency_ms: Date.now() - c.get('startedAt'),
        ...routeFields,
        ...fields,
      };
      const usage = line.usage as { prompt_tokens?: number; completion_tokens?: number } | null | undefined;
      const facts = {
        route,
        method: c.req.method,
        status,
        latencyMs: line.latency_ms as number,
        outcome: String(line.outcome),
        code: line.code as string | null | undefined,
        model: line.model as string | undefined,
        ttftMs: line.ttft_ms as number | null | undefined,
        promptTokens: usage?.prompt_tokens,
        completionTokens: usage?.completion_tokens,
      };
      c.get('metrics').observe(facts);
      const entry = c.get('config').METRICS_EMF ? { ...line, ...emfFields(facts) } : line;
      const failed = status >= 500 || fields.outcome === 'upstream_error' || line.usage_error !== undefined;
      if (failed) c.get('log').error('request', entry);
      else c.get('log').info('request', entry);
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
            outcome: outcomeOf(error),
            code: error.code,
            ...(error.status >= 500 ? describeError(error.cause ?? error) : { message: error.message }),
          }
        : { outcome: c.res.status >= 400 ? 'rejected' : 'ok' },
    );
  };
}

/** The matched route's pattern (low cardinality, no ids or tokens); `unmatched` for 404s. */
function routeOf(c: Context<AppEnv>): string {
  const route = routePath(c, -1);
  return !route || route.includes('*') ? 'unmatched' : route;
}

function outcomeOf({ origin, status }: GatewayError): string {
  if (origin === 'client') return 'client_aborted';
  if (origin === 'upstream') return status === 504 ? 'timeout' : 'upstream_error';
  return status >= 500 ? 'error' : 'rejected';
}
