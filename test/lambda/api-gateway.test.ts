import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_REPLY, startFakeUpstream } from '../support/fake-upstream.ts';
import { apiGatewayV1Event, apiGatewayV2Event, type HttpRequest } from '../support/lambda-events.ts';
import { buildBundle, startLambdaFunction } from '../support/lambda-function.ts';
import { chat } from '../support/start-gateway.ts';

// apiGatewayHandler from the deployed bundle, under aws-lambda-ric: API Gateway buffers the answer.
const taskRoot = await buildBundle();
const upstream = await startFakeUpstream();
afterAll(() => upstream.close());
const fn = await startLambdaFunction({
  taskRoot,
  handler: 'index.apiGatewayHandler',
  env: { NODE_ENV: 'test', OPENAI_API_KEY: 'sk-test-upstream-key', OPENAI_BASE_URL: upstream.baseURL },
});

type Result = {
  statusCode: number;
  body: string;
  isBase64Encoded: boolean;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
};

async function call(event: unknown) {
  const invocation = fn.invoke(event);
  const finished = await invocation.finished;
  if (finished.kind !== 'buffered') throw new Error(`expected a buffered answer, got ${finished.kind}`);
  await invocation.settled;
  return finished.result as Result;
}

const events = {
  'REST API (v1)': (request: HttpRequest) => apiGatewayV1Event(request),
  'HTTP API (v2)': (request: HttpRequest) => apiGatewayV2Event(request),
};

describe.each(Object.entries(events))('apiGatewayHandler with %s events', (kind, eventOf) => {
  const header = (result: Result, name: string) =>
    result.headers?.[name] ?? result.multiValueHeaders?.[name]?.[0];

  it('answers the JSON endpoint', async () => {
    const result = await call(eventOf({ path: '/api/completions', body: chat() }));
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(false);
    expect(header(result, 'content-type')).toContain('application/json');
    expect(JSON.parse(result.body).content).toBe(DEFAULT_REPLY);
    if (kind.includes('v1')) expect(result.multiValueHeaders?.['content-type']).toHaveLength(1);
    else expect(result.headers?.['content-type']).toBeDefined();
  });

  it('answers the stream endpoint with its whole SSE body, as text', async () => {
    const result = await call(eventOf({ path: '/api/completions/stream', body: chat() }));
    expect(result.statusCode).toBe(200);
    expect(header(result, 'content-type')).toBe('text/event-stream; charset=utf-8');
    expect(result.isBase64Encoded).toBe(false);
    expect(result.body.startsWith('data: {"content":"Hello "}\n\n')).toBe(true);
    expect(result.body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('rejects an invalid body with 400 in OpenAI error shape', async () => {
    const result = await call(eventOf({ path: '/api/completions', body: { messages: 'hi' } }));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error.type).toBe('invalid_request_error');
  });

  it("logs the request context's source IP", async () => {
    const id = `apigw-${kind.includes('v1') ? 'v1' : 'v2'}-ip`;
    await call(eventOf({ path: '/api/health', sourceIp: '192.0.2.44', headers: { 'x-request-id': id } }));
    expect(fn.logs.find((line) => line.request_id === id)).toMatchObject({ client_ip: '192.0.2.44' });
  });
});
