import { expect, it } from 'vitest';
import { ALICE, bearer, KEY_BINDINGS } from '../access/fixtures.ts';
import { parsePrometheus, sampleValue } from '../support/parse-prometheus.ts';
import { readSse, sseEvents } from '../support/sse.ts';
import { chat, startGateway, waitFor } from '../support/start-gateway.ts';

const ADMIN = 'admin-key-0123456789abcdef';
const gateway = await startGateway({
  bindings: { ...KEY_BINDINGS, ADMIN_API_KEY: ADMIN, RATE_LIMIT_MAX: '3' },
});
const scrape = async () => {
  const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return parsePrometheus(await response.text());
};

it('counts a known sequence of requests, read back by the reference Prometheus parser', async () => {
  expect((await fetch(`${gateway.url}/metrics`, { headers: bearer(ALICE) })).status).toBe(403);
  const key = bearer(ALICE);
  await gateway.post('/api/completions', chat('a', { model: 'gpt-4.1' }), { headers: key });
  await readSse(await gateway.post('/api/completions/stream', chat(), { headers: key }));
  await gateway.post('/api/completions', { messages: [] }, { headers: key });
  // The fourth request in the window is over RATE_LIMIT_MAX=3.
  expect((await gateway.post('/api/completions', chat(), { headers: key })).status).toBe(429);
  await gateway.post('/api/completions', chat(), { headers: bearer('sk-not-a-key-000000000000') });

  // A stream held open (the upstream waits for the scrape) shows in the active-streams gauge.
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  gateway.upstream.enqueue({ afterChunks: 1, holdUntil: held });
  const open = await gateway.post('/api/completions/stream', chat(), {
    headers: bearer(KEY_BINDINGS.GATEWAY_API_KEYS.split(', ')[1]!),
  });
  const frames = sseEvents(open);
  await frames.next();
  let families = await scrape();
  expect(sampleValue(families, 'gateway_active_streams')).toBe(1);
  release();
  for await (const _ of frames);
  await waitFor(() => gateway.logs.filter((line) => line.path === '/api/completions/stream').length === 2);

  families = await scrape();
  const requests = (labels: Record<string, string>) =>
    sampleValue(families, 'gateway_requests_total', labels);
  expect(requests({ route: '/api/completions', method: 'POST', status: '200' })).toBe(1);
  expect(requests({ route: '/api/completions/stream', method: 'POST', status: '200' })).toBe(2);
  expect(requests({ route: '/api/completions', method: 'POST', status: '400' })).toBe(1);
  expect(requests({ route: '/api/completions', method: 'POST', status: '429' })).toBe(1);
  expect(requests({ route: '/api/completions', method: 'POST', status: '401' })).toBe(1);
  expect(sampleValue(families, 'gateway_active_streams')).toBe(0);
  expect(sampleValue(families, 'gateway_tokens_total', { model: 'gpt-4.1', kind: 'prompt' })).toBe(12);
  expect(sampleValue(families, 'gateway_tokens_total', { model: 'gpt-4o-mini', kind: 'completion' })).toBe(
    22,
  );
  expect(
    sampleValue(families, 'gateway_time_to_first_token_seconds_count', { route: '/api/completions/stream' }),
  ).toBe(2);
  expect(sampleValue(families, 'gateway_request_duration_seconds_count', { route: '/api/completions' })).toBe(
    4,
  );
  expect(sampleValue(families, 'gateway_rejections_total', { code: 'rate_limit_exceeded' })).toBe(1);
  expect(sampleValue(families, 'gateway_rejections_total', { code: 'invalid_api_key' })).toBe(1);
  expect(sampleValue(families, 'gateway_rejections_total', { code: 'invalid_value' })).toBe(1);
});

it('counts upstream errors by kind', async () => {
  const key = bearer(KEY_BINDINGS.GATEWAY_API_KEYS.split(', ')[1]!);
  gateway.upstream.enqueue({ status: 503 });
  await gateway.post('/api/completions', chat(), { headers: key });
  gateway.upstream.enqueue({ reset: true, afterChunks: 2 });
  await readSse(await gateway.post('/api/completions/stream', chat(), { headers: key }));
  await waitFor(() => gateway.logs.filter((line) => line.outcome === 'upstream_error').length === 2);
  const families = await scrape();
  expect(sampleValue(families, 'gateway_upstream_errors_total', { kind: 'unavailable' })).toBe(1);
  expect(sampleValue(families, 'gateway_upstream_errors_total', { kind: 'stream' })).toBe(1);
});
