import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler } from 'hono';
import { GatewayError, invalidRequest } from '../errors.ts';
import type { ZodMiniType } from '../zod-mini.ts';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Whether a Content-Type header declares JSON (`application/json`, `application/*+json`). */
export const declaresJson = (contentType: string | undefined) =>
  JSON_MEDIA_TYPE.test((contentType ?? '').split(';')[0]?.trim() ?? '');

/**
 * Validates a JSON body with zod; a failure is a 400 whose message and `param` name the first
 * offending field, as OpenAI's own errors do.
 */
export function validateJson<Schema extends ZodMiniType>(schema: Schema) {
  return zValidator('json', schema, (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const param = issue ? paramName(issue.path) : null;
    throw invalidRequest(
      param ? `Invalid ${param}: ${issue?.message}` : `Invalid request body: ${issue?.message}`,
      param,
      'invalid_value',
    );
  });
}

/** A body that is not declared as JSON is refused (415) before anything reads it. */
export const requireJson: MiddlewareHandler = async function requireJson(c, next) {
  if (!declaresJson(c.req.header('content-type'))) {
    throw new GatewayError({
      status: 415,
      type: 'invalid_request_error',
      code: 'unsupported_media_type',
      message: 'Send the request body as JSON with Content-Type: application/json',
    });
  }
  await next();
};

/** `['messages', 0, 'role']` -> `messages[0].role` */
function paramName(path: PropertyKey[]): string | null {
  let name = '';
  for (const key of path) {
    name += typeof key === 'number' ? `[${key}]` : `${name ? '.' : ''}${String(key)}`;
  }
  return name || null;
}
