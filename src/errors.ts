import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** OpenAI's error body, so every OpenAI SDK parses the gateway's errors as it parses OpenAI's. */
export type ErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

type GatewayErrorInit = {
  status: ContentfulStatusCode;
  message: string;
  type: string;
  code?: string | null;
  param?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
  /** Whose failure it is: the gateway refusing, the upstream failing, or the client leaving. */
  origin?: 'gateway' | 'upstream' | 'client';
};

/** The one error family of the gateway; `onError` and the SSE relay render it. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly status: ContentfulStatusCode;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly origin: 'gateway' | 'upstream' | 'client';

  constructor(init: GatewayErrorInit) {
    super(init.message, { cause: init.cause });
    this.status = init.status;
    this.type = init.type;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.headers = init.headers ?? {};
    this.origin = init.origin ?? 'gateway';
  }

  toBody(): ErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new GatewayError({ status: 400, type: 'invalid_request_error', message, param, code });

export const notFound = (path: string) =>
  new GatewayError({
    status: 404,
    type: 'invalid_request_error',
    code: 'not_found',
    message: `No route for ${path}`,
  });

export const methodNotAllowed = (method: string, allowed: string[]) =>
  new GatewayError({
    status: 405,
    type: 'invalid_request_error',
    code: 'method_not_allowed',
    message: `Method ${method} is not allowed here; use ${allowed.join(', ')}`,
    headers: { Allow: allowed.join(', ') },
  });

export const payloadTooLarge = (limit: number) =>
  new GatewayError({
    status: 413,
    type: 'invalid_request_error',
    code: 'payload_too_large',
    message: `Request body is larger than ${limit} bytes`,
  });

/** Nothing from the upstream for REQUEST_TIMEOUT: no answer, or a stream gone quiet. */
export const timeoutError = (ms: number, cause?: unknown) =>
  new GatewayError({
    status: 504,
    type: 'timeout_error',
    code: 'upstream_timeout',
    message: `The upstream model sent nothing for ${ms} ms`,
    cause,
    origin: 'upstream',
  });

export const shuttingDown = () =>
  new GatewayError({
    status: 503,
    type: 'server_error',
    code: 'server_shutting_down',
    message: 'The gateway is shutting down; retry the request',
  });

const internal = (cause: unknown) =>
  new GatewayError({
    status: 500,
    type: 'server_error',
    code: 'internal_error',
    message: 'Internal server error',
    cause,
  });

export const upstreamUnavailable = (cause: unknown, detail: string) =>
  new GatewayError({
    status: 502,
    type: 'upstream_error',
    code: 'upstream_unavailable',
    message: `The upstream model service failed: ${detail}`,
    cause,
    origin: 'upstream',
  });

/** Why a stream failed before it committed (stream-commit.ts): the cause of its 502. */
export class UpstreamStreamError extends Error {
  override name = 'UpstreamStreamError';
}

/** A stream that failed before its first content: retried or passed on as a 502 (upstream-pool.ts). */
export const streamFailedBeforeContent = (detail: string, cause?: unknown) =>
  upstreamUnavailable(new UpstreamStreamError(detail, { cause }), detail);

/** Inside a stream, anything not already classified is the upstream breaking off, not our bug. */
export const upstreamStreamFailed = (error: GatewayError) =>
  error.status === 500 ? upstreamUnavailable(error.cause, 'the stream broke off') : error;

/** Upstream client errors keep their status; their message is OpenAI's own and safe to pass on. */
const PASSED_THROUGH = new Set([400, 401, 403, 404, 409, 422]);

/** The client left before the upstream answered: nginx's 499, which nobody reads; it names the outcome in the log. */
export const clientClosedRequest = (cause?: unknown) =>
  new GatewayError({
    status: 499 as ContentfulStatusCode,
    type: 'client_closed_request',
    code: 'client_closed_request',
    message: 'The client closed the request',
    cause,
    origin: 'client',
  });

/**
 * What the upstream answered with an error status, kept as the cause of the gateway's error: the
 * log line names the status, OpenAI's message and the upstream's `x-request-id` (what its support asks for).
 */
export class UpstreamResponseError extends Error {
  override name = 'UpstreamResponseError';
  readonly status: number;
  readonly requestID: string | null;
  /** OpenAI's `error` object from the body, when the body was JSON and had one. */
  readonly error: Record<string, unknown> | undefined;
  readonly retryAfter: string | null;

  constructor(
    status: number,
    bodyText: string,
    headers: { requestId: string | null; retryAfter: string | null },
  ) {
    const error = upstreamErrorObject(bodyText);
    const message = typeof error?.message === 'string' ? error.message : bodyText.trim().slice(0, 200);
    super(`${status} ${message || 'status code (no body)'}`);
    this.status = status;
    this.error = error;
    this.requestID = headers.requestId;
    this.retryAfter = headers.retryAfter;
  }
}

function upstreamErrorObject(text: string): Record<string, unknown> | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    return body && typeof body.error === 'object' && body.error !== null
      ? (body.error as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Turns anything thrown into a GatewayError; unknown errors become a generic 500. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof UpstreamResponseError) return fromUpstreamStatus(error);
  if (error instanceof HTTPException) {
    return new GatewayError({
      status: error.status,
      type: error.status >= 500 ? 'server_error' : 'invalid_request_error',
      // Hono's JSON validator is the one place that throws a bare 400: the body did not parse.
      code: error.status === 400 ? 'invalid_json' : null,
      message: error.message || 'Request failed',
      cause: error,
    });
  }
  return internal(error);
}

function fromUpstreamStatus(error: UpstreamResponseError): GatewayError {
  const status = error.status;
  const upstream = (error.error ?? {}) as {
    message?: unknown;
    type?: unknown;
    code?: unknown;
    param?: unknown;
  };
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  if (status === 429) {
    const { retryAfter } = error;
    return new GatewayError({
      status: 429,
      type: text(upstream.type) ?? 'rate_limit_error',
      code: text(upstream.code) ?? 'upstream_rate_limited',
      message: text(upstream.message) ?? 'The upstream model is rate limiting requests',
      headers: retryAfter ? { 'Retry-After': retryAfter } : {},
      cause: error,
      origin: 'upstream',
    });
  }
  if (PASSED_THROUGH.has(status)) {
    return new GatewayError({
      status: status as ContentfulStatusCode,
      // An upstream 401/403 means the gateway's own key is wrong: that is the operator's
      // problem, so the client gets a message that does not echo anything about the key.
      type: text(upstream.type) ?? 'invalid_request_error',
      code: status === 401 || status === 403 ? 'upstream_auth_failed' : text(upstream.code),
      param: text(upstream.param),
      message:
        status === 401 || status === 403
          ? 'The gateway could not authenticate with the upstream model service'
          : (text(upstream.message) ?? `The upstream model rejected the request (${status})`),
      cause: error,
      origin: 'upstream',
    });
  }
  return upstreamUnavailable(error, `status ${status}`);
}
