import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, LambdaFunctionURLEvent } from 'aws-lambda';

/**
 * Events as Lambda delivers them, after the samples in the Lambda and API Gateway guides:
 * Function URL (payload 2.0), HTTP API (payload 2.0), REST API (payload 1.0).
 */

export type HttpRequest = {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  /** A string is sent as is, anything else as JSON. */
  body?: unknown;
  /** Send the body base64-encoded, as Function URLs do for content they consider binary. */
  base64?: boolean;
  sourceIp?: string;
  cookies?: string[];
};

const URL_ID = 'abcdefghij1234567890klmnopqrstuv';
const DOMAIN = `${URL_ID}.lambda-url.us-east-1.on.aws`;
export const CLIENT_IP = '198.51.100.23';

function bodyOf(request: HttpRequest) {
  if (request.body === undefined) return { body: undefined, isBase64Encoded: false };
  const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  return request.base64
    ? { body: Buffer.from(text).toString('base64'), isBase64Encoded: true }
    : { body: text, isBase64Encoded: false };
}

function headersOf(request: HttpRequest, host: string): Record<string, string> {
  const sourceIp = request.sourceIp ?? CLIENT_IP;
  return {
    accept: '*/*',
    host,
    'user-agent': 'curl/8.5.0',
    'x-amzn-trace-id': 'Root=1-6743a1b2-0123456789abcdef01234567',
    'x-forwarded-for': sourceIp,
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

const now = () => {
  const time = new Date();
  return { timeEpoch: time.getTime(), time: time.toUTCString() };
};

/** A Function URL invocation (auth type NONE), payload format 2.0. */
export function functionUrlEvent(request: HttpRequest): LambdaFunctionURLEvent {
  const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
  const headers = headersOf(request, DOMAIN);
  const query = request.query ?? '';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: query,
    ...(request.cookies ? { cookies: request.cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(query)) } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: URL_ID,
      domainName: DOMAIN,
      domainPrefix: URL_ID,
      http: {
        method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? CLIENT_IP,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: crypto.randomUUID(),
      routeKey: '$default',
      stage: '$default',
      ...now(),
    },
    ...bodyOf(request),
  } as LambdaFunctionURLEvent;
}

/** An HTTP API (API Gateway v2) invocation with payload format 2.0. */
export function apiGatewayV2Event(request: HttpRequest): APIGatewayProxyEventV2 {
  const event = functionUrlEvent(request);
  const domain = 'r4nd0m1d.execute-api.us-east-1.amazonaws.com';
  return {
    ...event,
    routeKey: '$default',
    headers: { ...event.headers, host: domain },
    requestContext: {
      ...event.requestContext,
      apiId: 'r4nd0m1d',
      domainName: domain,
      domainPrefix: 'r4nd0m1d',
    },
  };
}

/** A REST API (API Gateway v1) proxy invocation, payload format 1.0. */
export function apiGatewayV1Event(request: HttpRequest): APIGatewayProxyEvent {
  const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
  const domain = 'r4nd0m1d.execute-api.us-east-1.amazonaws.com';
  const headers = headersOf(request, domain);
  const query = new URLSearchParams(request.query ?? '');
  const multiQuery: Record<string, string[]> = {};
  for (const key of query.keys()) multiQuery[key] = query.getAll(key);
  return {
    resource: '/{proxy+}',
    path: request.path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: request.query ? Object.fromEntries(query) : null,
    multiValueQueryStringParameters: request.query ? multiQuery : null,
    pathParameters: { proxy: request.path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'r4nd0m1d',
      authorizer: undefined,
      domainName: domain,
      domainPrefix: 'r4nd0m1d',
      extendedRequestId: 'abcdefghijklmno=',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp ?? CLIENT_IP,
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/prod${request.path}`,
      protocol: 'HTTP/1.1',
      requestId: crypto.randomUUID(),
      requestTime: new Date().toUTCString(),
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath: '/{proxy+}',
      stage: 'prod',
    },
    ...bodyOf(request),
    body: bodyOf(request).body ?? null,
  };
}
