import { describe, expect, it } from 'vitest';
import { chat } from '../support/start-gateway.ts';
import { createTestApp, createUpstreamTestApp } from '../support/test-app.ts';
import { ALICE, bearer, KEY_BINDINGS } from './fixtures.ts';

const ALLOWED = 'https://app.example.com';
const gateway = await createUpstreamTestApp({
  bindings: { ...KEY_BINDINGS, CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` },
});

const corsHeaders = (response: Response) =>
  [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));

const preflight = (origin: string, path = '/api/completions') =>
  gateway.request(path, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });

describe('CORS', () => {
  it('answers a preflight from an allowed origin without a key and without the upstream', async () => {
    for (const path of ['/api/completions', '/api/completions/stream', '/v1/chat/completions']) {
      const response = await preflight(ALLOWED, path);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('vary')).toContain('Origin');
    }
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('gives a disallowed origin no CORS headers at all, on preflights and on requests', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null']) {
      const pre = await preflight(origin);
      expect(pre.status).toBe(204);
      expect(corsHeaders(pre)).toEqual([]);
      const response = await gateway.post('/api/completions', chat(), {
        headers: { origin, ...bearer(ALICE) },
      });
      expect(corsHeaders(response)).toEqual([]);
      expect(response.headers.get('vary')).toContain('Origin');
    }
  });

  it('lets an allowed origin read answers, errors included, and the limit headers', async () => {
    const ok = await gateway.post('/api/completions', chat(), {
      headers: { origin: ALLOWED, ...bearer(ALICE) },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(ok.headers.get('access-control-expose-headers')).toContain('RateLimit-Remaining');
    expect(ok.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    const refused = await gateway.post('/api/completions', chat(), { headers: { origin: ALLOWED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('sends no CORS headers to clients that send no Origin', async () => {
    const response = await gateway.post('/api/completions', chat(), { headers: bearer(ALICE) });
    expect(corsHeaders(response)).toEqual([]);
  });

  it('answers any origin with * only when CORS_ORIGINS lists *', async () => {
    const open = createTestApp({ CORS_ORIGINS: '*' });
    const response = await open.request('/api/health', { headers: { origin: 'https://anywhere.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const none = createTestApp();
    const closed = await none.request('/api/health', { headers: { origin: 'https://anywhere.example' } });
    expect(corsHeaders(closed)).toEqual([]);
  });
});

describe('secure headers', () => {
  const expected = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=15552000; includeSubDomains',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
    'x-permitted-cross-domain-policies': 'none',
  };

  it('are on JSON answers, errors, streams, preflights and health', async () => {
    const responses = [
      await gateway.post('/api/completions', chat(), { headers: bearer(ALICE) }),
      await gateway.post('/api/completions', chat()),
      await gateway.request('/api/nothing'),
      await gateway.post('/api/completions/stream', chat(), { headers: bearer(ALICE) }),
      await preflight(ALLOWED),
      await gateway.request('/api/health'),
    ];
    for (const response of responses) {
      for (const [name, value] of Object.entries(expected)) expect(response.headers.get(name)).toBe(value);
      expect(response.headers.get('x-powered-by')).toBeNull();
      await response.body?.cancel();
    }
    expect(responses.map((response) => response.status)).toEqual([200, 401, 401, 200, 204, 200]);
  });
});
