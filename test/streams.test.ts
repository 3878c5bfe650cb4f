import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY } from './support/fake-upstream.ts';
import { contentOf, readSse } from './support/sse.ts';
import { chat, startGateway } from './support/start-gateway.ts';

const gateway = await startGateway({
  bindings: { STREAM_TOKEN_SECRET: 'x'.repeat(32), STREAM_TOKEN_TTL_SECONDS: '1' },
});

const createLink = async (body: unknown = chat()) => {
  const response = await gateway.post('/api/streams', body);
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; url: string; expires_at: number };
};

describe('EventSource links: POST /api/streams then GET', () => {
  it('returns a short-lived link and streams the same frames as the POST stream', async () => {
    const link = await createLink(chat('hello', { model: 'gpt-4.1-mini' }));
    expect(link.url).toMatch(/^\/api\/streams\/[\w-]+\.[\w-]+$/);
    // At least STREAM_TOKEN_TTL_SECONDS (1 here), at most a second more: `exp` is in whole seconds.
    const lifetime = link.expires_at - Date.now() / 1000;
    expect(lifetime).toBeGreaterThan(0.9);
    expect(lifetime).toBeLessThanOrEqual(2);
    expect(gateway.upstream.requests).toHaveLength(0);

    const response = await fetch(`${gateway.url}${link.url}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = await readSse(response);
    // The prelude carries no data (so no event fires); it sets the retry delay and the stream id.
    expect(events[0]).toMatchObject({ event: 'message', data: '', id: link.id });
    expect(contentOf(events.slice(1))).toBe(DEFAULT_REPLY);
    expect(events.find((event) => event.event === 'usage')).toBeDefined();
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(gateway.upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4.1-mini', stream: true });
  });

  it('answers a reconnect (Last-Event-ID) with 204, so EventSource stops instead of replaying', async () => {
    const link = await createLink();
    const before = gateway.upstream.requests.length;
    const response = await fetch(`${gateway.url}${link.url}`, { headers: { 'last-event-id': link.id } });
    expect(response.status).toBe(204);
    expect(gateway.upstream.requests.length).toBe(before);
  });

  it('refuses a tampered or expired link with a 401', async () => {
    const link = await createLink();
    const [payload, signature] = link.url.slice('/api/streams/'.length).split('.');
    const forged = `${payload?.slice(0, -2)}AA.${signature}`;
    const tampered = await fetch(`${gateway.url}/api/streams/${forged}`);
    expect(tampered.status).toBe(401);
    expect((await tampered.json()).error.code).toBe('invalid_stream_link');
    expect((await fetch(`${gateway.url}/api/streams/garbage`)).status).toBe(401);

    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await fetch(`${gateway.url}${link.url}`);
    expect(expired.status).toBe(401);
  });

  it('validates the request when the link is made, and refuses requests too large for a URL', async () => {
    expect((await gateway.post('/api/streams', { messages: [] })).status).toBe(400);
    const large = await gateway.post('/api/streams', chat('x'.repeat(9_000)));
    expect(large.status).toBe(400);
    expect((await large.json()).error.code).toBe('request_too_large_for_link');
  });

  it('applies the model policy when the link is made, where the page can read the 400', async () => {
    const strict = await startGateway({ bindings: { ALLOWED_MODELS: 'gpt-4o-mini', MAX_TOKENS_CAP: '64' } });
    const refused = await strict.post('/api/streams', chat('x', { model: 'gpt-4.1' }));
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toContain('gpt-4o-mini');

    const link = await (await strict.post('/api/streams', chat('x', { max_tokens: 500 }))).json();
    await readSse(await fetch(`${strict.url}${link.url}`));
    expect(strict.upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 64 });
  });
});
