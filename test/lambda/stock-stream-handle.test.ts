import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { functionUrlEvent, type HttpRequest } from '../support/lambda-events.ts';
import { buildBundle, type LambdaFunction, startLambdaFunction } from '../support/lambda-function.ts';
import { readSse } from '../support/sse.ts';

// Each gap of hono/aws-lambda's streamHandle, shown on one fixture app served by the stock handler
// and by adapters/lambda/stream-handler.ts, both bundled and run under aws-lambda-ric.
const taskRoot = await buildBundle(fileURLToPath(new URL('./fixtures/gap-app.ts', import.meta.url)));
const start = (handler: 'stock' | 'ours') => startLambdaFunction({ taskRoot, handler: `index.${handler}` });
const [stock, ours] = await Promise.all([start('stock'), start('ours')]);

const call = async (fn: LambdaFunction, request: HttpRequest) => {
  const invocation = fn.invoke(functionUrlEvent(request));
  const response = await invocation.response;
  return { invocation, response, text: await response.text() };
};

describe('hono/aws-lambda streamHandle gaps, and the adapter closing them', () => {
  it("stock hands the app the Lambda event as its env; ours hands it the runtime's bindings", async () => {
    expect(JSON.parse((await call(stock, { path: '/env' })).text).keys).toEqual([
      'context',
      'event',
      'requestContext',
    ]);
    expect(JSON.parse((await call(ours, { path: '/env' })).text).keys).toEqual(['FROM']);
  });

  it('stock puts hop-by-hop headers in the prelude; ours leaves them out', async () => {
    const before = await call(stock, { path: '/sse' });
    expect(JSON.parse(before.invocation.prelude ?? '{}').headers).toMatchObject({
      'transfer-encoding': 'chunked',
      connection: 'keep-alive',
    });
    const after = await call(ours, { path: '/sse' });
    const headers = JSON.parse(after.invocation.prelude ?? '{}').headers;
    expect(headers['content-type']).toBe('text/event-stream');
    expect(headers).not.toHaveProperty('transfer-encoding');
    expect(headers).not.toHaveProperty('connection');
    expect(after.text).toBe(before.text);
  });

  it('stock answers an event it cannot read with a 200 octet-stream text; ours with a 400 JSON prelude', async () => {
    const malformed = { path: '/env', headers: { 'x-broken': 'line\nbreak' } };
    const before = await call(stock, malformed);
    expect(before.invocation.prelude).toBeUndefined();
    expect(before.response.status).toBe(200);
    expect(before.response.headers.get('content-type')).toBe('application/octet-stream');
    expect(before.text).toBe('Internal Server Error');
    const after = await call(ours, malformed);
    expect(after.response.status).toBe(400);
    expect(JSON.parse(after.text).error.type).toBe('invalid_request_error');
  });

  it('stock fails work handed to waitUntil; ours runs it before the invocation settles', async () => {
    const gate = await startGate();
    const after = { path: '/after', query: `release=${encodeURIComponent(gate.url)}` };
    expect((await call(stock, after)).response.status).toBe(500);
    const { invocation, response, text } = await call(ours, after);
    expect([response.status, text]).toEqual([200, 'ok']);
    // The whole response went out while the work still waits for the gate: it is not held back.
    expect(await invocation.finished).toMatchObject({ kind: 'streamed', aborted: false });
    await gate.requested;
    gate.open();
    // Settled means the runtime asked for its next event after everything the function printed,
    // so the work's line is there only if the invocation waited for the work.
    await invocation.settled;
    expect(ours.logs.filter((line) => line.event === 'work_done')).toHaveLength(1);
  });

  it('stock crashes the runtime when the body fails after headers; ours ends with an error event', async () => {
    const crashing = await start('stock');
    crashing.invoke(functionUrlEvent({ path: '/fails' }));
    expect(await crashing.exited).not.toBe(0);

    const invocation = ours.invoke(functionUrlEvent({ path: '/fails' }));
    const events = await readSse(await invocation.response);
    expect(events.map((event) => event.event)).toEqual(['message', 'message', 'error']);
    expect(JSON.parse(events.at(-1)?.data ?? '')).toEqual({
      error: { message: 'Internal server error', type: 'server_error', param: null, code: 'internal_error' },
    });
    await invocation.settled;
  });

  it('stock leaves the body running when the response stream drops; ours cancels it', async () => {
    for (const [handler, cancelled] of [
      ['stock', false],
      ['ours', true],
    ] as const) {
      const fn = await start(handler);
      const invocation = fn.invoke(functionUrlEvent({ path: '/slow' }));
      const reader = (await invocation.response).body?.getReader();
      await reader?.read();
      invocation.disconnect();
      // aws-lambda-ric itself exits on the dropped connection (an unhandled "socket hang up"):
      // once its output is read to the end, it has printed all it ever will.
      await fn.closed;
      expect(fn.logs.some((line) => line.event === 'frame')).toBe(true);
      expect(fn.logs.some((line) => line.event === 'body_cancelled')).toBe(cancelled);
    }
  });
});

/** An HTTP server on 127.0.0.1 that holds every request until `open()`; closed after the test. */
async function startGate() {
  const held: ServerResponse[] = [];
  let isOpen = false;
  let onRequest!: () => void;
  const requested = new Promise<void>((resolve) => {
    onRequest = resolve;
  });
  const server = createServer((_req, res) => {
    onRequest();
    if (isOpen) res.end('go');
    else held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requested,
    open() {
      isOpen = true;
      for (const res of held.splice(0)) res.end('go');
    },
  };
}
