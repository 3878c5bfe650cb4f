import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_WORDS, startFakeUpstream } from '../support/fake-upstream.ts';
import { functionUrlEvent } from '../support/lambda-events.ts';
import { buildBundle, type LambdaFunction, startLambdaFunction } from '../support/lambda-function.ts';
import { contentOf, expectedGatewayStream, type SseEvent, sseEvents } from '../support/sse.ts';
import { packagedTemplate, startDynalite, tableOf } from './dynalite-server.ts';

// The deployable bundle, the table serverless.yml deploys, and an upstream both instances call.
const [taskRoot, table, upstream] = await Promise.all([
  buildBundle(),
  packagedTemplate().then(tableOf),
  startFakeUpstream(),
]);
const dynalite = await startDynalite(table);
const env = {
  ...dynalite.bindings,
  OPENAI_API_KEY: 'sk-test-upstream-key',
  OPENAI_BASE_URL: upstream.baseURL,
  STREAM_TOKEN_SECRET: 'l'.repeat(32),
  // dynalite on a loaded machine answers its first calls slowly.
  REDIS_TIMEOUT_MS: '5000',
};
// Two instances of the function: two processes, as two Lambda sandboxes.
const [first, second] = await Promise.all([
  startLambdaFunction({ taskRoot, env }),
  startLambdaFunction({ taskRoot, env }),
]);

const get = (fn: LambdaFunction, path: string, headers: Record<string, string> = {}) =>
  fn.invoke(functionUrlEvent({ method: 'GET', path, headers }));

async function take(events: AsyncGenerator<SseEvent>, count: number) {
  const taken: SseEvent[] = [];
  while (taken.length < count) {
    const { value, done } = await events.next();
    if (done) break;
    if (value.data) taken.push(value);
  }
  return taken;
}

describe('Lambda with DYNAMODB_TABLE: a stream resumes in another invocation', () => {
  it('serves a reconnect on the other instance from the table while the first invocation runs on', async () => {
    let release!: () => void;
    upstream.enqueue({ afterChunks: 4, holdUntil: new Promise<void>((resolve) => (release = resolve)) });
    const made = first.invoke(
      functionUrlEvent({ path: '/api/streams', body: { messages: [{ role: 'user', content: 'hi' }] } }),
    );
    const link = (await (await made.response).json()) as { url: string };
    await made.settled;

    const started = get(first, link.url);
    const events = sseEvents(await started.response);
    // The client has 3 events, then its network goes: Lambda never learns, and runs on.
    const seen = await take(events, 3);
    expect(seen.map((event) => event.id)).toEqual(['1', '2', '3']);

    const resumed = get(second, link.url, { 'last-event-id': '3' });
    const response = await resumed.response;
    expect(response.status).toBe(200);
    const rest = sseEvents(response);
    // Event 4 was logged before the upstream held: the other invocation replays it from the table.
    const [fourth] = await take(rest, 1);
    expect(fourth?.id).toBe('4');
    release();
    const remaining = await take(rest, 100);
    expect(contentOf([...seen, fourth!, ...remaining])).toBe(DEFAULT_REPLY);
    expect(remaining.at(-1)).toMatchObject({ data: '[DONE]', id: String(DEFAULT_WORDS.length + 2) });
    await resumed.settled;

    // The first invocation ran its stream to the end, and settled usage; one upstream request.
    const whole = await take(events, 100);
    expect(contentOf([...seen, ...whole])).toBe(DEFAULT_REPLY);
    await started.settled;
    expect(upstream.requests).toHaveLength(1);
    expect(first.logs.find((line) => line.path === '/api/streams/:token')).toMatchObject({ outcome: 'ok' });
    expect(second.logs.find((line) => line.resumed_after === 3)).toMatchObject({ status: 200 });
  });

  it('resumes a POST stream from its resume link in another invocation', async () => {
    const posted = first.invoke(
      functionUrlEvent({
        path: '/api/completions/stream',
        body: { messages: [{ role: 'user', content: 'hi' }] },
        headers: { 'x-stream-resume': 'on' },
      }),
    );
    const response = await posted.response;
    const url = response.headers.get('x-stream-resume-url');
    const whole = await response.text();
    await posted.settled;
    expect(whole).toBe(expectedGatewayStream(DEFAULT_WORDS));
    const frames = whole.split(/(?<=\n\n)/);

    const resumed = get(second, String(url), { 'last-event-id': '6' });
    expect(frames.slice(0, 6).join('') + (await (await resumed.response).text())).toBe(whole);
    await resumed.settled;
  });
});
