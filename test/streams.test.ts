import { describe, expect, it } from 'vitest';
import { DEFAULT_WORDS } from './support/fake-upstream.ts';
import type { Harness } from './support/harness.ts';
import { expectedGatewayStream, readSse } from './support/sse.ts';
import { chat, startGateway, waitFor } from './support/start-gateway.ts';
import { startWorker } from './workers/support/start-worker.ts';

const SECRET = 'x'.repeat(32);
const gateway = await startGateway({ bindings: { STREAM_TOKEN_SECRET: SECRET } });
// Started with the file, not inside a test: a workerd start on a loaded machine can take seconds.
const worker = await startWorker({ vars: { STREAM_TOKEN_SECRET: SECRET } });

type Link = { id: string; url: string; expires_at: number };
const createLink = async (on: Pick<Harness, 'post'> = gateway, body: unknown = chat()) => {
  const response = await on.post('/api/streams', body);
  expect(response.status).toBe(201);
  return (await response.json()) as Link;
};

/**
 * The whole body of an opened link: the prelude (retry, no data), then the POST stream's frames,
 * each numbered with `id:` from 1 (what a reconnect sends back as Last-Event-ID).
 */
const expectedLinkBody = (_link?: Link) =>
  `retry: 3000\n\n${expectedGatewayStream(DEFAULT_WORDS)
    .split(/(?<=\n\n)/)
    .map((frame, index) => `id: ${index + 1}\n${frame}`)
    .join('')}`;

describe('EventSource links: POST /api/streams then GET', () => {
  it('returns a link that lives STREAM_TOKEN_TTL_SECONDS and streams the POST stream’s frames', async () => {
    const before = Date.now();
    const link = await createLink(gateway, chat('hello', { model: 'gpt-4.1-mini' }));
    const after = Date.now();
    expect(link.url).toMatch(/^\/api\/streams\/[\w-]+\.[\w-]+$/);
    // The default 60 s, counted from when the link was made and rounded up to a whole second.
    expect(link.expires_at).toBeGreaterThanOrEqual(Math.ceil(before / 1000) + 60);
    expect(link.expires_at).toBeLessThanOrEqual(Math.ceil(after / 1000) + 60);
    expect(gateway.upstream.requests).toHaveLength(0);

    const response = await fetch(`${gateway.url}${link.url}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    // Every frame, the usage event's figures included, exactly.
    expect(await response.text()).toBe(expectedLinkBody(link));
    expect(gateway.upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4.1-mini', stream: true });
  });

  it('answers a reconnect that has every event, or an id it never wrote, with 204, so EventSource stops', async () => {
    const link = await createLink();
    const before = gateway.upstream.requests.length;
    const body = await (await fetch(`${gateway.url}${link.url}`)).text();
    const last = body
      .match(/^id: (\d+)$/gm)
      ?.at(-1)
      ?.slice(4);
    expect(last).toBe(String(DEFAULT_WORDS.length + 2));
    const done = await fetch(`${gateway.url}${link.url}`, { headers: { 'last-event-id': String(last) } });
    expect(done.status).toBe(204);
    const foreign = await fetch(`${gateway.url}${link.url}`, { headers: { 'last-event-id': link.id } });
    expect(foreign.status).toBe(204);
    expect(gateway.upstream.requests.length).toBe(before + 1);
  });

  it('refuses a tampered link with a 401', async () => {
    const link = await createLink();
    const [payload, signature] = link.url.slice('/api/streams/'.length).split('.');
    const forged = `${payload?.slice(0, -2)}AA.${signature}`;
    const tampered = await fetch(`${gateway.url}/api/streams/${forged}`);
    expect(tampered.status).toBe(401);
    expect((await tampered.json()).error.code).toBe('invalid_stream_link');
    expect((await fetch(`${gateway.url}/api/streams/garbage`)).status).toBe(401);
  });

  it('refuses a link once its expires_at has passed', async () => {
    const shortLived = await startGateway({ bindings: { STREAM_TOKEN_TTL_SECONDS: '1' } });
    const link = await createLink(shortLived);
    // Waits on the clock the link names, not a guessed sleep.
    await waitFor(() => Date.now() / 1000 > link.expires_at, 5_000);
    const expired = await fetch(`${shortLived.url}${link.url}`);
    expect(expired.status).toBe(401);
    expect((await expired.json()).error.code).toBe('invalid_stream_link');
    expect(shortLived.upstream.requests).toHaveLength(0);
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

describe('a link is served by any instance that shares STREAM_TOKEN_SECRET', () => {
  it('opens on a second Node instance with the same secret, and is refused by one with another', async () => {
    const same = await startGateway({ bindings: { STREAM_TOKEN_SECRET: SECRET } });
    const other = await startGateway({ bindings: { STREAM_TOKEN_SECRET: 'y'.repeat(32) } });
    const link = await createLink(gateway);
    const opened = await fetch(`${same.url}${link.url}`);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toBe(expectedLinkBody(link));
    // The instance that opened it made the upstream call; the one that signed it did not.
    expect(same.upstream.requests).toHaveLength(1);

    const refused = await fetch(`${other.url}${link.url}`);
    expect(refused.status).toBe(401);
    expect(other.upstream.requests).toHaveLength(0);
  });

  it('works in workerd too: made and opened there, and made on Node, opened in workerd, and back', async () => {
    const own = await createLink(worker);
    const opened = await worker.get(own.url);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await opened.text()).toBe(expectedLinkBody(own));
    expect((await worker.get(own.url, { headers: { 'last-event-id': own.id } })).status).toBe(204);

    const fromNode = await createLink(gateway);
    expect(await (await worker.get(fromNode.url)).text()).toBe(expectedLinkBody(fromNode));
    const fromWorker = await createLink(worker);
    expect(await (await fetch(`${gateway.url}${fromWorker.url}`)).text()).toBe(expectedLinkBody(fromWorker));
    expect(worker.upstream.requests.map((request) => request.body?.stream)).toEqual([true, true]);
  });
});
