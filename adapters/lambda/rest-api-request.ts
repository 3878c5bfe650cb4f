import type { APIGatewayProxyEvent } from 'aws-lambda';
import { latin1Safe } from './header-value.ts';

/**
 * A Web Request from an API Gateway REST API proxy event (payload format 1.0), which is what a
 * REST API with `responseTransferMode: STREAM` sends to a streaming function. Carries `signal`,
 * like the Function URL request, so the upstream call stops when the response stream fails.
 */
export function requestFromRestApiEvent(event: APIGatewayProxyEvent, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const value of values ?? []) headers.append(name, latin1Safe(value));
  }
  if (!event.multiValueHeaders) {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers.set(name, latin1Safe(value));
    }
  }
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const value of values ?? []) query.append(name, value);
  }
  const search = query.size ? `?${query}` : '';
  const hasBody = event.body != null && event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD';
  const body = hasBody ? Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8') : undefined;
  if (body) headers.set('content-length', String(body.byteLength));
  // `path` is the resource path without the stage, which is what the app routes on.
  const host = event.requestContext.domainName ?? headers.get('host') ?? 'localhost';
  return new Request(`https://${host}${event.path}${search}`, {
    method: event.httpMethod,
    headers,
    body,
    signal,
  });
}
