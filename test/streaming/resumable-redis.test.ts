import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY } from '../support/fake-upstream.ts';
import { startGatewayProcess } from '../support/gateway-child.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { contentOf } from '../support/sse.ts';
import { eventsOf, readThenDrop } from '../support/sse-reconnect.ts';
import { chat, startGateway, waitFor } from '../support/start-gateway.ts';

const redis = await startRedisServer();
const shared = {
  STREAM_TOKEN_SECRET: 's'.repeat(32),
  REDIS_URL: redis.url,
  REDIS_PREFIX: 'resume:',
  // Generous: the first commands queue while each instance connects (see shared-limits.test.ts).
  REDIS_TIMEOUT_MS: '5000',
  STREAM_RESUME_WINDOW_MS: '400',
};
// Two gateway processes on one Redis, calling one fake upstream: this one, and a child process.
const first = await startGateway({ bindings: shared });
const second = await startGatewayProcess({
  ...shared,
  OPENAI_API_KEY: 'sk-test-upstream-key',
  OPENAI_BASE_URL: first.upstream.baseURL,
});

const createLink = async () =>
  (await (await first.post('/api/streams', chat())).json()) as { id: string; url: string };

describe('resume across gateway processes sharing one Redis', () => {
  it('resumes on the other process from the shared log, with one upstream request in all', async () => {
    let release!: () => void;
    first.upstream.enqueue({
      afterChunks: 4,
      holdUntil: new Promise<void>((resolve) => (release = resolve)),
    });
    const before = first.upstream.requests.length;
    const link = await createLink();
    const dropped = await readThenDrop(`${first.url}${link.url}`, { events: 3 });

    const resumed = await fetch(`${second.url}${link.url}`, { headers: { 'last-event-id': '3' } });
    expect(resumed.status).toBe(200);
    // Released once the other process tails the log: the rest reaches it live, through Redis.
    release();
    const rest = await resumed.text();
    expect(contentOf([...(await eventsOf(dropped.text)), ...(await eventsOf(rest))])).toBe(DEFAULT_REPLY);
    expect(rest.match(/^id: \d+$/gm)?.at(0)).toBe('id: 4');
    expect(first.upstream.requests.length - before).toBe(1);
    // Usage was settled once, by the process that ran the stream; the other named the reconnect.
    const line = await waitFor(() => first.logs.find((entry) => entry.stream_id === link.id));
    expect(line).toMatchObject({ outcome: 'ok' });
    const reconnect = await waitFor(() => second.logs.find((entry) => entry.stream_id === link.id));
    expect(reconnect).toMatchObject({ resumed_after: 3, status: 200 });
    expect(reconnect.usage).toBeUndefined();
  });

  it('keeps the upstream going past the window while a client reads on the other process', async () => {
    const reply = Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ');
    first.upstream.enqueue({ content: reply, chunkDelayMs: 50 });
    const link = await createLink();
    const dropped = await readThenDrop(`${first.url}${link.url}`, { events: 2 });
    const upstream = first.upstream.requests.at(-1);
    const rest = await (
      await fetch(`${second.url}${link.url}`, { headers: { 'last-event-id': '2' } })
    ).text();
    // 2 s of reply against a 400 ms window: only the other process's reads kept it alive.
    expect(contentOf([...(await eventsOf(dropped.text)), ...(await eventsOf(rest))])).toBe(reply);
    expect(upstream?.aborted).toBe(false);
  });

  it('answers 204 on the other process once the stream was given up', async () => {
    const long = Array.from({ length: 400 }, (_, index) => `w${index}`).join(' ');
    first.upstream.enqueue({ content: long, chunkDelayMs: 50 });
    const link = await createLink();
    await readThenDrop(`${first.url}${link.url}`, { events: 2 });
    const upstream = await waitFor(() => first.upstream.requests.at(-1));
    await waitFor(() => upstream.aborted, 10_000, 'the upstream was aborted');
    const late = await fetch(`${second.url}${link.url}`, { headers: { 'last-event-id': '2' } });
    expect(late.status).toBe(204);
  });
});
