import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env.ts';
import { payloadTooLarge } from '../errors.ts';

/**
 * Bodies over MAX_BODY_BYTES get a 413. A declared Content-Length is checked as it stands (the
 * runtime's HTTP parser holds the body to it), as Hono's bodyLimit does, but without first reading
 * `c.req.raw.body`: on Node that builds a full Request and moves the body onto a web stream, for
 * every request. Only a chunked body, whose size is known once read, goes through bodyLimit.
 */
export function bodySizeLimit({ maxBytes }: { maxBytes: number }): MiddlewareHandler<AppEnv> {
  const chunked = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw payloadTooLarge(maxBytes);
    },
  });
  return async function bodySizeLimit(c, next) {
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number.parseInt(declared, 10) > maxBytes) throw payloadTooLarge(maxBytes);
      return next();
    }
    return chunked(c, next);
  };
}
