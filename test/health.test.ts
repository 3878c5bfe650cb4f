import { expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { startGateway } from './support/start-gateway.ts';
import { createUpstreamTestApp } from './support/test-app.ts';

const app = await createUpstreamTestApp();

it('reports status, version, uptime and mode without calling the upstream', async () => {
  const response = await app.request('/api/health');
  expect(response.status).toBe(200);
  expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const body = await response.json();
  expect(body).toEqual({
    status: 'ok',
    version: pkg.version,
    mode: 'upstream',
    upstreams: ['default'],
    uptime_seconds: expect.any(Number),
  });
  // Whole seconds since the app was built, a moment ago.
  expect(Number.isInteger(body.uptime_seconds)).toBe(true);
  expect(body.uptime_seconds).toBeGreaterThanOrEqual(0);
  expect(app.upstream.requests).toHaveLength(0);
});

it('logs the client address the socket saw', async () => {
  const gateway = await startGateway();
  await fetch(`${gateway.url}/api/health`, { headers: { 'x-request-id': 'ip-check' } });
  expect(gateway.logs.find((line) => line.request_id === 'ip-check')?.client_ip).toBe('127.0.0.1');
});

it('honours a safe incoming x-request-id and replaces an unsafe one', async () => {
  const kept = await app.request('/api/health', { headers: { 'x-request-id': 'abc-123' } });
  expect(kept.headers.get('x-request-id')).toBe('abc-123');
  const replaced = await app.request('/api/health', { headers: { 'x-request-id': 'evil\tid' } });
  // A fresh id of the gateway's own, not the header's value and not nothing.
  expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const tooLong = await app.request('/api/health', { headers: { 'x-request-id': 'a'.repeat(500) } });
  expect(tooLong.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
});
