import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { Hono } from 'hono';
import { defaultIsContentTypeBinary, handle } from 'hono/aws-lambda';
import { createApp } from '../src/app.ts';
import { type Bindings, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import type { UpstreamTransport } from '../src/upstream/transport.ts';
import { isRestApiEvent, streamingHandler } from './lambda/stream-handler.ts';
import { nodeStores } from './node/node-stores.ts';

/**
 * AWS Lambda entry, bundled to dist/lambda/index.mjs (`npm run build:lambda`). `handler` streams
 * through a Function URL in RESPONSE_STREAM mode; `apiGatewayHandler` answers API Gateway REST
 * (v1) and HTTP API (v2) events whole, as API Gateway buffers responses anyway.
 */

// An execution environment's variables never change: read them once, at cold start.
const bindings: Bindings = { ...process.env };
// A bad variable fails the init, naming it, rather than every request after it.
const config = loadConfig(bindings);
// Bare JSON lines: the runtime's console would prefix time, request id and level, hiding the JSON from CloudWatch.
const writeLog = (line: string) => void process.stdout.write(`${line}\n`);
const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, write: writeLog });
// Limits shared across instances need Redis; ioredis is only loaded (a cold-start cost) when one is set.
const stores = await nodeStores(config, log);

// Handed over beside each request: the client's address, and the invocation's deadline, so
// streams still open just before the function times out end with an error event and a log line.
const addresses = new WeakMap<Request, string>();
const deadlines = new WeakMap<Request, AbortSignal>();
// node:http rather than the runtime's fetch: less CPU per upstream call, and a kept-alive socket
// that died while the environment was frozen is retried (adapters/node/upstream-fetch.ts). Loaded
// at the first upstream call, so health checks and refusals never pay for it.
let nodeTransport: Promise<UpstreamTransport> | undefined;
const upstreamTransport: UpstreamTransport = async (request) => {
  nodeTransport ??= import('./node/upstream-fetch.ts').then((module) => module.upstreamFetch().transport);
  return (await nodeTransport)(request);
};
const app = createApp({
  config,
  log,
  stores,
  clientAddress: (request) => addresses.get(request),
  shutdownSignal: (request) => deadlines.get(request),
  upstreamTransport,
});

export const handler = streamingHandler({
  log,
  fetch(request, { event, executionContext, deadline }) {
    const address = isRestApiEvent(event)
      ? event.requestContext.identity.sourceIp
      : event.requestContext.http.sourceIp;
    addresses.set(request, address);
    deadlines.set(request, deadline);
    return app.fetch(request, undefined, executionContext);
  },
});

type ApiGatewayEnv = {
  Bindings: {
    requestContext: APIGatewayProxyEvent['requestContext'] | APIGatewayProxyEventV2['requestContext'];
  };
};

// Stock `handle` hands the app the event as its env: this bridge keeps the event out of the app and
// hands over the client's address.
const apiGateway = new Hono<ApiGatewayEnv>().all('*', (c) => {
  const context = c.env.requestContext;
  const address = 'http' in context ? context.http.sourceIp : context.identity?.sourceIp;
  if (address) addresses.set(c.req.raw, address);
  return app.fetch(c.req.raw);
});

export const apiGatewayHandler = handle(apiGateway, {
  // Stock counts text/event-stream as binary and base64-encodes it, which a REST API passes on as is.
  isContentTypeBinary: (type) => !type.startsWith('text/') && defaultIsContentTypeBinary(type),
});
