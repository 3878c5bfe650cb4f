import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import {
  DEFAULT_REPLY,
  DEFAULT_WORDS,
  type FakeUpstream,
  type Scenario,
  startFakeUpstream,
} from '../support/fake-upstream.ts';
import { parsePrometheus, sampleValue } from '../support/parse-prometheus.ts';
import { expectedGatewayStream, readSse } from '../support/sse.ts';
import { chat, startGateway, waitFor } from '../support/start-gateway.ts';

// Several upstreams, each a fake on 127.0.0.1, behind one gateway on a real port: what the client
// receives, and what each upstream was sent.
const ADMIN = 'admin-key-0123456789abcdef';

async function fakes(count: number): Promise<FakeUpstream[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startFakeUpstream()));
  afterAll(() => Promise.all(started.map((fake) => fake.close())));
  return started;
}

const keyBinding = (name: string) => `KEY_${name.toUpperCase().replace(/\W/g, '_')}`;

type Entry = { name: string; fake?: FakeUpstream; base_url?: string } & Record<string, unknown>;

/** A gateway whose UPSTREAMS lists `entries` in order; each key sits in a binding of its own. */
async function gatewayOver(entries: Entry[], bindings: Record<string, string> = {}) {
  const keys = Object.fromEntries(entries.map(({ name }) => [keyBinding(name), `sk-${name}-key`]));
  const list = entries.map(({ name, fake, ...rest }) => ({
    name,
    base_url: fake?.baseURL,
    api_key_binding: keyBinding(name),
    ...rest,
  }));
  return startGateway({
    bindings: {
      OPENAI_API_KEY: '',
      OPENAI_BASE_URL: '',
      UPSTREAMS: JSON.stringify(list),
      ...keys,
      ADMIN_API_KEY: ADMIN,
      UPSTREAM_BACKOFF_MS: '20',
      REQUEST_TIMEOUT: '1000',
      ...bindings,
    },
  });
}

const requestLine = (logs: Record<string, unknown>[], id: string) =>
  waitFor(() => logs.find((line) => line.request_id === id && line.event === 'request'));

const streamText = async (response: Response) => {
  expect(response.status).toBe(200);
  return new TextDecoder().decode(await response.arrayBuffer());
};

describe('UPSTREAMS, as configured', () => {
  const entry = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    base_url: 'http://127.0.0.1:9/v1',
    api_key_binding: keyBinding(name),
    ...extra,
  });
  const load =
    (entries: unknown[], bindings: Record<string, string> = {}) =>
    () =>
      loadConfig({ UPSTREAMS: JSON.stringify(entries), KEY_A: 'sk-a', KEY_B: 'sk-b', ...bindings });

  it('stops start-up on a missing key binding, a duplicate name or a bad URL, naming the entry', () => {
    expect(load([entry('a'), entry('c')])).toThrow(
      /UPSTREAMS.1.api_key_binding: names KEY_C, which is not set \(upstream c\)/,
    );
    expect(load([entry('a'), entry('a')])).toThrow(/UPSTREAMS.1.name: a is used twice/);
    expect(load([entry('a', { base_url: 'ftp://example.com' })])).toThrow(
      /UPSTREAMS.0.base_url: must be an http/,
    );
    expect(load([entry('a', { wieght: 2 })])).toThrow(/UPSTREAMS.0: Unrecognized key: "wieght"/);
    expect(() => loadConfig({ UPSTREAMS: '[{"name": "a",' })).toThrow(/UPSTREAMS: must be a JSON array/);
    expect(load([entry('a')], { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' })).toThrow(
      /OPENAI_BASE_URL: set base_url/,
    );
  });

  it('never holds a key in the JSON, and never echoes the JSON in an error', () => {
    const pasted = load([{ ...entry('a'), api_key: 'sk-pasted-by-mistake' }]);
    expect(pasted).toThrow(ConfigError);
    expect(pasted).toThrow(/keys never sit in UPSTREAMS/);
    expect(pasted).not.toThrow(/sk-pasted-by-mistake/);
  });

  it('reads each key from the binding it names, in order of preference, mock mode off', async () => {
    const config = loadConfig({
      UPSTREAMS: JSON.stringify([
        entry('a'),
        entry('b', { models: ['gpt-4o'], aliases: { 'gpt-4o-mini': 'llama3.1:8b' }, weight: 2, priority: 0 }),
      ]),
      KEY_A: 'sk-a',
      KEY_B: ' sk-b ',
    });
    expect(config.upstreams).toMatchObject([
      { name: 'a', apiKey: 'sk-a', models: null, priority: 0, weight: 1 },
      { name: 'b', apiKey: 'sk-b', models: ['gpt-4o', 'gpt-4o-mini'], priority: 0, weight: 2 },
    ]);
    const [one] = await fakes(1);
    const gateway = await gatewayOver([
      { name: 'a', fake: one },
      { name: 'b', fake: one },
    ]);
    expect(await (await gateway.get('/api/health')).json()).toMatchObject({
      mode: 'upstream',
      upstreams: ['a', 'b'],
    });
    expect(JSON.stringify(gateway.logs)).not.toContain('sk-a-key');
  });
});

describe('fallback before the first content', () => {
  // Each failure mode on the first upstream, once each (one attempt there): the client receives
  // the second upstream's stream, exactly as if it were the only one.
  const modes: [string, Scenario, string][] = [
    ['a 500', { status: 500 }, 'status_500'],
    ['a 502', { status: 502 }, 'status_502'],
    ['a 503', { status: 503 }, 'status_503'],
    ['a 504', { status: 504 }, 'status_504'],
    ['a 408', { status: 408 }, 'status_408'],
    ['a 429', { status: 429 }, 'rate_limited'],
    ['its own 401 (a wrong key)', { status: 401 }, 'auth'],
    ['its own 403', { status: 403 }, 'auth'],
    ['a reset before the answer', { reset: 'before-headers' }, 'connection'],
    ['no answer within REQUEST_TIMEOUT', { hang: 'before-headers' }, 'timeout'],
    ['a reset after the opening frame', { reset: true, afterChunks: 0 }, 'stream'],
    ['an error frame before the first content', { errorEvent: true, afterChunks: 0 }, 'stream'],
    ['a malformed frame before the first content', { malformed: true, afterChunks: 0 }, 'stream'],
    ['silence after the opening frame', { hang: 'mid-stream', afterChunks: 0 }, 'timeout'],
  ];

  it.each(modes)('%s: the stream comes whole from the next upstream', async (_mode, scenario, kind) => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      {
        UPSTREAM_ATTEMPTS_EACH: '1',
      },
    );
    a!.enqueue(scenario);
    const response = await gateway.post('/api/completions/stream', chat(), {
      headers: { 'x-request-id': 'mode' },
    });
    expect(response.headers.get('x-gateway-upstream')).toBe('b');
    expect(await streamText(response)).toBe(expectedGatewayStream(DEFAULT_WORDS));
    expect(a!.requests).toHaveLength(1);
    expect(b!.requests).toHaveLength(1);
    // Each upstream got its own key; one that had not finished was let go.
    expect(a!.requests[0]?.headers.authorization).toBe('Bearer sk-a-key');
    expect(b!.requests[0]?.headers.authorization).toBe('Bearer sk-b-key');
    if (scenario.hang) await waitFor(() => a!.requests[0]?.aborted);
    const line = await requestLine(gateway.logs, 'mode');
    expect(line).toMatchObject({
      status: 200,
      outcome: 'ok',
      upstream: 'b',
      upstream_attempts: [`a:${kind}`, 'b:ok'],
    });
    const attempt = gateway.logs.find((entry) => entry.event === 'upstream_attempt_failed');
    expect(attempt).toMatchObject({ upstream: 'a', kind, level: kind === 'auth' ? 'error' : 'warn' });
  });

  it('JSON completions fall back the same way, and the answer is the next upstream’s', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver([
      { name: 'a', fake: a },
      { name: 'b', fake: b },
    ]);
    a!.enqueue({ status: 500 }, { status: 503 });
    const response = await gateway.post('/api/completions', chat(), { headers: { 'x-request-id': 'json' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gateway-upstream')).toBe('b');
    expect((await response.json()).content).toBe(DEFAULT_REPLY);
    expect([a!.requests.length, b!.requests.length]).toEqual([2, 1]);
    expect(await requestLine(gateway.logs, 'json')).toMatchObject({
      upstream: 'b',
      upstream_attempts: ['a:status_500', 'a:status_503', 'b:ok'],
      upstream_request_id: b!.requests[0]?.requestId,
    });
  });

  it('the official SDK streams through a fallback on /v1, and EventSource links do too', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      {
        UPSTREAM_ATTEMPTS_EACH: '1',
      },
    );
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    a!.enqueue({ reset: true, afterChunks: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(DEFAULT_REPLY);

    a!.enqueue({ status: 502 });
    const link = await (await gateway.post('/api/streams', chat())).json();
    const events = await fetch(`${gateway.url}${link.url}`);
    expect(events.headers.get('x-gateway-upstream')).toBe('b');
    // The same frames as a POST stream's, each with its number for a resume (README, EventSource).
    const numbered = expectedGatewayStream(DEFAULT_WORDS)
      .split('\n\n')
      .filter(Boolean)
      .map((frame, index) => `id: ${index + 1}\n${frame}\n\n`)
      .join('');
    expect(await streamText(events)).toBe(`retry: 3000\n\n${numbered}`);
    expect([a!.requests.length, b!.requests.length]).toEqual([2, 2]);
  });

  it('a refused connection falls back too', async () => {
    const [b] = await fakes(1);
    const gateway = await gatewayOver([
      { name: 'gone', base_url: 'http://127.0.0.1:9/v1' },
      { name: 'b', fake: b },
    ]);
    const response = await gateway.post('/api/completions/stream', chat(), {
      headers: { 'x-request-id': 'refused' },
    });
    expect(await streamText(response)).toBe(expectedGatewayStream(DEFAULT_WORDS));
    expect((await requestLine(gateway.logs, 'refused')).upstream_attempts).toEqual([
      'gone:connection',
      'gone:connection',
      'b:ok',
    ]);
  });
});

describe('what is never retried', () => {
  it.each([400, 404, 409, 422])(
    'the client’s own error (%i) goes back as it is; the next upstream is not asked',
    async (status) => {
      const [a, b] = await fakes(2);
      const gateway = await gatewayOver([
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ]);
      a!.enqueue({ status, errorMessage: 'no such thing' });
      const response = await gateway.post('/api/completions/stream', chat());
      expect(response.status).toBe(status);
      expect((await response.json()).error.message).toBe('no such thing');
      expect([a!.requests.length, b!.requests.length]).toEqual([1, 0]);
    },
  );

  it('a stream that already sent content ends with its error event: no silent switch, no repeated text', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver([
      { name: 'a', fake: a },
      { name: 'b', fake: b },
    ]);
    a!.enqueue({ reset: true, afterChunks: 2 });
    const events = await readSse(await gateway.post('/api/completions/stream', chat()));
    expect(events.slice(0, 2).map((event) => JSON.parse(event.data).content)).toEqual(
      DEFAULT_WORDS.slice(0, 2),
    );
    expect(events).toHaveLength(3);
    expect(events[2]?.event).toBe('error');
    expect(b!.requests).toHaveLength(0);
  });
});

describe('retries on one upstream', () => {
  it('retry there with a backoff first, then move on', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      {
        UPSTREAM_BACKOFF_MS: '200',
      },
    );
    a!.enqueue({ status: 503 });
    const response = await gateway.post('/api/completions', chat());
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gateway-upstream')).toBe('a');
    expect([a!.requests.length, b!.requests.length]).toEqual([2, 0]);
    // The first retry waits between half and all of UPSTREAM_BACKOFF_MS (half of it jittered).
    const gap = a!.requests[1]!.startedAt - a!.requests[0]!.startedAt;
    expect(gap).toBeGreaterThanOrEqual(90);
    expect(gap).toBeLessThan(5_000);
  });

  it('honour a 429’s Retry-After within UPSTREAM_RETRY_WAIT_MS, and pass a longer one on', async () => {
    const [a] = await fakes(1);
    const gateway = await gatewayOver([{ name: 'a', fake: a }], { UPSTREAM_RETRY_WAIT_MS: '2000' });
    a!.enqueue({ status: 429, headers: { 'retry-after': '1' } });
    const waited = await gateway.post('/api/completions', chat());
    expect(waited.status).toBe(200);
    const gap = a!.requests[1]!.startedAt - a!.requests[0]!.startedAt;
    expect(gap).toBeGreaterThanOrEqual(950);

    a!.enqueue({ status: 429, headers: { 'retry-after': '30' } });
    const passed = await gateway.post('/api/completions', chat());
    expect(passed.status).toBe(429);
    expect(passed.headers.get('retry-after')).toBe('30');
    expect(a!.requests).toHaveLength(3);
  });

  it('stop at UPSTREAM_MAX_ATTEMPTS: the last failure is what the client sees', async () => {
    const [a, b, c] = await fakes(3);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
        { name: 'c', fake: c },
      ],
      { UPSTREAM_MAX_ATTEMPTS: '3', UPSTREAM_COOLDOWN_FAILURES: '100' },
    );
    a!.setDefault({ status: 500 });
    b!.setDefault({ status: 429, headers: { 'retry-after': '0' } });
    const response = await gateway.post('/api/completions', chat(), {
      headers: { 'x-request-id': 'bounded' },
    });
    expect(response.status).toBe(429);
    expect([a!.requests.length, b!.requests.length, c!.requests.length]).toEqual([2, 1, 0]);
    expect((await requestLine(gateway.logs, 'bounded')).upstream_attempts).toEqual([
      'a:status_500',
      'a:status_500',
      'b:rate_limited',
    ]);
  });

  it('stop at once when the client leaves during a backoff: nothing more is sent', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      {
        UPSTREAM_BACKOFF_MS: '1500',
      },
    );
    a!.enqueue({ status: 503 });
    const leaving = new AbortController();
    const request = gateway
      .post('/api/completions/stream', chat(), {
        signal: leaving.signal,
        headers: { 'x-request-id': 'left' },
      })
      .catch((error: unknown) => error);
    await waitFor(() => a!.requests.length === 1);
    leaving.abort();
    expect(await request).toBeInstanceOf(Error);
    const line = await requestLine(gateway.logs, 'left');
    expect(line).toMatchObject({
      outcome: 'client_aborted',
      upstream_attempts: ['a:status_503'],
    });
    // Past the longest backoff: still only the one request.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect([a!.requests.length, b!.requests.length]).toEqual([1, 0]);
  });

  it('stop at once when the client leaves during an attempt: the upstream sees the abort', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      { REQUEST_TIMEOUT: '10000' },
    );
    a!.enqueue({ hang: 'before-headers' });
    const leaving = new AbortController();
    const request = gateway
      .post('/api/completions', chat(), { signal: leaving.signal })
      .catch((error: unknown) => error);
    await waitFor(() => a!.requests.length === 1);
    leaving.abort();
    await request;
    await waitFor(() => a!.requests[0]?.aborted);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([a!.requests.length, b!.requests.length]).toEqual([1, 0]);
  });
});

describe('cooldown', () => {
  it('skips an upstream that keeps failing until its cooldown ends, then probes it with one request', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      {
        UPSTREAM_ATTEMPTS_EACH: '1',
        UPSTREAM_COOLDOWN_FAILURES: '2',
        UPSTREAM_COOLDOWN_MS: '1500',
      },
    );
    a!.setDefault({ status: 503 });
    for (let i = 0; i < 2; i++) expect((await gateway.post('/api/completions', chat())).status).toBe(200);
    expect(a!.requests).toHaveLength(2);
    // Cooling down: straight to b, a not asked.
    const skipped = await gateway.post('/api/completions', chat(), {
      headers: { 'x-request-id': 'skipped' },
    });
    expect(skipped.headers.get('x-gateway-upstream')).toBe('b');
    expect(a!.requests).toHaveLength(2);
    expect((await requestLine(gateway.logs, 'skipped')).upstream_attempts).toBeUndefined();
    expect(gateway.logs.filter((line) => line.event === 'upstream_cooldown')).toMatchObject([
      { upstream: 'a' },
    ]);

    // Well again, and the cooldown over: of three requests at once, one probes a (held a while,
    // so the other two arrive during the probe), the others go to b.
    a!.setDefault({ firstByteDelayMs: 300 });
    await waitFor(() => Date.now() > gatewayCooldownEnd(gateway.logs));
    const answers = await Promise.all(
      Array.from({ length: 3 }, () => gateway.post('/api/completions', chat())),
    );
    expect(answers.map((answer) => answer.headers.get('x-gateway-upstream')).sort()).toEqual(['a', 'b', 'b']);
    expect(a!.requests).toHaveLength(3);
    // Recovered: a is first choice again.
    a!.setDefault({});
    const back = await gateway.post('/api/completions', chat());
    expect(back.headers.get('x-gateway-upstream')).toBe('a');

    const metrics = parsePrometheus(
      await (await gateway.get('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
    );
    expect(sampleValue(metrics, 'gateway_upstream_cooldowns_total', { upstream: 'a' })).toBe(1);
    expect(
      sampleValue(metrics, 'gateway_upstream_attempts_total', { upstream: 'a', outcome: 'status_503' }),
    ).toBe(2);
    expect(sampleValue(metrics, 'gateway_upstream_attempts_total', { upstream: 'a', outcome: 'ok' })).toBe(2);
    expect(sampleValue(metrics, 'gateway_upstream_attempts_total', { upstream: 'b', outcome: 'ok' })).toBe(5);
  });

  it('cools an upstream down for a 429’s Retry-After at once', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver([
      { name: 'a', fake: a },
      { name: 'b', fake: b },
    ]);
    a!.enqueue({ status: 429, headers: { 'retry-after': '20' } });
    expect((await gateway.post('/api/completions', chat())).headers.get('x-gateway-upstream')).toBe('b');
    expect((await gateway.post('/api/completions', chat())).headers.get('x-gateway-upstream')).toBe('b');
    expect([a!.requests.length, b!.requests.length]).toEqual([1, 2]);
  });

  it('cools an upstream down at once when it refuses its own key (401)', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver([
      { name: 'a', fake: a },
      { name: 'b', fake: b },
    ]);
    a!.setDefault({ status: 401 });
    expect((await gateway.post('/api/completions', chat())).headers.get('x-gateway-upstream')).toBe('b');
    expect((await gateway.post('/api/completions', chat())).headers.get('x-gateway-upstream')).toBe('b');
    expect([a!.requests.length, b!.requests.length]).toEqual([1, 2]);
    expect(gateway.logs.filter((line) => line.event === 'upstream_cooldown')).toMatchObject([
      { upstream: 'a' },
    ]);
  });

  it('still tries an upstream in cooldown when nothing else serves the request', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver(
      [
        { name: 'a', fake: a },
        { name: 'b', fake: b, models: ['other-model'] },
      ],
      { UPSTREAM_ATTEMPTS_EACH: '1', UPSTREAM_COOLDOWN_FAILURES: '1' },
    );
    a!.enqueue({ status: 503 }, { status: 503 });
    expect((await gateway.post('/api/completions', chat())).status).toBe(502);
    expect((await gateway.post('/api/completions', chat())).status).toBe(502);
    expect((await gateway.post('/api/completions', chat())).status).toBe(200);
    expect([a!.requests.length, b!.requests.length]).toEqual([3, 0]);
  });
});

describe('which upstream serves what', () => {
  it('sends a model only where it is served, under that upstream’s name for it, and charges that model', async () => {
    const [a, b] = await fakes(2);
    const gateway = await gatewayOver([
      { name: 'a', fake: a },
      { name: 'local', fake: b, aliases: { 'gpt-4o-mini': 'llama3.1:8b' }, models: [] },
    ]);
    a!.enqueue({ status: 500 }, { status: 500 });
    const response = await gateway.post('/api/completions/stream', chat('hi', { model: 'gpt-4o-mini' }), {
      headers: { 'x-request-id': 'alias' },
    });
    expect(await streamText(response)).toBe(expectedGatewayStream(DEFAULT_WORDS));
    expect(b!.requests[0]?.body?.model).toBe('llama3.1:8b');
    expect(await requestLine(gateway.logs, 'alias')).toMatchObject({
      upstream: 'local',
      model: 'llama3.1:8b',
    });

    // A model the local server does not serve never goes there: a's failure stands.
    a!.enqueue({ status: 500 }, { status: 500 });
    expect((await gateway.post('/api/completions', chat('hi', { model: 'gpt-4.1' }))).status).toBe(502);
    expect(b!.requests).toHaveLength(1);
  });

  it('answers 404 for a model no upstream serves', async () => {
    const [a] = await fakes(1);
    const gateway = await gatewayOver([{ name: 'a', fake: a, models: ['gpt-4o-mini'] }]);
    const response = await gateway.post('/api/completions', chat('hi', { model: 'gpt-5' }));
    expect(response.status).toBe(404);
    expect((await response.json()).error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(a!.requests).toHaveLength(0);
  });

  it('spreads load by weight across entries of equal priority, and keeps a lower priority for fallback', async () => {
    const [a, b, c] = await fakes(3);
    const gateway = await gatewayOver([
      { name: 'a', fake: a, priority: 0, weight: 3 },
      { name: 'b', fake: b, priority: 0, weight: 1 },
      { name: 'c', fake: c, priority: 1 },
    ]);
    for (let i = 0; i < 60; i++) expect((await gateway.post('/api/completions', chat())).status).toBe(200);
    expect(a!.requests.length + b!.requests.length).toBe(60);
    expect(a!.requests.length).toBeGreaterThan(b!.requests.length);
    expect(b!.requests.length).toBeGreaterThan(0);
    expect(c!.requests).toHaveLength(0);
  });
});

describe('the Responses API over several upstreams', () => {
  it('goes only to entries that serve it, falls back before the first output, and finds a stored response where it lives', async () => {
    const [chatOnly, a, b] = await fakes(3);
    const gateway = await gatewayOver(
      [
        { name: 'chat-only', fake: chatOnly, responses: false },
        { name: 'a', fake: a },
        { name: 'b', fake: b },
      ],
      { UPSTREAM_ATTEMPTS_EACH: '1' },
    );
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    a!.enqueue({ reset: true, afterChunks: 0 });
    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'Say hello' });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    const final = await stream.finalResponse();
    expect(text).toBe(DEFAULT_REPLY);
    expect(final.output_text).toBe(DEFAULT_REPLY);
    expect([chatOnly!.requests.length, a!.requests.length, b!.requests.length]).toEqual([0, 1, 1]);

    // Stored on b: a is asked first and does not know it.
    const retrieved = await client.responses.retrieve(final.id);
    expect(retrieved.id).toBe(final.id);
    expect(a!.requests.at(-1)?.path).toBe(`/v1/responses/${final.id}`);
    expect(b!.requests.at(-1)?.path).toBe(`/v1/responses/${final.id}`);
    expect(chatOnly!.requests).toHaveLength(0);

    a!.enqueue({ status: 503 });
    const created = await gateway.post('/v1/responses', { input: 'Say hello' });
    expect(created.status).toBe(200);
    expect(created.headers.get('x-gateway-upstream')).toBe('b');
  });
});

/** When the one cooldown the log reported ends. */
function gatewayCooldownEnd(logs: Record<string, unknown>[]): number {
  const line = logs.find((entry) => entry.event === 'upstream_cooldown');
  return line ? Date.parse(String(line.until)) : Number.POSITIVE_INFINITY;
}
