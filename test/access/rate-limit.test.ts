import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { chat, startGateway, type TestGateway } from '../support/start-gateway.ts';
import { ALICE, BOB, bearer, errorOf, KEY_BINDINGS } from './fixtures.ts';

describe('requests per window (in memory)', async () => {
  const gateway = await startGateway({
    bindings: { ...KEY_BINDINGS, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' },
  });

  it('counts down in RateLimit-* headers, then answers 429 in OpenAI’s shape without calling the upstream', async () => {
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await gateway.post('/api/completions', chat(), { headers: bearer(ALICE) });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe('3');
      expect(response.headers.get('ratelimit-policy')).toBe('3;w=60');
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      remaining.push(response.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const limited = await gateway.post('/api/completions/stream', chat(), { headers: bearer(ALICE) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/json');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await errorOf(limited)).error).toEqual({
      message: expect.stringContaining('3 requests per 60 s'),
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    });
    expect(gateway.upstream.requests).toHaveLength(3);
  });

  it('keeps a separate count per client key', async () => {
    const response = await gateway.post('/api/completions', chat(), { headers: bearer(BOB) });
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe('2');
  });

  it('is a RateLimitError for the official SDK, on /v1 too', async () => {
    // Its own instance and quota, spent here: nothing depends on what the tests before it sent.
    const spent = await startGateway({ bindings: { ...KEY_BINDINGS, RATE_LIMIT_MAX: '1' } });
    expect((await spent.post('/v1/chat/completions', chat(), { headers: bearer(ALICE) })).status).toBe(200);
    const client = new OpenAI({ apiKey: ALICE, baseURL: `${spent.url}/v1`, maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    expect(spent.upstream.requests).toHaveLength(1);
  });

  it('does not count or limit health', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${gateway.url}/api/health`);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

describe('clients without a key are counted by address', () => {
  const send = (gateway: TestGateway, forwardedFor: string) =>
    gateway.post('/api/completions', chat(), { headers: { 'x-forwarded-for': forwardedFor } });

  it('ignores X-Forwarded-For unless TRUST_PROXY_HOPS says a proxy wrote it', async () => {
    const gateway = await startGateway({ bindings: { RATE_LIMIT_MAX: '2' } });
    expect((await send(gateway, '203.0.113.1')).status).toBe(200);
    expect((await send(gateway, '203.0.113.2')).status).toBe(200);
    // Both came from the socket's 127.0.0.1, whatever the header claimed.
    expect((await send(gateway, '203.0.113.3')).status).toBe(429);
    expect(gateway.logs.filter((line) => line.event === 'request').map((line) => line.client_ip)).toContain(
      '127.0.0.1',
    );
  });

  it('with one trusted hop, takes the address that proxy appended, not the client’s own claim', async () => {
    const gateway = await startGateway({ bindings: { RATE_LIMIT_MAX: '2', TRUST_PROXY_HOPS: '1' } });
    const spoofs = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];
    // The client varies the left part; the proxy appended the same real address each time.
    for (const [index, spoof] of spoofs.entries()) {
      const response = await send(gateway, `${spoof}, 203.0.113.7`);
      expect(response.status).toBe(index < 2 ? 200 : 429);
    }
    const other = await send(gateway, '203.0.113.8');
    expect(other.status).toBe(200);
    const ips = gateway.logs.filter((line) => line.event === 'request').map((line) => line.client_ip);
    expect(ips).toEqual(expect.arrayContaining(['203.0.113.7', '203.0.113.8']));
    expect(ips).not.toContain('198.51.100.1');
    // A value that is not an address falls back to the socket's.
    await send(gateway, 'x"; injected');
    expect(gateway.logs.filter((line) => line.event === 'request').at(-1)?.client_ip).toBe('127.0.0.1');
  });
});
