import { describe, expect, it } from 'vitest';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

// Workers has no start-up that could refuse a bad variable: each request finds it instead.
const worker = await startWorker({ vars: { REQUEST_TIMEOUT: 'soon', LOG_LEVEL: 'loud' } });

describe('a bad variable on Workers', () => {
  it.each([
    ['GET', '/api/health'],
    ['POST', '/api/completions/stream'],
  ])('answers %s %s with a JSON 500 that names no setting', async (method, path) => {
    const response = method === 'GET' ? await worker.get(path) : await worker.post(path, chat());
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = await response.json();
    expect(body).toEqual({
      error: {
        message: expect.stringContaining('misconfigured'),
        type: 'server_error',
        param: null,
        code: 'config_error',
      },
    });
    expect(JSON.stringify(body)).not.toMatch(/REQUEST_TIMEOUT|LOG_LEVEL/);
    expect(worker.upstream.requests).toHaveLength(0);
  });

  it('logs an error line that names each bad variable and what it held', async () => {
    await (await worker.get('/api/health')).text();
    await waitFor(() => worker.logs.some((line) => line.event === 'config_error'));
    const line = worker.logs.find((entry) => entry.event === 'config_error');
    expect(line).toMatchObject({ level: 'error' });
    expect(line?.message).toMatch(/REQUEST_TIMEOUT: .*got "soon"/);
    expect(line?.message).toMatch(/LOG_LEVEL: .*got "loud"/);
  });
});
