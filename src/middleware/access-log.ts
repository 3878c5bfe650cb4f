import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../app-env.ts';
import { type GatewayError, toGatewayError } from '../errors.ts';
import { describeError, type LogFields, type Logger } from '../logger.ts';
import { emfFields } from '../metrics/emf.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';

type Options = {
  log: Logger;
  metrics: GatewayMetrics;
  /** METRICS_EMF: CloudWatch Embedded Metric Format on each line. */
  emf: boolean;
};

/**
 * One line per request, and the metrics from the same facts. `middleware` writes it when the
 * response is ready; a stream sets `logAtStreamEnd` and calls `write` when it ends, with its
 * outcome and usage.
 */
export function createAccessLog({ log, metrics, emf }: Options) {
  const write = (c: Context<AppEnv>, fields: LogFields) => {
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
      ...c.get('logFields'),
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
    metrics.observe(facts);
    const entry = emf ? { ...line, ...emfFields(facts) } : line;
    const failed = status >= 500 || fields.outcome === 'upstream_error' || line.usage_error !== undefined;
    if (failed) log.error('request', entry);
    else log.info('request', entry);
  };

  const middleware: MiddlewareHandler<AppEnv> = async function accessLog(c, next) {
    await next();
    if (c.get('logAtStreamEnd')) return;
    // The error is logged here, once, with its cause; the client only got the safe message.
    const error = c.error ? toGatewayError(c.error) : undefined;
    write(
      c,
      error
        ? {
            outcome: outcomeOf(error),
            code: error.code,
            ...(error.status >= 500 ? describeError(error.cause ?? error) : { message: error.message }),
          }
        : { outcome: c.res.status >= 400 ? 'rejected' : 'ok' },
    );
  };
  return { middleware, write };
}

export type AccessLog = ReturnType<typeof createAccessLog>;

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
