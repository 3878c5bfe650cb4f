import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { functionUrlEvent } from '../test/support/lambda-events.ts';

/**
 * One cold start, in a fresh process started by bench/lambda-cold-start.ts: import the bundle,
 * then serve one request through its streaming handler; prints the timings as one JSON line.
 * `awslambda` is a minimal stand-in here (prelude on first write, in-memory stream), so the
 * numbers are the bundle's own: no Runtime API, no HTTP between runtime and handler.
 */

const [file, path = '/api/health'] = process.argv.slice(2);
if (!file) throw new Error('usage: lambda-import-child.ts <bundle.mjs> [path]');

const bootMs = performance.now();
(globalThis as { awslambda?: unknown }).awslambda = {
  streamifyResponse: <T>(handler: T) => handler,
  HttpResponseStream: { from: (stream: Writable) => stream },
};
const module = (await import(pathToFileURL(file).href)) as {
  handler: (event: unknown, stream: Writable, context: unknown) => Promise<void>;
};
const importedMs = performance.now();

let firstByteMs = 0;
const body: Buffer[] = [];
const stream = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    if (chunk.length && !firstByteMs) firstByteMs = performance.now();
    body.push(chunk);
    callback();
  },
});
const event = functionUrlEvent(
  path === '/api/health' ? { path } : { path, body: { messages: [{ role: 'user', content: 'Say hello' }] } },
);
await module.handler(event, stream, { getRemainingTimeInMillis: () => 60_000 });
const respondedMs = performance.now();

console.log(
  JSON.stringify({
    bootMs,
    importMs: importedMs - bootMs,
    firstByteMs: firstByteMs - importedMs,
    responseMs: respondedMs - importedMs,
    coldMs: respondedMs - bootMs,
    bytes: Buffer.concat(body).length,
  }),
);
