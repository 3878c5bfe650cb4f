import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { latin1Safe } from './header-value.ts';

/**
 * A Web Request from a Function URL event (payload format 2.0), carrying `signal` so the app can
 * stop its upstream call when the client is gone. The stock `hono/aws-lambda` builder makes one
 * without a signal, which is why this adapter builds its own.
 */
export function requestFromFunctionUrlEvent(event: LambdaFunctionURLEvent, signal: AbortSignal): Request {
  const { http, domainName } = event.requestContext;
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(name, latin1Safe(value));
  }
  // Function URLs move the Cookie header into `cookies`; the app expects it back as a header.
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const hasBody = event.body != null && http.method !== 'GET' && http.method !== 'HEAD';
  const body = hasBody ? Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8') : undefined;
  // The length of what the app will read, which for a base64 body is not what the client sent.
  if (body) headers.set('content-length', String(body.byteLength));
  return new Request(`https://${domainName}${event.rawPath}${query}`, {
    method: http.method,
    headers,
    body,
    signal,
  });
}
