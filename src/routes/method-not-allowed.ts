import type { Handler } from 'hono';
import { methodNotAllowed } from '../errors.ts';

/** Registered after a path's real handlers, so any other method gets a 405 with `Allow`. */
export const allowOnly =
  (...methods: string[]): Handler =>
  (c) => {
    throw methodNotAllowed(c.req.method, methods);
  };
