import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_REPLY,
  DEFAULT_WORDS,
  type FakeUpstream,
  startFakeUpstream,
} from '../support/fake-upstream.ts';
import { expectedGatewayStream, readSse } from '../support/sse.ts';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

// Two upstreams, each a fake on 127.0.0.1, behind one worker in workerd: the fallback that
// test/upstream/fallback.test.ts shows on Node, on the Workers runtime.
const [a, b] = (await Promise.all([startFakeUpstream(), startFakeUpstream()])) as [
  FakeUpstream,
  FakeUpstream,
];
afterAll(() => Promise.all([a.close(), b.close()]));

const worker = await startWorker({
  upstream: a,
  vars: {
    OPENAI_API_KEY: '',
    OPENAI_BASE_URL: '',
    UPSTREAMS: JSON.stringify([
      { name: 'a', base_url: a.baseURL, api_key_binding: 'KEY_A' },
      { name: 'b', base_url: b.baseURL, api_key_binding: 'KEY_B' },
    ]),
    KEY_A: 'sk-a-key',
    KEY_B: 'sk-b-key',
    UPSTREAM_BACKOFF_MS: '20',
    // One worker serves every case: a's failures must not add up to a cooldown between them.
    UPSTREAM_COOLDOWN_FAILURES: '1000',
    REQUEST_TIMEOUT: '10000',
  },
});

/** What each fake was sent during `run`, as the authorization header of each request. */
async function sentDuring(run: () => Promise<void>) {
  const [fromA, fromB] = [a.requests.length, b.requests.length];
  await run();
  return {
    a: a.requests.slice(fromA).map((request) => request.headers.authorization),
    b: b.requests.slice(fromB).map((request) => request.headers.authorization),
  };
}

const requestLine = (id: string) =>
  waitFor(() => worker.logs.find((line) => line.request_id === id && line.event === 'request'));

const text = async (response: Response) => new TextDecoder().decode(await response.arrayBuffer());

describe('fallback across upstreams in workerd', () => {
  it('a JSON completion whose first upstream answers 500 (twice) comes from the second', async () => {
    a.enqueue({ status: 500 }, { status: 500 });
    let response!: Response;
    const sent = await sentDuring(async () => {
      response = await worker.post('/api/completions', chat(), { headers: { 'x-request-id': 'wf-json' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gateway-upstream')).toBe('b');
      expect((await response.json()).content).toBe(DEFAULT_REPLY);
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key', 'Bearer sk-a-key'], b: ['Bearer sk-b-key'] });
    expect(await requestLine('wf-json')).toMatchObject({
      status: 200,
      upstream: 'b',
      upstream_attempts: ['a:status_500', 'a:status_500', 'b:ok'],
    });
  });

  it('a stream whose first upstream answers 500 (twice) is the second’s stream, whole', async () => {
    a.enqueue({ status: 500 }, { status: 500 });
    const sent = await sentDuring(async () => {
      const response = await worker.post('/api/completions/stream', chat(), {
        headers: { 'x-request-id': 'wf-500' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gateway-upstream')).toBe('b');
      expect(await text(response)).toBe(expectedGatewayStream(DEFAULT_WORDS));
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key', 'Bearer sk-a-key'], b: ['Bearer sk-b-key'] });
    expect(await requestLine('wf-500')).toMatchObject({
      status: 200,
      outcome: 'ok',
      upstream: 'b',
      upstream_attempts: ['a:status_500', 'a:status_500', 'b:ok'],
    });
  });

  it.each([
    ['a reset after the opening frame', { reset: true, afterChunks: 0 }],
    ['an error frame before the first content', { errorEvent: true, afterChunks: 0 }],
  ] as const)('%s: the stream comes whole from the second upstream', async (mode, scenario) => {
    // Both tries on a break the same way; a stream that broke before content is retried as a whole.
    a.enqueue(scenario, scenario);
    const id = `wf-${mode.split(' ')[1]}`;
    const sent = await sentDuring(async () => {
      const response = await worker.post('/api/completions/stream', chat(), {
        headers: { 'x-request-id': id },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gateway-upstream')).toBe('b');
      expect(await text(response)).toBe(expectedGatewayStream(DEFAULT_WORDS));
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key', 'Bearer sk-a-key'], b: ['Bearer sk-b-key'] });
    expect(await requestLine(id)).toMatchObject({
      status: 200,
      outcome: 'ok',
      upstream: 'b',
      upstream_attempts: ['a:stream', 'a:stream', 'b:ok'],
    });
  });

  it('a stream that broke after content ends with its error event, and the second upstream is not asked', async () => {
    a.enqueue({ reset: true, afterChunks: 2 });
    const sent = await sentDuring(async () => {
      const response = await worker.post('/api/completions/stream', chat());
      expect(response.headers.get('x-gateway-upstream')).toBe('a');
      const events = await readSse(response);
      expect(events.slice(0, 2).map((event) => JSON.parse(event.data).content)).toEqual(
        DEFAULT_WORDS.slice(0, 2),
      );
      expect(events).toHaveLength(3);
      expect(events[2]?.event).toBe('error');
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key'], b: [] });
  });
});
