import { describe, expect, it, vi } from 'vitest';
import { readSse } from '../support/sse.ts';
import { chat, startGateway } from '../support/start-gateway.ts';

// The one accounting step with no store of its own to report it: estimating usage when the
// upstream sent none. Made to fail here, as a bug in it would.
vi.mock('../../src/usage/estimate-tokens.ts', () => ({
  estimateUsage: () => {
    throw new Error('estimate unavailable');
  },
}));

const gateway = await startGateway({ upstreamDefaults: { omitUsage: true } });
const lineOf = (id: string) => gateway.logs.find((line) => line.request_id === id);

describe('when accounting a completion fails', () => {
  it('a stream still ends with every frame and [DONE], and its line says so at level error', async () => {
    const response = await gateway.post('/api/completions/stream', chat(), {
      headers: { 'x-request-id': 'unaccounted-stream' },
    });
    const events = await readSse(response);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(events.filter((event) => event.event === 'error')).toEqual([]);
    expect(lineOf('unaccounted-stream')).toMatchObject({
      level: 'error',
      outcome: 'ok',
      usage_error: 'Error: estimate unavailable',
    });
  });

  it('a JSON completion is still answered, and its line says so at level error', async () => {
    const response = await gateway.post('/api/completions', chat(), {
      headers: { 'x-request-id': 'unaccounted-json' },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { content: string }).content).toMatch(/\S/);
    expect(lineOf('unaccounted-json')).toMatchObject({
      level: 'error',
      status: 200,
      usage_error: 'Error: estimate unavailable',
    });
  });
});
