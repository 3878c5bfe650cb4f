import { expect, it } from 'vitest';
import { Registry } from '../../src/metrics/registry.ts';
import { parsePrometheus, sampleValue } from '../support/parse-prometheus.ts';

it('renders counters, gauges and histograms that the reference Prometheus parser reads back', () => {
  const registry = new Registry();
  const requests = registry.counter('requests_total', 'Requests.');
  const active = registry.gauge('active_streams', 'Open streams.');
  const latency = registry.histogram('latency_seconds', 'Latency.', [0.1, 1]);
  requests.inc({ route: '/a', status: '200' });
  requests.inc({ status: '200', route: '/a' });
  requests.inc({ route: '/b "quoted"\\\nnext', status: '500' }, 3);
  active.inc();
  active.inc();
  active.dec();
  latency.observe({ route: '/a' }, 0.05);
  latency.observe({ route: '/a' }, 0.5);
  latency.observe({ route: '/a' }, 5);
  latency.observe({ route: '/b' }, 0.2);

  const families = parsePrometheus(registry.render());
  expect(families.requests?.type).toBe('counter');
  expect(families.requests?.help).toBe('Requests.');
  expect(sampleValue(families, 'requests_total', { route: '/a', status: '200' })).toBe(2);
  expect(sampleValue(families, 'requests_total', { route: '/b "quoted"\\\nnext' })).toBe(3);
  expect(sampleValue(families, 'active_streams')).toBe(1);
  expect(families.latency_seconds?.type).toBe('histogram');
  expect(sampleValue(families, 'latency_seconds_bucket', { route: '/a', le: '0.1' })).toBe(1);
  expect(sampleValue(families, 'latency_seconds_bucket', { route: '/a', le: '1' })).toBe(2);
  expect(sampleValue(families, 'latency_seconds_bucket', { route: '/a', le: '+Inf' })).toBe(3);
  expect(sampleValue(families, 'latency_seconds_count', { route: '/a' })).toBe(3);
  expect(sampleValue(families, 'latency_seconds_sum', { route: '/a' })).toBeCloseTo(5.55);
  expect(sampleValue(families, 'latency_seconds_count', { route: '/b' })).toBe(1);
});
