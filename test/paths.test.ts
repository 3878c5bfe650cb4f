import { describe, expect, it } from 'vitest';
import { createTestApp } from './support/test-app.ts';

const gateway = createTestApp();

describe('paths', () => {
  it.each(['//api/health', '/api//health', '///api///health'])(
    'treats repeated slashes as one: %s',
    async (path) => {
      const response = await gateway.request(path);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok' });
    },
  );

  it('routes a POST with a doubled slash to the same handler, body intact', async () => {
    const response = await gateway.post('//api/completions', { messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ finish_reason: 'stop' });
  });

  it('keeps the query string as sent', async () => {
    const response = await gateway.request('//v1//models?limit=//x');
    expect(response.status).toBe(200);
    expect((await response.json()).object).toBe('list');
  });

  it('still answers an unknown path with a 404 that names the path as one slash', async () => {
    const response = await gateway.request('//nope');
    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toBe('No route for /nope');
  });
});
