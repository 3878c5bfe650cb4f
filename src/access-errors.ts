import { GatewayError } from './errors.ts';

// The gateway's own refusals, in OpenAI's shape and with OpenAI's codes where OpenAI has one, so
// SDKs raise the same typed errors (AuthenticationError, RateLimitError) they raise for OpenAI.

export const missingApiKey = () =>
  new GatewayError({
    status: 401,
    type: 'invalid_request_error',
    code: 'missing_api_key',
    message: 'No API key was sent: use the header Authorization: Bearer <key>, or x-api-key: <key>',
    headers: { 'WWW-Authenticate': 'Bearer' },
  });

/** Says nothing about the key that was sent: not even a masked part of it. */
export const invalidApiKey = () =>
  new GatewayError({
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'The API key is not valid for this gateway',
    headers: { 'WWW-Authenticate': 'Bearer' },
  });

export const requestLimitReached = (limit: number, windowMs: number) =>
  new GatewayError({
    status: 429,
    // OpenAI's own type for a requests-per-window limit.
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: `Rate limit reached: ${limit} requests per ${windowMs / 1000} s; retry after the Retry-After header's seconds`,
  });

export const tokenLimitReached = (limit: number, windowMs: number, headers: Record<string, string>) =>
  new GatewayError({
    status: 429,
    type: 'tokens',
    code: 'rate_limit_exceeded',
    message: `Token limit reached: ${limit} tokens per ${windowMs / 1000} s; retry after the Retry-After header's seconds`,
    headers,
  });

export const limitsUnavailable = () =>
  new GatewayError({
    status: 503,
    type: 'server_error',
    code: 'limits_unavailable',
    message: 'The gateway cannot check rate limits right now; retry shortly',
    headers: { 'Retry-After': '1' },
  });

export const modelNotAllowed = (model: string, allowed: string[]) =>
  new GatewayError({
    status: 400,
    type: 'invalid_request_error',
    code: 'model_not_allowed',
    param: 'model',
    message: `The model ${JSON.stringify(model.slice(0, 100))} is not available here; use one of: ${allowed.join(', ')}`,
  });
