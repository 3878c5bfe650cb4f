import type { RequestFacts } from './gateway-metrics.ts';

const NAMESPACE = 'OpenAIGateway';

/**
 * CloudWatch Embedded Metric Format: the same figures as /metrics, carried in the log line itself,
 * so Lambda publishes them from its logs with no agent. Values sit at the top level of the line,
 * as the format requires, and `_aws` says which of them are metrics and which are dimensions.
 */
export function emfFields(facts: RequestFacts): Record<string, unknown> {
  const values: Record<string, number> = { requests: 1, request_latency_ms: facts.latencyMs };
  const metrics = [
    { Name: 'requests', Unit: 'Count' },
    { Name: 'request_latency_ms', Unit: 'Milliseconds' },
  ];
  const add = (name: string, value: number | null | undefined, unit: string) => {
    if (value == null) return;
    values[name] = value;
    metrics.push({ Name: name, Unit: unit });
  };
  add('ttft_ms', facts.ttftMs, 'Milliseconds');
  add('prompt_tokens', facts.promptTokens, 'Count');
  add('completion_tokens', facts.completionTokens, 'Count');
  add('upstream_errors', facts.outcome === 'upstream_error' || facts.outcome === 'timeout' ? 1 : 0, 'Count');
  const dimensions = facts.model ? [['route'], ['model']] : [['route']];
  return {
    route: facts.route,
    ...(facts.model ? { model: facts.model } : {}),
    ...values,
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{ Namespace: NAMESPACE, Dimensions: dimensions, Metrics: metrics }],
    },
  };
}
