import { Registry } from './registry.ts';

// Seconds. Streams run long, so the latency buckets reach minutes.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30];

/** What a finished request tells the metrics; the access log line carries the same facts. */
export type RequestFacts = {
  route: string;
  method: string;
  status: number;
  latencyMs: number;
  outcome: string;
  code?: string | null | undefined;
  model?: string | undefined;
  ttftMs?: number | null | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
};

/** The gateway's metrics, per instance (Prometheus scrapes each one; on Lambda see EMF). */
export function createGatewayMetrics() {
  const registry = new Registry();
  const requests = registry.counter(
    'gateway_requests_total',
    'Requests answered, by route, method and status.',
  );
  const latency = registry.histogram(
    'gateway_request_duration_seconds',
    'Time from request to the end of the response (for streams, the last frame).',
    LATENCY_BUCKETS,
  );
  const ttft = registry.histogram(
    'gateway_time_to_first_token_seconds',
    'Time to the first content delta of a stream.',
    TTFT_BUCKETS,
  );
  const tokens = registry.counter(
    'gateway_tokens_total',
    'Tokens by model and kind (prompt, completion), estimated ones included.',
  );
  const activeStreams = registry.gauge('gateway_active_streams', 'Streams open right now.');
  const upstreamErrors = registry.counter(
    'gateway_upstream_errors_total',
    'Upstream failures by kind (timeout, status, connection, stream).',
  );
  const attempts = registry.counter(
    'gateway_upstream_attempts_total',
    'Attempts on each upstream, by outcome (ok, or the failure kind: connection, timeout, stream, rate_limited, auth, status_N).',
  );
  const cooldowns = registry.counter(
    'gateway_upstream_cooldowns_total',
    'Cooldowns this instance started, by upstream.',
  );
  const rejected = registry.counter(
    'gateway_rejections_total',
    'Requests refused by the gateway itself, by reason code.',
  );

  return {
    activeStreams,
    pool: {
      attempt: (upstream: string, outcome: string) => attempts.inc({ upstream, outcome }),
      cooldown: (upstream: string) => cooldowns.inc({ upstream }),
    },
    render: () => registry.render(),
    observe(facts: RequestFacts) {
      const { route, method, status } = facts;
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route }, facts.latencyMs / 1000);
      if (facts.ttftMs != null) ttft.observe({ route }, facts.ttftMs / 1000);
      const model = facts.model ?? 'unknown';
      if (facts.promptTokens) tokens.inc({ model, kind: 'prompt' }, facts.promptTokens);
      if (facts.completionTokens) tokens.inc({ model, kind: 'completion' }, facts.completionTokens);
      if (facts.outcome === 'upstream_error' || facts.outcome === 'timeout') {
        upstreamErrors.inc({ kind: upstreamErrorKind(facts) });
      } else if (facts.outcome === 'rejected' && facts.code) {
        rejected.inc({ code: facts.code });
      }
    },
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

function upstreamErrorKind({ outcome, status, code }: RequestFacts): string {
  if (outcome === 'timeout') return 'timeout';
  if (status === 200) return 'stream';
  if (code === 'upstream_unavailable' && status === 502) return 'unavailable';
  return `status_${status}`;
}
