import { describe, expect, it } from 'vitest';
import { startNodeGateway } from '../../adapters/node.ts';
import { createLogger } from '../../src/logger.ts';
import { ALICE, bearer, KEY_BINDINGS } from '../access/fixtures.ts';
import { DEFAULT_USAGE } from '../support/fake-upstream.ts';
import { readSse } from '../support/sse.ts';
import { chat, startGateway, waitFor } from '../support/start-gateway.ts';

const ADMIN = 'admin-key-0123456789abcdef';
const PROMPT = 'my secret plan is purple-elephant-42';
const bindings = { ...KEY_BINDINGS, ADMIN_API_KEY: ADMIN, RATE_LIMIT_MAX: '0' };

describe('request logs', () => {
  it('write one JSON line per request, field by field, for JSON and streamed completions', async () => {
    const gateway = await startGateway({ bindings });
    await gateway.post('/api/completions', chat('hi', { model: 'gpt-4.1' }), {
      headers: { ...bearer(ALICE), 'x-request-id': 'log-json' },
    });
    await readSse(
      await gateway.post('/api/completions/stream', chat(), {
        headers: { ...bearer(ALICE), 'x-request-id': 'log-stream' },
      }),
    );
    // The upstream's own request ids (OpenAI's x-request-id), for tracing a request on its side.
    const [jsonUpstream, streamUpstream] = gateway.upstream.requests.slice(-2).map((r) => r.requestId);
    const json = gateway.logs.filter((line) => line.request_id === 'log-json');
    expect(json).toHaveLength(1);
    expect(json[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: 'info',
      event: 'request',
      request_id: 'log-json',
      method: 'POST',
      path: '/api/completions',
      status: 200,
      client_ip: '127.0.0.1',
      latency_ms: expect.any(Number),
      key_id: 'alice',
      upstream: 'default',
      upstream_request_id: jsonUpstream,
      model: 'gpt-4.1',
      usage: DEFAULT_USAGE,
      usage_estimated: false,
      outcome: 'ok',
    });
    // A stream's line is written as it ends: wait for it rather than race the body's last bytes.
    await waitFor(() => gateway.logs.some((line) => line.request_id === 'log-stream'));
    const stream = gateway.logs.filter((line) => line.request_id === 'log-stream');
    expect(stream).toHaveLength(1);
    expect(stream[0]).toEqual({
      time: expect.any(String),
      level: 'info',
      event: 'request',
      request_id: 'log-stream',
      method: 'POST',
      path: '/api/completions/stream',
      status: 200,
      client_ip: '127.0.0.1',
      latency_ms: expect.any(Number),
      key_id: 'alice',
      model: 'gpt-4o-mini',
      usage: DEFAULT_USAGE,
      usage_estimated: false,
      upstream: 'default',
      upstream_request_id: streamUpstream,
      outcome: 'ok',
      finish_reason: 'stop',
      ttft_ms: expect.any(Number),
    });
    expect(jsonUpstream).toMatch(/^req_fake_\d+$/);
    expect(streamUpstream).toMatch(/^req_fake_\d+$/);
    expect(jsonUpstream).not.toBe(streamUpstream);
    expect(stream[0]?.ttft_ms as number).toBeLessThanOrEqual(stream[0]?.latency_ms as number);
  });

  it('name the outcome of refused, failed and timed-out requests', async () => {
    const gateway = await startGateway({ bindings });
    // Its own instance: only the request meant to time out meets a short REQUEST_TIMEOUT.
    const timeouts = await startGateway({
      bindings: { ...bindings, REQUEST_TIMEOUT: '500' },
      upstreamDefaults: { hang: 'before-headers' },
    });
    const send = (id: string, body: unknown, headers: Record<string, string> = bearer(ALICE), to = gateway) =>
      to.post('/api/completions', body, { headers: { ...headers, 'x-request-id': id } });
    await send('no-key', chat(), {});
    await send('invalid', { messages: [] });
    gateway.upstream.enqueue({ status: 500 }, { status: 500 });
    await send('upstream-500', chat());
    await send('timeout', chat(), bearer(ALICE), timeouts);
    const outcome = (id: string) =>
      [...gateway.logs, ...timeouts.logs].find((line) => line.request_id === id && line.event === 'request');
    expect(outcome('no-key')).toMatchObject({
      status: 401,
      outcome: 'rejected',
      code: 'missing_api_key',
      level: 'info',
    });
    expect(outcome('invalid')).toMatchObject({
      status: 400,
      outcome: 'rejected',
      code: 'invalid_value',
      key_id: 'alice',
    });
    expect(outcome('upstream-500')).toMatchObject({
      status: 502,
      outcome: 'upstream_error',
      level: 'error',
      upstream_request_id: expect.stringMatching(/^req_fake_/),
    });
    expect(outcome('upstream-500')?.error).toBeDefined();
    expect(outcome('timeout')).toMatchObject({ status: 504, outcome: 'timeout' });
  });

  it('name what an upstream reported inside its stream, as it said it', async () => {
    const gateway = await startGateway({ bindings });
    gateway.upstream.enqueue({ errorEvent: true, afterChunks: 2 });
    await readSse(
      await gateway.post('/api/completions/stream', chat(), {
        headers: { ...bearer(ALICE), 'x-request-id': 'error-event' },
      }),
    );
    const line = await waitFor(() => gateway.logs.find((entry) => entry.request_id === 'error-event'));
    expect(line).toMatchObject({
      outcome: 'upstream_error',
      code: 'upstream_unavailable',
      error: 'server_error: The server had an error while processing your request.',
    });
  });

  it('never contain a key, a prompt or a completion unless LOG_BODIES=true', async () => {
    const gateway = await startGateway({ bindings });
    await gateway.post('/api/completions', chat(PROMPT), { headers: bearer(ALICE) });
    await readSse(await gateway.post('/api/completions/stream', chat(PROMPT), { headers: bearer(ALICE) }));
    await gateway.post('/api/completions', chat(PROMPT), { headers: bearer('sk-wrong-key-0000000000000') });
    await fetch(`${gateway.url}/api/usage`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const link = await (await gateway.post('/api/streams', chat(PROMPT), { headers: bearer(ALICE) })).json();
    await readSse(await fetch(`${gateway.url}${link.url}`));

    const text = gateway.logs.map((line) => JSON.stringify(line)).join('\n');
    for (const secret of [
      ALICE,
      'sk-wrong-key',
      ADMIN,
      'sk-test-upstream-key',
      PROMPT,
      'fake upstream',
      link.url.split('/').at(-1),
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(gateway.logs.some((line) => line.path === '/api/streams/:token')).toBe(true);

    const verbose = await startGateway({ bindings: { ...bindings, LOG_BODIES: 'true' } });
    await readSse(
      await verbose.post('/api/completions/stream', chat(PROMPT), {
        headers: { ...bearer(ALICE), 'x-request-id': 'bodies' },
      }),
    );
    const line = await waitFor(() => verbose.logs.find((entry) => entry.request_id === 'bodies'));
    expect(JSON.stringify(line?.prompt)).toContain(PROMPT);
    expect(line?.completion).toBe('Hello from the fake upstream. It streams one word per chunk.');
    expect(JSON.stringify(verbose.logs)).not.toContain(ALICE);
  });

  it('follow LOG_LEVEL', async () => {
    const gateway = await startGateway({ bindings: { LOG_LEVEL: 'error' } });
    await gateway.post('/api/completions', chat());
    // Two failed attempts (warn lines, below the level), then the request's error line.
    gateway.upstream.enqueue({ status: 503 }, { status: 503 });
    await gateway.post('/api/completions', chat());
    expect(gateway.logs.map((line) => [line.level, line.event])).toEqual([['error', 'request']]);
  });

  it('carry CloudWatch Embedded Metric Format with METRICS_EMF=on', async () => {
    const gateway = await startGateway({ bindings: { METRICS_EMF: 'on' } });
    await readSse(
      await gateway.post('/api/completions/stream', chat(), { headers: { 'x-request-id': 'emf' } }),
    );
    const line = (await waitFor(() => gateway.logs.find((entry) => entry.request_id === 'emf'))) as Record<
      string,
      unknown
    > & {
      _aws: {
        Timestamp: number;
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
    };
    const [directive] = line._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe('OpenAIGateway');
    expect(directive?.Dimensions).toEqual([['route'], ['model']]);
    expect(line.route).toBe('/api/completions/stream');
    expect(line.model).toBe('gpt-4o-mini');
    // Every metric the directive names is a number at the top level of the line, as EMF requires.
    for (const metric of directive?.Metrics ?? []) expect(typeof line[metric.Name]).toBe('number');
    expect(directive?.Metrics.map((metric) => metric.Name)).toEqual(
      expect.arrayContaining([
        'requests',
        'request_latency_ms',
        'ttft_ms',
        'prompt_tokens',
        'completion_tokens',
      ]),
    );
    expect(line.prompt_tokens).toBe(12);
  });
});

describe('LOG_FORMAT=pretty', () => {
  it('writes one short line per event for a person, warnings tagged, and no secrets', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'pretty', write: (line) => lines.push(line) });
    log.info('request', {
      request_id: 'r1',
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      latency_ms: 42,
      client_ip: '127.0.0.1',
      key_id: 'alice',
      model: 'gpt-4o-mini',
      usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
      usage_estimated: true,
      outcome: 'ok',
    });
    log.warn('mock_mode', { message: 'No OPENAI_API_KEY is set' });
    log.debug('hidden');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d POST \/v1\/chat\/completions 200 42ms gpt-4o-mini 12\+30 tokens \(estimated\) ok key_id=alice$/,
    );
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d WARN mock_mode No OPENAI_API_KEY is set$/);
  });

  it('is what a gateway started with LOG_FORMAT=pretty writes, with the key never in it', async () => {
    const lines: string[] = [];
    const gateway = await startNodeGateway({
      bindings: { NODE_ENV: 'test', LOG_FORMAT: 'pretty', GATEWAY_API_KEYS: 'alice:sk-gw-pretty-0123456789' },
      hostname: '127.0.0.1',
      port: 0,
      writeLog: (line) => lines.push(line),
    });
    const response = await fetch(`${gateway.url}/api/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-gw-pretty-0123456789' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    await gateway.shutdown();
    const line = lines.find((entry) => entry.includes('POST /api/completions'));
    expect(line).toMatch(/ 200 \d+ms gpt-4o-mini \d+\+\d+ tokens ok .*key_id=alice/);
    expect(lines.join('\n')).not.toContain('sk-gw-pretty');
    expect(lines.join('\n')).not.toContain('"hi"');
  });
});
