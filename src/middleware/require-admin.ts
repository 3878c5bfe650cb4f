import type { MiddlewareHandler } from 'hono';
import { missingApiKey } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import { clientKeyTable, identifyClient } from '../client-keys.ts';
import { GatewayError } from '../errors.ts';
import { presentedKey } from './authenticate.ts';

const adminOnly = () =>
  new GatewayError({
    status: 403,
    type: 'invalid_request_error',
    code: 'admin_key_required',
    message: 'This endpoint needs the gateway’s admin key (ADMIN_API_KEY)',
  });

const adminDisabled = () =>
  new GatewayError({
    status: 403,
    type: 'invalid_request_error',
    code: 'admin_disabled',
    message: 'Set ADMIN_API_KEY to use the usage and metrics endpoints',
  });

/**
 * The operator's endpoints (usage, metrics) take ADMIN_API_KEY, compared like client keys (SHA-256
 * digests, constant time): 401 without a key, 403 with any other key, client keys included.
 */
export function requireAdmin({ adminKey }: { adminKey: string | undefined }): MiddlewareHandler<AppEnv> {
  const table =
    adminKey &&
    clientKeyTable({ GATEWAY_API_KEYS: [{ name: 'admin', key: adminKey }], GATEWAY_API_KEY_HASHES: [] });
  return async function requireAdmin(c, next) {
    if (!table) throw adminDisabled();
    const presented = presentedKey(c.req.raw.headers);
    if (!presented) throw missingApiKey();
    if (!(await identifyClient(await table, presented))) throw adminOnly();
    await next();
  };
}
