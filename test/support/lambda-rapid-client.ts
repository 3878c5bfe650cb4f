import { Agent, request } from 'node:http';
import { NEXT_INVOCATION_MARKER } from './lambda-runtime-api.ts';

/**
 * Stands in for aws-lambda-ric's native `rapid-client.node` (aws-lambda-cpp over libcurl), which
 * takes minutes to compile, so the package is installed without its scripts (test/lambda-runtime).
 * Same three calls, same shapes; everything else the runtime does (loading the handler, `awslambda`,
 * the streamed response, the prelude) is the real aws-lambda-ric code. Loaded by lambda-ric-hooks.ts.
 */

const [hostname, port] = (process.env.AWS_LAMBDA_RUNTIME_API ?? '').split(':');
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const BASE = '/2018-06-01/runtime/invocation';
// The native done() and error() block until the Runtime API answered; next() waits for them instead.
let posting: Promise<unknown> = Promise.resolve();
let previousId = '';

export async function next() {
  await posting;
  // The previous invocation is over: a line after everything it printed, on the same pipe, so the
  // tests know when they have read all of its output (lambda-function.ts). A pipe's writes are
  // synchronous on Linux, so the line is written before the request below is sent.
  process.stdout.write(`${NEXT_INVOCATION_MARKER}${previousId}\n`);
  const { status, headers, body } = await call('GET', `${BASE}/next`);
  if (status !== 200) throw new Error(`Failed to get next invocation, error ${status}`);
  previousId = String(headers['lambda-runtime-aws-request-id'] ?? '');
  const named: Record<string, string | number> = {
    'lambda-runtime-deadline-ms': Number(headers['lambda-runtime-deadline-ms']),
  };
  for (const name of [
    'lambda-runtime-aws-request-id',
    'lambda-runtime-trace-id',
    'lambda-runtime-invoked-function-arn',
    'lambda-runtime-client-context',
    'lambda-runtime-cognito-identity',
    'lambda-runtime-aws-tenant-id',
  ]) {
    const value = headers[name];
    if (typeof value === 'string' && value) named[name] = value;
  }
  return { bodyJson: body, headers: named };
}

export function done(id: string, body: string) {
  posting = posting.then(() => call('POST', `${BASE}/${id}/response`, body));
  return null;
}

export function error(id: string, body: string, xrayCause: string) {
  const errorType = (JSON.parse(body) as { errorType?: string }).errorType ?? 'Runtime.Unknown';
  posting = posting.then(() =>
    call('POST', `${BASE}/${id}/error`, body, {
      'lambda-runtime-function-error-type': errorType,
      'lambda-runtime-function-xray-error-cause': xrayCause,
    }),
  );
  return null;
}

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(
        {
          hostname,
          port: Number(port),
          path,
          method,
          agent,
          headers: { 'content-type': 'application/json', ...headers },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(parts).toString(),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  );
}
