import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, DEFAULT_USAGE } from '../support/fake-upstream.ts';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

// What only workerd shows. The streaming behaviour both runtimes share is one suite, run on Node
// and in workerd: test/completions-stream.test.ts.
const worker = await startWorker();

describe('the gateway in workerd', () => {
  it('starts without runtime warnings (compatibility date and flags are ones workerd accepts)', () => {
    const warnings = worker.runtimeMessages.filter((line) => line.level === 'warn' || line.level === 'error');
    expect(warnings).toEqual([]);
  });

  it('answers health with the upstream mode and a request id', async () => {
    const response = await worker.get('/api/health');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[\w-]{36}$/);
    expect(await response.json()).toMatchObject({ status: 'ok', mode: 'upstream' });
  });

  it('answers a JSON completion from the upstream, with the key sent as a secret', async () => {
    const response = await worker.post('/api/completions', chat('hi', { model: 'gpt-4.1' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^chatcmpl-fake-/),
      model: 'gpt-4.1',
      content: DEFAULT_REPLY,
      finish_reason: 'stop',
      usage: DEFAULT_USAGE,
    });
    const received = worker.upstream.requests.at(-1);
    expect(received?.headers.authorization).toBe('Bearer sk-test-upstream-key');
    expect(received?.body).toMatchObject({ model: 'gpt-4.1', stream: false });
  });

  // Cloudflare's edge sets CF-Connecting-IP on every request; locally workerd only fills it in when
  // the client sent none, so here the test plays the edge.
  it('logs the client address Cloudflare puts in CF-Connecting-IP', async () => {
    await worker.get('/api/health', {
      headers: { 'cf-connecting-ip': '203.0.113.9', 'x-request-id': 'workers-ip-1' },
    });
    const line = await waitFor(() => worker.logs.find((entry) => entry.request_id === 'workers-ip-1'));
    expect(line).toMatchObject({ event: 'request', path: '/api/health', client_ip: '203.0.113.9' });
  });
});
