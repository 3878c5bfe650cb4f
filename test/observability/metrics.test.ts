import { expect, it } from 'vitest';
import { ALICE, bearer, KEY_BINDINGS } from '../access/fixtures.ts';
import type { Scenario } from '../support/fake-upstream.ts';
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

it('counts upstream errors by kind: timeout, unavailable, stream and status_<n>', async () => {
  // Its own instance, so the counts are these requests' alone; REQUEST_TIMEOUT short for the
  // timeouts; one attempt each, so every failure stands.
  const failing = await startGateway({
    bindings: { ...KEY_BINDINGS, ADMIN_API_KEY: ADMIN, REQUEST_TIMEOUT: '500', UPSTREAM_ATTEMPTS_EACH: '1' },
  });
  const key = bearer(ALICE);
  const json = (scenario: Scenario) => {
    failing.upstream.enqueue(scenario);
    return failing.post('/api/completions', chat(), { headers: key }).then((r) => r.status);
  };
  const stream = async (scenario: Scenario) => {
    failing.upstream.enqueue(scenario);
    return (await readSse(await failing.post('/api/completions/stream', chat(), { headers: key }))).at(-1)
      ?.event;
  };
  expect(await json({ status: 503 })).toBe(502);
  expect(await json({ status: 500 })).toBe(502);
  expect(await json({ status: 429 })).toBe(429);
  expect(await json({ status: 404 })).toBe(404);
  expect(await json({ hang: 'before-headers' })).toBe(504);
  expect(await stream({ reset: true, afterChunks: 2 })).toBe('error');
  expect(await stream({ hang: 'mid-stream', afterChunks: 1 })).toBe('error');
  expect(await json({})).toBe(200);
  await waitFor(() => failing.logs.filter((line) => line.event === 'request').length === 8);

  const response = await fetch(`${failing.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const families = parsePrometheus(await response.text());
  const errors = (kind: string) => sampleValue(families, 'gateway_upstream_errors_total', { kind });
  expect(errors('unavailable')).toBe(2);
  expect(errors('status_429')).toBe(1);
  expect(errors('status_404')).toBe(1);
  // One before any header (504), one mid-stream (an error event in a 200).
  expect(errors('timeout')).toBe(2);
  expect(errors('stream')).toBe(1);
  // Per attempt, by upstream and outcome: the mid-stream failures came after their commit, so
  // their attempts were a success.
  const attempts = (outcome: string) =>
    sampleValue(families, 'gateway_upstream_attempts_total', { upstream: 'default', outcome });
  expect(attempts('ok')).toBe(3);
  expect(attempts('status_503')).toBe(1);
  expect(attempts('rate_limited')).toBe(1);
  expect(attempts('timeout')).toBe(1);
});

it('puts upstream_errors in the EMF of every request line with METRICS_EMF=on', async () => {
  const emf = await startGateway({
    bindings: { METRICS_EMF: 'on', REQUEST_TIMEOUT: '500', UPSTREAM_ATTEMPTS_EACH: '1' },
  });
  const send = (id: string, scenario: Scenario) => {
    emf.upstream.enqueue(scenario);
    return emf
      .post('/api/completions', chat(), { headers: { 'x-request-id': id } })
      .then((r) => r.arrayBuffer());
  };
  await send('emf-ok', {});
  await send('emf-503', { status: 503 });
  await send('emf-timeout', { hang: 'before-headers' });
  emf.upstream.enqueue({ reset: true, afterChunks: 1 });
  await readSse(
    await emf.post('/api/completions/stream', chat(), { headers: { 'x-request-id': 'emf-stream' } }),
  );
  const lineOf = (id: string) =>
    waitFor(() => emf.logs.find((line) => line.request_id === id && line.event === 'request'));
  for (const [id, count] of [
    ['emf-ok', 0],
    ['emf-503', 1],
    ['emf-timeout', 1],
    ['emf-stream', 1],
  ] as const) {
    const line = (await lineOf(id)) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] };
    };
    expect(line.upstream_errors).toBe(count);
    expect(line._aws.CloudWatchMetrics[0]?.Metrics).toContainEqual({
      Name: 'upstream_errors',
      Unit: 'Count',
    });
  }
});
