import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

// Its own file: each file's workers are counted and stopped together when the file ends.
const worker = await startWorker({ vars: { REDIS_URL: 'redis://127.0.0.1:1' } });

describe('REDIS_URL on Workers', () => {
  it('is refused (a Worker cannot open Redis) instead of quietly counting per isolate', async () => {
    const response = await worker.get('/api/health');
    expect(response.status).toBe(500);
    expect((await response.json()).error.code).toBe('config_error');
    await waitFor(() => worker.logs.some((line) => line.event === 'config_error'));
    expect(worker.logs.find((line) => line.event === 'config_error')?.message).toContain(
      'REDIS_URL is set, but a Worker cannot open a Redis connection',
    );
  });
});
