import { describe, expect, it } from 'vitest';
import { chat } from '../support/start-gateway.ts';
import { createUpstreamTestApp } from '../support/test-app.ts';
import { errorOf } from './fixtures.ts';

const policy = {
  ALLOWED_MODELS: 'gpt-4o-mini, gpt-4o',
  DEFAULT_MODEL: 'gpt-4o-mini',
  MAX_TOKENS_CAP: '100',
  MAX_MESSAGES: '3',
  MAX_PROMPT_CHARS: '60',
};
const gateway = await createUpstreamTestApp({ bindings: policy });
const endpoints = ['/api/completions', '/api/completions/stream', '/v1/chat/completions'];
const sent = () => gateway.upstream.requests.at(-1)?.body;

async function expectRefused(body: unknown, status: number, error: Record<string, unknown>) {
  const before = gateway.upstream.requests.length;
  for (const path of endpoints) {
    const response = await gateway.post(path, body);
    expect(response.status).toBe(status);
    expect((await errorOf(response)).error).toMatchObject({ type: 'invalid_request_error', ...error });
  }
  expect(gateway.upstream.requests.length).toBe(before);
}

describe('ALLOWED_MODELS', () => {
  it('refuses another model with a 400 naming the allowed ones, on every endpoint', async () => {
    await expectRefused(chat('x', { model: 'gpt-4.5-preview' }), 400, {
      code: 'model_not_allowed',
      param: 'model',
      message: expect.stringContaining('gpt-4o-mini, gpt-4o'),
    });
  });

  it('forwards an allowed model, and DEFAULT_MODEL when the request names none', async () => {
    expect((await gateway.post('/api/completions', chat('x', { model: 'gpt-4o' }))).status).toBe(200);
    expect(sent()?.model).toBe('gpt-4o');
    expect((await gateway.post('/api/completions', chat('x'))).status).toBe(200);
    expect(sent()?.model).toBe('gpt-4o-mini');
  });

  it('lists only allowed models on /v1/models', async () => {
    const narrow = await createUpstreamTestApp({
      bindings: { ALLOWED_MODELS: 'gpt-4o', DEFAULT_MODEL: 'gpt-4o' },
    });
    const listed = await (await narrow.request('/v1/models')).json();
    expect(listed).toEqual({ object: 'list', data: [] });
    const all = await (await gateway.request('/v1/models')).json();
    expect(all.data.map((model: { id: string }) => model.id)).toEqual(['gpt-4o-mini']);
  });
});

describe('MAX_TOKENS_CAP', () => {
  it('clamps max_tokens and max_completion_tokens above the cap, and leaves lower ones alone', async () => {
    await gateway.post('/api/completions', chat('x', { max_tokens: 500 }));
    expect(sent()).toMatchObject({ max_tokens: 100 });
    await gateway.post('/v1/chat/completions', chat('x', { max_completion_tokens: 101 }));
    expect(sent()).toMatchObject({ max_completion_tokens: 100 });
    await gateway.post('/api/completions', chat('x', { max_tokens: 40 }));
    expect(sent()).toMatchObject({ max_tokens: 40 });
    expect(sent()).not.toHaveProperty('max_completion_tokens');
  });

  it('bounds a request that sets no limit with max_completion_tokens = the cap', async () => {
    await gateway.post('/api/completions/stream', chat('x'));
    expect(sent()).toMatchObject({ max_completion_tokens: 100 });
    expect(sent()).not.toHaveProperty('max_tokens');
  });

  it('refuses instead with MAX_TOKENS_RULE=reject', async () => {
    const strict = await createUpstreamTestApp({
      bindings: { MAX_TOKENS_CAP: '100', MAX_TOKENS_RULE: 'reject' },
    });
    const response = await strict.post('/api/completions', chat('x', { max_tokens: 101 }));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).error).toMatchObject({
      code: 'max_tokens_too_large',
      param: 'max_tokens',
    });
    expect(strict.upstream.requests).toHaveLength(0);
    expect((await strict.post('/api/completions', chat('x', { max_tokens: 100 }))).status).toBe(200);
  });
});

describe('prompt caps', () => {
  it('refuses more than MAX_MESSAGES messages', async () => {
    const messages = Array.from({ length: 4 }, () => ({ role: 'user', content: 'hi' }));
    await expectRefused({ messages }, 400, { code: 'too_many_messages', param: 'messages' });
  });

  it('refuses more than MAX_PROMPT_CHARS characters of text, in strings and in content parts', async () => {
    await expectRefused(chat('x'.repeat(61)), 400, { code: 'prompt_too_long', param: 'messages' });
    const parts = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'y'.repeat(40) },
            { type: 'text', text: 'z'.repeat(30) },
          ],
        },
      ],
    };
    await expectRefused(parts, 400, { code: 'prompt_too_long' });
    const fits = { messages: [{ role: 'user', content: 'x'.repeat(60) }] };
    expect((await gateway.post('/api/completions', fits)).status).toBe(200);
  });
});
