import type { Context, MiddlewareHandler } from 'hono';
import { invalidApiKey, missingApiKey } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import { type ClientKey, clientKeyTable, identifyClient } from '../client-keys.ts';
import type { Config } from '../config.ts';

type Options = {
  /** Paths anyone may call (health): no key asked, and `keyId` stays null. */
  isPublic: (path: string) => boolean;
  /** Where signed stream links are served (`GET <prefix><token>`): the link is their credential. */
  streamLinkPrefix: string;
};

/**
 * Client keys from GATEWAY_API_KEYS / GATEWAY_API_KEY_HASHES, sent as `Authorization: Bearer` or
 * `x-api-key`. Sets `keyId`, which limits and usage count by. With no keys configured the gateway
 * is open, and says so once in production.
 */
export function authenticate({ isPublic, streamLinkPrefix }: Options): MiddlewareHandler<AppEnv> {
  const tables = new WeakMap<Config, Promise<ClientKey[]>>();
  return async function authenticate(c, next) {
    const config = c.get('config');
    let table = tables.get(config);
    if (!table) {
      table = clientKeyTable(config);
      tables.set(config, table);
      if (!config.GATEWAY_API_KEYS.length && !config.GATEWAY_API_KEY_HASHES.length) warnOpen(c);
    }
    c.set('keyId', null);
    c.set('streamTicket', null);
    if (c.req.method === 'GET' && c.req.path.startsWith(streamLinkPrefix)) {
      // EventSource cannot send headers. The link was signed here, with the id of the key that
      // created it, so limits and usage count against that key; the route refuses a bad link.
      const ticket = await c.get('streamTokens').verify(c.req.path.slice(streamLinkPrefix.length));
      c.set('streamTicket', ticket);
      if (ticket?.keyId) identified(c, ticket.keyId);
      return next();
    }
    const keys = await table;
    if (keys.length === 0 || isPublic(c.req.path)) return next();
    const presented = presentedKey(c.req.raw.headers);
    if (!presented) throw missingApiKey();
    const keyId = await identifyClient(keys, presented);
    if (!keyId) throw invalidApiKey();
    identified(c, keyId);
    await next();
  };
}

function identified(c: Context<AppEnv>, keyId: string) {
  c.set('keyId', keyId);
  c.get('logFields').key_id = keyId;
}

function warnOpen(c: Context<AppEnv>) {
  if (c.get('config').NODE_ENV !== 'production') return;
  c.get('log').warn('auth_disabled', {
    message:
      'PUBLIC_ACCESS=on and no GATEWAY_API_KEYS or GATEWAY_API_KEY_HASHES: anyone who can reach ' +
      'this gateway can use it, on your upstream account. Keep CORS_ORIGINS and a token budget ' +
      '(TOKEN_LIMIT_MAX) set, or set client keys.',
  });
}

// RFC 6750's scheme is case-insensitive; the token is everything after it.
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function presentedKey(headers: Headers): string | null {
  const bearer = headers.get('authorization')?.match(BEARER)?.[1];
  return bearer || headers.get('x-api-key')?.trim() || null;
}
