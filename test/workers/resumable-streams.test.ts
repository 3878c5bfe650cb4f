import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_WORDS } from '../support/fake-upstream.ts';
import { contentOf, expectedGatewayStream } from '../support/sse.ts';
import { eventsOf, readThenDrop } from '../support/sse-reconnect.ts';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker, type TestWorker } from './support/start-worker.ts';

/**
 * Resumable streams in workerd: the logs live in StreamLog Durable Objects (wrangler.toml's
 * STREAM_LOGS). `primary` hosts the objects; `peer` is the same gateway in a second workerd whose
 * STREAM_LOGS reaches the primary's objects through the dev registry, as every isolate on
 * Cloudflare reaches the one object of a name: a reconnect there shares no memory with the request
 * that runs the stream.
 */
const registry = await mkdtemp(join(tmpdir(), 'gateway-dev-registry-'));
afterAll(() => rm(registry, { recursive: true, force: true }));

const PRIMARY = 'gateway-resume-primary';
const vars = { STREAM_TOKEN_SECRET: 'w'.repeat(32), STREAM_RESUME_WINDOW_MS: '500' };
const primary = await startWorker({ vars, name: PRIMARY, registry });
const peer = await startWorker({
  vars,
  name: 'gateway-resume-peer',
  entrypoint: 'test/workers/support/peer-worker.ts',
  registry,
  upstream: primary.upstream,
  bindings: {
    COUNTERS: { type: 'durable_object_namespace', class_name: 'GatewayCounters', script_name: PRIMARY },
    STREAM_LOGS: { type: 'durable_object_namespace', class_name: 'StreamLog', script_name: PRIMARY },
  },
});

const createLink = async (on: TestWorker) =>
  (await (await on.post('/api/streams', chat())).json()) as { url: string };

describe('workerd: resumable streams in StreamLog Durable Objects', () => {
  it('resumes in another request, on another workerd, with one upstream request in all', async () => {
    let release!: () => void;
    primary.upstream.enqueue({
      afterChunks: 4,
      holdUntil: new Promise<void>((resolve) => (release = resolve)),
    });
    const before = primary.upstream.requests.length;
    const link = await createLink(primary);
    const dropped = await readThenDrop(`${primary.url}${link.url}`, { events: 3 });
    expect((await eventsOf(dropped.text)).map((event) => event.id)).toEqual(['1', '2', '3']);

    const resumed = await peer.get(link.url, { headers: { 'last-event-id': '3' } });
    expect(resumed.status).toBe(200);
    release();
    const rest = await resumed.text();
    expect(contentOf([...(await eventsOf(dropped.text)), ...(await eventsOf(rest))])).toBe(DEFAULT_REPLY);
    expect(rest.match(/^id: \d+$/gm)?.at(0)).toBe('id: 4');
    expect(primary.upstream.requests.length - before).toBe(1);
    const reconnect = await waitFor(() => peer.logs.find((line) => line.resumed_after === 3));
    expect(reconnect).toMatchObject({ status: 200 });
  });

  it('resumes a POST stream from its resume link in another request', async () => {
    const posted = await primary.post('/api/completions/stream', chat(), {
      headers: { 'x-stream-resume': 'on' },
    });
    const url = posted.headers.get('x-stream-resume-url');
    const whole = await posted.text();
    expect(whole).toBe(expectedGatewayStream(DEFAULT_WORDS));
    const rest = await peer.get(String(url), { headers: { 'last-event-id': '4' } });
    expect(
      whole
        .split(/(?<=\n\n)/)
        .slice(0, 4)
        .join('') + (await rest.text()),
    ).toBe(whole);
  });

  it('aborts the upstream when nobody reconnects within the window, then answers 204', async () => {
    const long = Array.from({ length: 400 }, (_, index) => `w${index}`).join(' ');
    primary.upstream.enqueue({ content: long, chunkDelayMs: 50 });
    const link = await createLink(primary);
    await readThenDrop(`${primary.url}${link.url}`, { events: 2 });
    const upstream = await waitFor(() => primary.upstream.requests.at(-1));
    await waitFor(() => upstream.aborted, 15_000, 'the upstream was aborted');
    expect(upstream.chunksSent).toBeLessThan(400);
    const late = await peer.get(link.url, { headers: { 'last-event-id': '2' } });
    expect(late.status).toBe(204);
  });
});
