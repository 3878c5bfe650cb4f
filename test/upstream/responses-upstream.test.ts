import { describe, expect, it } from 'vitest';
import { createUpstreamTestApp } from '../support/test-app.ts';

// The Responses API calls the gateway's own client makes, seen from the upstream's side, over
// `fetchTransport` (app.request()); test/responses.test.ts drives them with the official SDK over
// the Node adapter's node:http transport.
const gateway = await createUpstreamTestApp({
  bindings: { OPENAI_ORG_ID: 'org-test', OPENAI_PROJECT_ID: 'proj_test', DEFAULT_MODEL: 'gpt-4.1-mini' },
});
const sent = () => gateway.upstream.requests.at(-1)!;

describe('the upstream requests of the Responses API', () => {
  it('create: the key, organization and project, the default model, and what the client sent besides', async () => {
    const body = { input: 'Hi', tools: [{ type: 'web_search' }], reasoning: { effort: 'low' }, store: true };
    const response = await gateway.post('/v1/responses', body);
    expect(response.status).toBe(200);
    expect(sent()).toMatchObject({ method: 'POST', path: '/v1/responses' });
    expect(sent().headers).toMatchObject({
      authorization: 'Bearer sk-test-upstream-key',
      'openai-organization': 'org-test',
      'openai-project': 'proj_test',
      'content-type': 'application/json',
    });
    expect(sent().body).toEqual({ ...body, model: 'gpt-4.1-mini', stream: false });
  });

  it('the lifecycle: each route’s method and path, the query passed on, no body where there is none', async () => {
    const { id } = (await (
      await gateway.post('/v1/responses', { input: 'Hi', background: true })
    ).json()) as {
      id: string;
    };
    const calls: [string, string, string][] = [
      [
        'GET',
        `/v1/responses/${id}?include[]=message.output_text.logprobs`,
        `/v1/responses/${id}?include[]=message.output_text.logprobs`,
      ],
      [
        'GET',
        `/v1/responses/${id}/input_items?limit=5&order=asc`,
        `/v1/responses/${id}/input_items?limit=5&order=asc`,
      ],
      ['POST', `/v1/responses/${id}/cancel`, `/v1/responses/${id}/cancel`],
      ['DELETE', `/v1/responses/${id}`, `/v1/responses/${id}`],
    ];
    for (const [method, path, upstreamPath] of calls) {
      const response = await gateway.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(200);
      expect(sent()).toMatchObject({ method, path: upstreamPath, body: undefined });
      expect(sent().headers['content-type']).toBeUndefined();
      expect(sent().headers.authorization).toBe('Bearer sk-test-upstream-key');
    }
  });

  it('answers other methods with a 405 naming the allowed ones', async () => {
    const response = await gateway.request('/v1/responses', { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    const item = await gateway.request('/v1/responses/resp_1', { method: 'PUT' });
    expect(item.headers.get('allow')).toBe('GET, DELETE');
  });
});
