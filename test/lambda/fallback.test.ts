import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_REPLY,
  DEFAULT_WORDS,
  type FakeUpstream,
  startFakeUpstream,
} from '../support/fake-upstream.ts';
import { functionUrlEvent, type HttpRequest } from '../support/lambda-events.ts';
import { buildBundle, startLambdaFunction } from '../support/lambda-function.ts';
import { contentOf, expectedGatewayStream, readSse } from '../support/sse.ts';
import { chat } from '../support/start-gateway.ts';

// Two upstreams, each a fake on 127.0.0.1, behind the deployed bundle run by the real aws-lambda-ric
// (the Function URL RESPONSE_STREAM handler): the fallback test/upstream/fallback.test.ts shows on Node.
const taskRoot = await buildBundle();
const [a, b] = (await Promise.all([startFakeUpstream(), startFakeUpstream()])) as [
  FakeUpstream,
  FakeUpstream,
];
afterAll(() => Promise.all([a.close(), b.close()]));
const fn = await startLambdaFunction({
  taskRoot,
  env: {
    NODE_ENV: 'test',
    OPENAI_API_KEY: '',
    OPENAI_BASE_URL: '',
    UPSTREAMS: JSON.stringify([
      { name: 'a', base_url: a.baseURL, api_key_binding: 'KEY_A' },
      { name: 'b', base_url: b.baseURL, api_key_binding: 'KEY_B' },
    ]),
    KEY_A: 'sk-a-key',
    KEY_B: 'sk-b-key',
    UPSTREAM_BACKOFF_MS: '20',
    // One function serves every case: a's failures must not add up to a cooldown between them.
    UPSTREAM_COOLDOWN_FAILURES: '1000',
    // Generous: a busy machine must not turn a slow moment into a 504.
    REQUEST_TIMEOUT: '10000',
  },
});

const invoke = (request: HttpRequest) => fn.invoke(functionUrlEvent(request));

/** What each fake was sent during `run`, as the authorization header of each request. */
async function sentDuring(run: () => Promise<void>) {
  const [fromA, fromB] = [a.requests.length, b.requests.length];
  await run();
  return {
    a: a.requests.slice(fromA).map((request) => request.headers.authorization),
    b: b.requests.slice(fromB).map((request) => request.headers.authorization),
  };
}

const requestLines = (id: string) =>
  fn.logs.filter((line) => line.request_id === id && line.event === 'request');

describe('fallback across upstreams under the Lambda runtime (Function URL, streamed)', () => {
  it('a JSON completion whose first upstream answers 500 (twice) comes from the second', async () => {
    a.enqueue({ status: 500 }, { status: 500 });
    const sent = await sentDuring(async () => {
      const invocation = invoke({
        path: '/api/completions',
        body: chat(),
        headers: { 'x-request-id': 'lf-json' },
      });
      const response = await invocation.response;
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gateway-upstream')).toBe('b');
      expect((await response.json()).content).toBe(DEFAULT_REPLY);
      await invocation.settled;
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key', 'Bearer sk-a-key'], b: ['Bearer sk-b-key'] });
    expect(requestLines('lf-json')).toEqual([
      expect.objectContaining({
        status: 200,
        upstream: 'b',
        upstream_attempts: ['a:status_500', 'a:status_500', 'b:ok'],
      }),
    ]);
  });

  it('a stream whose first upstream answers 500 (twice) is the second’s stream, whole', async () => {
    a.enqueue({ status: 500 }, { status: 500 });
    const sent = await sentDuring(async () => {
      const invocation = invoke({
        path: '/api/completions/stream',
        body: chat(),
        headers: { 'x-request-id': 'lf-500' },
      });
      const response = await invocation.response;
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gateway-upstream')).toBe('b');
      expect(await response.text()).toBe(expectedGatewayStream(DEFAULT_WORDS));
      expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
      await invocation.settled;
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key', 'Bearer sk-a-key'], b: ['Bearer sk-b-key'] });
    expect(requestLines('lf-500')).toEqual([
      expect.objectContaining({
        status: 200,
        outcome: 'ok',
        upstream: 'b',
        upstream_attempts: ['a:status_500', 'a:status_500', 'b:ok'],
      }),
    ]);
  });

  it.each([
    ['a reset after the opening frame', { reset: true, afterChunks: 0 }],
    ['an error frame before the first content', { errorEvent: true, afterChunks: 0 }],
  ] as const)('%s: the stream comes whole from the second upstream', async (mode, scenario) => {
    // Both tries on a break the same way; a stream that broke before content is retried as a whole.
    a.enqueue(scenario, scenario);
    const id = `lf-${mode.split(' ')[1]}`;
    const sent = await sentDuring(async () => {
      const invocation = invoke({
        path: '/api/completions/stream',
        body: chat(),
        headers: { 'x-request-id': id },
      });
      const response = await invocation.response;
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gateway-upstream')).toBe('b');
      expect(await response.text()).toBe(expectedGatewayStream(DEFAULT_WORDS));
      expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
      await invocation.settled;
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key', 'Bearer sk-a-key'], b: ['Bearer sk-b-key'] });
    expect(requestLines(id)).toEqual([
      expect.objectContaining({
        status: 200,
        outcome: 'ok',
        upstream: 'b',
        upstream_attempts: ['a:stream', 'a:stream', 'b:ok'],
      }),
    ]);
  });

  it('a stream that broke after content ends with its error event, and the second upstream is not asked', async () => {
    a.enqueue({ reset: true, afterChunks: 2 });
    const sent = await sentDuring(async () => {
      const invocation = invoke({ path: '/api/completions/stream', body: chat() });
      const response = await invocation.response;
      expect(response.headers.get('x-gateway-upstream')).toBe('a');
      const events = await readSse(response);
      expect(contentOf(events.slice(0, 2))).toBe(DEFAULT_WORDS.slice(0, 2).join(''));
      expect(events).toHaveLength(3);
      expect(events[2]?.event).toBe('error');
      expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
      await invocation.settled;
    });
    expect(sent).toEqual({ a: ['Bearer sk-a-key'], b: [] });
  });
});
