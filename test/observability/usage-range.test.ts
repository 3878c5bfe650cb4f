import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_USAGE } from '../support/fake-upstream.ts';
import { chat } from '../support/start-gateway.ts';
import { createUpstreamTestApp } from '../support/test-app.ts';

// docs/observability.md, "Usage": totals over the whole hours that overlap [from, to), times as
// epoch milliseconds or ISO 8601, the last 24 hours by default, at most 31 days; requests without
// a client key count under `anonymous`. The clock is fixed (Date only: timers stay real, so the
// fake upstream answers as usual) at 12:30 UTC, when both completions are made.
const T0 = Date.UTC(2026, 10, 24, 12, 30);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ADMIN = 'admin-key-0123456789abcdef';

// No client keys: the gateway is open, and its usage is anonymous.
const gateway = await createUpstreamTestApp({ bindings: { ADMIN_API_KEY: ADMIN } });
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: T0 });
  for (const path of ['/api/completions', '/api/completions/stream']) {
    const response = await gateway.post(path, chat());
    expect(response.status).toBe(200);
    await response.text();
  }
});
afterAll(() => {
  vi.useRealTimers();
});

const usage = async (query: string) => {
  const response = await gateway.request(`/api/usage${query}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return { status: response.status, body: await response.json() };
};
const tally = (requests: number) => ({
  requests,
  prompt_tokens: DEFAULT_USAGE.prompt_tokens * requests,
  completion_tokens: DEFAULT_USAGE.completion_tokens * requests,
  total_tokens: DEFAULT_USAGE.total_tokens * requests,
  estimated_requests: 0,
});

describe('GET /api/usage ranges', () => {
  it('counts requests without a client key under `anonymous`', async () => {
    const { status, body } = await usage('');
    expect(status).toBe(200);
    expect(body.by_key).toEqual({ anonymous: tally(2) });
    expect(body.by_model).toEqual({ 'gpt-4o-mini': tally(2) });
    expect(body.total).toEqual(tally(2));
  });

  it('defaults to the last 24 hours, widened to whole hours', async () => {
    const { body } = await usage('');
    expect([body.from, body.to]).toEqual(['2026-11-23T12:00:00.000Z', '2026-11-24T13:00:00.000Z']);
  });

  it('takes ISO 8601 times, offsets included, and epoch milliseconds alike', async () => {
    const iso = await usage('?from=2026-11-24T12:59:00Z&to=2026-11-24T13:00:00Z');
    const offset = await usage(
      `?from=${encodeURIComponent('2026-11-24T13:59:00+01:00')}&to=2026-11-24T13:00:00Z`,
    );
    const epoch = await usage(`?from=${Date.UTC(2026, 10, 24, 12, 59)}&to=${Date.UTC(2026, 10, 24, 13)}`);
    for (const answer of [iso, offset, epoch]) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        from: '2026-11-24T12:00:00.000Z',
        to: '2026-11-24T13:00:00.000Z',
        total: tally(2),
      });
    }
  });

  it('counts whole hours: a minute of the hour finds all of it, the hours around it find nothing', async () => {
    expect((await usage('?from=2026-11-24T12:00:00Z&to=2026-11-24T12:00:00.001Z')).body.total).toEqual(
      tally(2),
    );
    const before = await usage('?from=2026-11-24T11:00:00Z&to=2026-11-24T12:00:00Z');
    expect(before.body).toMatchObject({ from: '2026-11-24T11:00:00.000Z', to: '2026-11-24T12:00:00.000Z' });
    expect(before.body.total).toEqual(tally(0));
    expect(before.body.by_key).toEqual({});
    expect((await usage('?from=2026-11-24T13:00:00Z&to=2026-11-24T14:00:00Z')).body.total).toEqual(tally(0));
  });

  it('spans at most 31 days', async () => {
    expect((await usage(`?from=${T0 - 31 * DAY}&to=${T0}`)).status).toBe(200);
    for (const query of [`?from=${T0 - 31 * DAY - 1}&to=${T0}`, `?from=${T0 - 40 * DAY}`]) {
      const { status, body } = await usage(query);
      expect(status).toBe(400);
      expect(body.error).toEqual({
        message: 'The range can span at most 31 days',
        type: 'invalid_request_error',
        param: 'from',
        code: 'invalid_value',
      });
    }
  });

  it.each([
    ['a time that is neither', '?from=yesterday', 'from'],
    ['an invalid to', '?to=2026-13-45', 'to'],
    ['from after to', `?from=${T0}&to=${T0 - HOUR}`, 'from'],
    ['an empty range', `?from=${T0}&to=${T0}`, 'from'],
  ])('refuses %s with a 400 naming the parameter', async (_name, query, param) => {
    const { status, body } = await usage(query);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_value' });
  });
});
