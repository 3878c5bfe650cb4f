import type { Context } from 'hono';
import { limitsUnavailable } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { StoreUnavailableError } from '../stores/stores.ts';

/** Whom a limit counts: the client key when there is one, else the address. */
export const limitKeyOf = (c: Context<AppEnv>) => {
  const keyId = c.get('keyId');
  return keyId ? `key:${keyId}` : `ip:${c.get('clientIp')}`;
};

/** What a limit does when its shared store did not answer. */
export type StoreFailurePolicy = (c: Context<AppEnv>, error: unknown) => void;

/**
 * REDIS_FAILURE_POLICY for a store that did not answer: `open` serves the request without the
 * limit (the access log line says so; the store logged the outage once), `closed` refuses it with a
 * 503. Anything else that was thrown is a bug, and is thrown on.
 */
export const storeFailurePolicy =
  (policy: Config['REDIS_FAILURE_POLICY']): StoreFailurePolicy =>
  (c, error) => {
    if (!(error instanceof StoreUnavailableError)) throw error;
    if (policy === 'closed') throw limitsUnavailable();
    c.get('logFields').limits = 'unavailable';
  };
