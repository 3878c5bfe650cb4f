import { describe, expect, it } from 'vitest';
import { chat, waitFor } from '../support/start-gateway.ts';
import { startWorker } from './support/start-worker.ts';

/**
 * GatewayCounters' alarm as workerd itself fires it (test/workers/gateway-counters.test.ts calls
 * it by hand, in Node): windows of a few seconds (long enough to read the object before they end, on a busy machine too), then the object is read through
 * test/workers/support/inspect-counters-worker.ts, the gateway with a read-only view of its storage.
 */
const KEY = 'sk-alarm-client-0123456789';
const worker = await startWorker({
  entrypoint: 'test/workers/support/inspect-counters-worker.ts',
  vars: {
    GATEWAY_API_KEYS: `alarmed:${KEY}`,
    RATE_LIMIT_MAX: '10',
    RATE_LIMIT_WINDOW_MS: '3000',
    TOKEN_LIMIT_MAX: '1000',
    TOKEN_LIMIT_WINDOW_MS: '4000',
  },
});
type Inspected = { hits: number; tokens: number; usage: number; alarm: number | null };
const inspect = async (name: string) => (await (await worker.get(`/__inspect/${name}`)).json()) as Inspected;

describe('the GatewayCounters alarm, fired by workerd', () => {
  it("deletes a client's windows once they have ended, and with them the object's storage", async () => {
    const before = Date.now();
    const response = await worker.post('/api/completions', chat(), {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe('9');
    await response.arrayBuffer();

    // The client's object (named by its key id) holds one request window and one token window,
    // with one alarm at the later end: at most the token window's 4 s away.
    const live = await inspect('key:alarmed');
    expect(live).toMatchObject({ hits: 1, tokens: 1, usage: 0 });
    expect(live.alarm).toBeGreaterThan(before);
    expect(live.alarm).toBeLessThanOrEqual(Date.now() + 4000);

    // Nothing calls the object again: only its alarm can empty it.
    const emptied = await waitFor(async () => {
      const state = await inspect('key:alarmed');
      return state.alarm === null && state.hits === 0 && state.tokens === 0 && state;
    });
    expect(emptied).toEqual({ hits: 0, tokens: 0, usage: 0, alarm: null });
    expect(Date.now()).toBeGreaterThanOrEqual(live.alarm ?? 0);

    // Usage lives in its own object, which keeps it (35 days): the client's alarm left it alone.
    expect((await inspect('usage')).usage).toBe(1);

    // And the client starts afresh.
    const again = await worker.post('/api/completions', chat(), {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(again.headers.get('ratelimit-remaining')).toBe('9');
    expect(again.headers.get('x-ratelimit-remaining-tokens')).toBe('1000');
  });
});
