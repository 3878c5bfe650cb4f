import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';

// Mock mode: no upstream needed, and the socket is not the point.
const app = createApp({ writeLog: () => {} });
const bindings = { NODE_ENV: 'test', MOCK_TOKEN_DELAY_MS: '0' };

describe('paths', () => {
  it.each(['//api/health', '/api//health', '///api///health'])(
    'treats repeated slashes as one: %s',
    async (path) => {
      const response = await app.request(path, {}, bindings);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok' });
    },
  );

  it('routes a POST with a doubled slash to the same handler, body intact', async () => {
    const response = await app.request(
      '//api/completions',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      },
      bindings,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ finish_reason: 'stop' });
  });

  it('keeps the query string as sent', async () => {
    const response = await app.request('//v1//models?limit=//x', {}, bindings);
    expect(response.status).toBe(200);
    expect((await response.json()).object).toBe('list');
  });

  it('still answers an unknown path with a 404 that names the path as one slash', async () => {
    const response = await app.request('//nope', {}, bindings);
    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toBe('No route for /nope');
  });
});
