import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_WORDS, wordsOf } from '../support/fake-upstream.ts';
import { contentOf, expectedGatewayStream } from '../support/sse.ts';
import { eventsOf, readThenDrop } from '../support/sse-reconnect.ts';
import { chat, startGateway, type TestGateway, waitFor } from '../support/start-gateway.ts';

const SECRET = 'r'.repeat(32);
const gateway = await startGateway({ bindings: { STREAM_TOKEN_SECRET: SECRET } });

type Link = { id: string; url: string };
const createLink = async (on: TestGateway, body: unknown = chat()) =>
  (await (await on.post('/api/streams', body)).json()) as Link;

/** The POST stream's body with each event numbered as `id:`, after EventSource's prelude. */
const numbered = (body: string) =>
  body
    .split(/(?<=\n\n)/)
    .map((frame, index) => `id: ${index + 1}\n${frame}`)
    .join('');

/** A hold the fake upstream waits on after `afterChunks` chunks: what came before it was read live. */
const hold = () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { held, release };
};

describe('EventSource streams resume after Last-Event-ID', () => {
  it('gives a reconnect every event after its id, then the rest live: one upstream request in all', async () => {
    const { held, release } = hold();
    gateway.upstream.enqueue({ afterChunks: 4, holdUntil: held });
    const before = gateway.upstream.requests.length;
    const link = await createLink(gateway);

    const first = await readThenDrop(`${gateway.url}${link.url}`, { events: 3 });
    expect(first.status).toBe(200);
    const firstEvents = await eventsOf(first.text);
    expect(firstEvents.map((event) => event.id)).toEqual(['1', '2', '3']);

    // The upstream holds after 4 chunks: event 4 is in the log, the rest comes live to the reconnect.
    const reconnect = fetch(`${gateway.url}${link.url}`, { headers: { 'last-event-id': '3' } });
    const response = await reconnect;
    expect(response.status).toBe(200);
    release();
    const rest = await response.text();

    const upstreamRequests = gateway.upstream.requests.slice(before);
    expect(upstreamRequests).toHaveLength(1);
    expect(upstreamRequests[0]?.aborted).toBe(false);
    // Both connections together are exactly the uninterrupted stream: no gap, no repeat.
    const whole = `retry: 3000\n\n${numbered(expectedGatewayStream(DEFAULT_WORDS))}`;
    expect(first.text + rest.slice('retry: 3000\n\n'.length)).toBe(whole);
    expect(contentOf([...firstEvents, ...(await eventsOf(rest))])).toBe(DEFAULT_REPLY);
  });

  it('charges usage once and names the reconnect in the access log', async () => {
    const link = await createLink(gateway);
    const first = await readThenDrop(`${gateway.url}${link.url}`, { events: 2 });
    const rest = await (
      await fetch(`${gateway.url}${link.url}`, { headers: { 'last-event-id': '2' } })
    ).text();
    expect(contentOf([...(await eventsOf(first.text)), ...(await eventsOf(rest))])).toBe(DEFAULT_REPLY);

    const lines = await waitFor(() => {
      const found = gateway.logs.filter((line) => line.stream_id === link.id);
      return found.length === 2 && found;
    });
    const charged = lines.filter((line) => line.usage !== undefined);
    expect(charged).toHaveLength(1);
    expect(charged[0]).toMatchObject({ outcome: 'ok', usage: { total_tokens: 12 + DEFAULT_WORDS.length } });
    expect(lines.find((line) => line.resumed_after === 2)).toMatchObject({ status: 200 });
  });

  it('replays from the start when the link is opened again while its stream runs or is logged', async () => {
    const before = gateway.upstream.requests.length;
    const link = await createLink(gateway);
    const once = await (await fetch(`${gateway.url}${link.url}`)).text();
    const again = await (await fetch(`${gateway.url}${link.url}`)).text();
    expect(again).toBe(once);
    expect(gateway.upstream.requests.length).toBe(before + 1);
  });

  it('answers a reconnect with a forged link 204, and starts nothing', async () => {
    const link = await createLink(gateway);
    const before = gateway.upstream.requests.length;
    const [payload, signature] = link.url.slice('/api/streams/'.length).split('.');
    const forged = `/api/streams/${payload?.slice(0, -2)}AA.${signature}`;
    const response = await fetch(`${gateway.url}${forged}`, { headers: { 'last-event-id': '1' } });
    expect(response.status).toBe(204);
    expect(gateway.upstream.requests.length).toBe(before);
  });
});

describe('the resume window', () => {
  it('aborts the upstream when nobody reconnects within STREAM_RESUME_WINDOW_MS, then answers 204', async () => {
    const short = await startGateway({
      bindings: { STREAM_TOKEN_SECRET: SECRET, STREAM_RESUME_WINDOW_MS: '300' },
    });
    const long = Array.from({ length: 400 }, (_, index) => `word${index}`).join(' ');
    short.upstream.enqueue({ content: long, chunkDelayMs: 50 });
    const link = await createLink(short);
    await readThenDrop(`${short.url}${link.url}`, { events: 2 });
    const upstream = await waitFor(() => short.upstream.requests[0]);
    await waitFor(() => upstream.aborted, 10_000, 'the upstream was aborted');
    // It was read on after the client left, then stopped well before its 20 s reply was done.
    expect(upstream.chunksSent).toBeGreaterThan(2);
    expect(upstream.chunksSent).toBeLessThan(400);
    const line = await waitFor(() => short.logs.find((entry) => entry.stream_id === link.id));
    expect(line).toMatchObject({ outcome: 'client_aborted' });

    const late = await fetch(`${short.url}${link.url}`, { headers: { 'last-event-id': '2' } });
    expect(late.status).toBe(204);
    expect(short.upstream.requests).toHaveLength(1);
  });

  it('keeps the upstream going while a reconnected client reads, past the window', async () => {
    const short = await startGateway({
      bindings: { STREAM_TOKEN_SECRET: SECRET, STREAM_RESUME_WINDOW_MS: '300' },
    });
    const reply = Array.from({ length: 30 }, (_, index) => `w${index}`).join(' ');
    short.upstream.enqueue({ content: reply, chunkDelayMs: 50 });
    const link = await createLink(short);
    const first = await readThenDrop(`${short.url}${link.url}`, { events: 2 });
    const rest = await (await fetch(`${short.url}${link.url}`, { headers: { 'last-event-id': '2' } })).text();
    expect(contentOf([...(await eventsOf(first.text)), ...(await eventsOf(rest))])).toBe(reply);
    expect(short.upstream.requests[0]?.aborted).toBe(false);
  });
});

describe('fetch clients of POST /api/completions/stream', () => {
  it('resume with X-Stream-Resume: the resume link and the count of data frames read', async () => {
    const before = gateway.upstream.requests.length;
    const first = await readThenDrop(`${gateway.url}/api/completions/stream`, {
      events: 5,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stream-resume': 'on' },
      body: JSON.stringify(chat()),
    });
    expect(first.status).toBe(200);
    const resumeUrl = first.headers['x-stream-resume-url'];
    expect(resumeUrl).toMatch(/^\/api\/streams\/[\w-]+\.[\w-]+$/);
    // The frames carry no ids: a client that reads only `data:` lines sees the usual stream.
    expect(first.text).not.toContain('id:');
    const dataFrames = (first.text.match(/^data: /gm) ?? []).length;
    expect(dataFrames).toBe(5);

    const rest = await fetch(`${gateway.url}${resumeUrl}`, {
      headers: { 'last-event-id': String(dataFrames) },
    });
    expect(rest.status).toBe(200);
    expect(first.text + (await rest.text())).toBe(expectedGatewayStream(DEFAULT_WORDS));
    expect(gateway.upstream.requests.length).toBe(before + 1);
  });

  it('are not resumable unless they ask, and a resume link never starts a stream', async () => {
    const plain = await gateway.post('/api/completions/stream', chat());
    expect(plain.headers.get('x-stream-resume-url')).toBeNull();
    expect(await plain.text()).toBe(expectedGatewayStream(DEFAULT_WORDS));

    const asked = await gateway.post('/api/completions/stream', chat(), {
      headers: { 'x-stream-resume': 'on' },
    });
    const url = asked.headers.get('x-stream-resume-url');
    expect(await asked.text()).toBe(expectedGatewayStream(DEFAULT_WORDS));
    const before = gateway.upstream.requests.length;
    // Opened again without a position: the same answer, from its log, not a second request.
    expect(await (await fetch(`${gateway.url}${url}`)).text()).toBe(expectedGatewayStream(DEFAULT_WORDS));
    expect(gateway.upstream.requests.length).toBe(before);
  });
});

describe('bounds', () => {
  it('refuses a resumable stream past STREAM_RESUME_MAX_STREAMS with a 503 that says why', async () => {
    const bounded = await startGateway({ bindings: { STREAM_RESUME_MAX_STREAMS: '1' } });
    const { held, release } = hold();
    bounded.upstream.enqueue({ afterChunks: 1, holdUntil: held });
    const headers = { 'x-stream-resume': 'on' };
    const open = await bounded.post('/api/completions/stream', chat(), { headers });
    expect(open.status).toBe(200);
    const refused = await bounded.post('/api/completions/stream', chat(), { headers });
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('too_many_resumable_streams');
    // Streams that did not ask to be resumable are not counted.
    expect((await bounded.post('/api/completions/stream', chat())).status).toBe(200);
    release();
    await open.text();
  });

  it('relays a stream past STREAM_RESUME_MAX_BYTES whole, and tells a late resume it cannot go on', async () => {
    const bounded = await startGateway({
      bindings: { STREAM_TOKEN_SECRET: SECRET, STREAM_RESUME_MAX_BYTES: '120' },
    });
    const reply = 'one two three four five six seven eight nine ten eleven twelve';
    // One word per relayed batch, so the bound falls between two of them.
    bounded.upstream.setDefault({ content: reply, chunkDelayMs: 10 });
    const link = await createLink(bounded);
    const whole = await eventsOf(await (await fetch(`${bounded.url}${link.url}`)).text());
    expect(contentOf(whole)).toBe(reply);
    expect(whole.at(-1)?.data).toBe('[DONE]');

    const resumed = await eventsOf(
      await (await fetch(`${bounded.url}${link.url}`, { headers: { 'last-event-id': '1' } })).text(),
    );
    const last = resumed.at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '{}').error.code).toBe('stream_log_full');
    // What came before the bound is replayed as it was.
    expect(resumed[0]?.data).toBe(JSON.stringify({ content: wordsOf(reply)[1] }));
  });
});
