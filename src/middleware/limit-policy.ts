import type { Context } from 'hono';
import { limitsUnavailable } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import { StoreUnavailableError } from '../stores/stores.ts';

/** Whom a limit counts: the client key when there is one, else the address. */
export const limitKeyOf = (c: Context<AppEnv>) => {
  const keyId = c.get('keyId');
  return keyId ? `key:${keyId}` : `ip:${c.get('clientIp')}`;
};

/**
 * REDIS_FAILURE_POLICY for a store that did not answer: `open` serves the request without the
 * limit (the access log line says so; the store logged the outage once), `closed` refuses it with a
 * 503. Anything else that was thrown is a bug, and is thrown on.
 */
export function whenStoreFails(c: Context<AppEnv>, error: unknown): void {
  if (!(error instanceof StoreUnavailableError)) throw error;
  if (c.get('config').REDIS_FAILURE_POLICY === 'closed') throw limitsUnavailable();
  c.get('logFields').limits = 'unavailable';
}
