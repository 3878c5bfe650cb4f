import type { MiddlewareHandler } from 'hono';
import { missingApiKey } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import { type ClientKey, clientKeyTable, identifyClient } from '../client-keys.ts';
import type { Config } from '../config.ts';
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
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  const tables = new WeakMap<Config, Promise<ClientKey[]>>();
  return async function requireAdmin(c, next) {
    const config = c.get('config');
    if (!config.ADMIN_API_KEY) throw adminDisabled();
    let table = tables.get(config);
    if (!table) {
      table = clientKeyTable({
        GATEWAY_API_KEYS: [{ name: 'admin', key: config.ADMIN_API_KEY }],
        GATEWAY_API_KEY_HASHES: [],
      });
      tables.set(config, table);
    }
    const presented = presentedKey(c.req.raw.headers);
    if (!presented) throw missingApiKey();
    if (!(await identifyClient(await table, presented))) throw adminOnly();
    await next();
  };
}
