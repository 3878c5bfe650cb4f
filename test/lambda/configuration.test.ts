import { describe, expect, it } from 'vitest';
import { functionUrlEvent } from '../support/lambda-events.ts';
import { buildBundle, startLambdaFunction } from '../support/lambda-function.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { contentOf, readSse } from '../support/sse.ts';
import { chat } from '../support/start-gateway.ts';

const taskRoot = await buildBundle();
// At the top level: startRedisServer stops it in an afterAll, which vitest ignores inside a test.
// It resolves once the server answers PING, before any function starts.
const redis = await startRedisServer();

describe('Lambda bundle: configuration from the function environment', () => {
  it('answers from the mock model when OPENAI_API_KEY is not set, and says so once', async () => {
    const fn = await startLambdaFunction({ taskRoot, env: { MOCK_TOKEN_DELAY_MS: '1' } });
    const health = await (await fn.invoke(functionUrlEvent({ path: '/api/health' })).response).json();
    expect(health.mode).toBe('mock');

    const invocation = fn.invoke(functionUrlEvent({ path: '/api/completions/stream', body: chat('ping') }));
    const response = await invocation.response;
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = await readSse(response);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(contentOf(events)).toContain('mock model');
    await invocation.settled;
    expect(fn.logs.filter((line) => line.event === 'mock_mode')).toHaveLength(1);
  });

  it('fails the init, naming the variable, when a setting is invalid', async () => {
    const fn = await startLambdaFunction({ taskRoot, env: { REQUEST_TIMEOUT: 'soon' } });
    const error = await fn.api.initError;
    expect(error.errorMessage).toContain('REQUEST_TIMEOUT');
    expect(await fn.exited).not.toBe(0);
  });

  it('with REDIS_URL, loads the Redis store on demand and counts one limit across instances', async () => {
    const env = {
      REDIS_URL: redis.url,
      // Not a test of the timeout: a cold instance loading ioredis and connecting on a busy
      // machine must not run out of it. Closed, so a Redis that failed shows as 503, not as a
      // request let through.
      REDIS_TIMEOUT_MS: '10000',
      REDIS_FAILURE_POLICY: 'closed',
      RATE_LIMIT_MAX: '2',
      MOCK_TOKEN_DELAY_MS: '0',
    };
    const [first, second] = await Promise.all([
      startLambdaFunction({ taskRoot, env }),
      startLambdaFunction({ taskRoot, env }),
    ]);
    const status = async (fn: typeof first) => {
      const invocation = fn.invoke(functionUrlEvent({ path: '/api/completions', body: chat() }));
      const { status } = await invocation.response;
      await invocation.settled;
      return status;
    };
    expect([await status(first), await status(first)]).toEqual([200, 200]);
    // Another instance (another process) sees the same count: the limit is per client, not per instance.
    expect(await status(second)).toBe(429);
    expect(first.logs.filter((line) => line.event === 'limit_store')).toEqual([
      expect.objectContaining({ kind: 'redis' }),
    ]);
    expect([...first.logs, ...second.logs].filter((line) => line.event === 'redis_unavailable')).toEqual([]);
  });
});
