import type { Context, MiddlewareHandler } from 'hono';
import { invalidApiKey, missingApiKey } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import { type ClientKey, identifyClient } from '../client-keys.ts';
import type { StreamTokens } from '../stream-tokens.ts';

type Options = {
  /** The hashed client keys (GATEWAY_API_KEYS / GATEWAY_API_KEY_HASHES); empty: the gateway is open. */
  keys: Promise<ClientKey[]>;
  streamTokens: StreamTokens;
  /** Where signed stream links are served (`GET <prefix><token>`): the link is their credential. */
  streamLinkPrefix: string;
  /** How long after its expiry a link may still resume its stream (STREAM_RESUME_TTL_SECONDS). */
  resumeGraceSeconds: number;
};

/**
 * Client keys, sent as `Authorization: Bearer` or `x-api-key`. Sets `keyId`, which limits and usage
 * count by. Registered after the public routes (health, playground, operator endpoints), so it
 * guards everything else, unknown paths included.
 */
// Keys that matched, so a client's every request does not hash its key again (a SHA-256 through
// WebCrypto was the largest single cost of an authenticated request). Bounded: a flood of distinct
// valid keys only empties it. Only matches are kept, so a guess always pays the full comparison.
const MATCHED_KEYS_KEPT = 1024;

export function authenticate({
  keys,
  streamTokens,
  streamLinkPrefix,
  resumeGraceSeconds,
}: Options): MiddlewareHandler<AppEnv> {
  const matched = new Map<string, string>();
  return async function authenticate(c, next) {
    if (c.req.method === 'GET' && c.req.path.startsWith(streamLinkPrefix)) {
      // EventSource cannot send headers. The link was signed here, with the id of the key that
      // created it, so limits and usage count against that key; the route refuses a bad link.
      // Accepted past its life only to resume: the route starts no stream on an expired link.
      const ticket = await streamTokens.verify(c.req.path.slice(streamLinkPrefix.length), resumeGraceSeconds);
      c.set('streamTicket', ticket);
      if (ticket?.keyId) identified(c, ticket.keyId);
      return next();
    }
    const table = await keys;
    if (table.length === 0) return next();
    const presented = presentedKey(c.req.raw.headers);
    if (!presented) throw missingApiKey();
    let keyId = matched.get(presented);
    if (!keyId) {
      keyId = (await identifyClient(table, presented)) ?? undefined;
      if (!keyId) throw invalidApiKey();
      if (matched.size >= MATCHED_KEYS_KEPT) matched.clear();
      matched.set(presented, keyId);
    }
    identified(c, keyId);
    await next();
  };
}

function identified(c: Context<AppEnv>, keyId: string) {
  c.set('keyId', keyId);
  c.get('logFields').key_id = keyId;
}

// RFC 6750's scheme is case-insensitive; the token is everything after it.
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function presentedKey(headers: Headers): string | null {
  const bearer = headers.get('authorization')?.match(BEARER)?.[1];
  return bearer || headers.get('x-api-key')?.trim() || null;
}
