import * as z from './zod-mini.ts';

/** One configured client key: its secret (GATEWAY_API_KEYS) or its SHA-256 (GATEWAY_API_KEY_HASHES). */
export type ClientKeySpec = { name: string | null } & ({ key: string } | { sha256: string });

/** A key ready to compare: `id` is what logs, limits and usage name it by; never the key itself. */
export type ClientKey = { id: string; digest: Uint8Array };

const NAME = /^[\w.-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;
// Shorter keys can be guessed online; 16 characters is already weak, so it is the floor.
const MIN_KEY_LENGTH = 16;

/**
 * `GATEWAY_API_KEYS` / `GATEWAY_API_KEY_HASHES`: comma-separated entries, each `name:value` or just
 * `value`. Error messages name the entry by position only, so no key reaches a log.
 */
export const clientKeyList = (form: 'key' | 'sha256') =>
  z.pipe(
    z.optional(z.string()),
    z.transform((text, ctx): ClientKeySpec[] => {
      const specs: ClientKeySpec[] = [];
      const names = new Set<string>();
      // zod/mini hands a transform the parse payload, which has no addIssue: issues go on its list.
      const addIssue = (message: string) => ctx.issues.push({ code: 'custom', message, input: text });
      const entries = (text ?? '').split(',').map((entry) => entry.trim());
      for (const [index, entry] of entries.entries()) {
        if (!entry) continue;
        const { name, value } = splitName(entry);
        const problem =
          form === 'key'
            ? value.length < MIN_KEY_LENGTH && `is shorter than ${MIN_KEY_LENGTH} characters`
            : !SHA256_HEX.test(value) && 'is not 64 hex digits (the SHA-256 of a key, e.g. from sha256sum)';
        if (problem) addIssue(`entry ${index + 1} ${problem}`);
        if (name && names.has(name)) addIssue(`the name ${name} is used twice`);
        if (name) names.add(name);
        specs.push(form === 'key' ? { name, key: value } : { name, sha256: value.toLowerCase() });
      }
      return specs;
    }),
  );

/** `alice:sk-...` names a key; a key that itself contains ':' therefore needs a name in front. */
function splitName(entry: string): { name: string | null; value: string } {
  const colon = entry.indexOf(':');
  const name = colon > 0 ? entry.slice(0, colon) : '';
  return NAME.test(name) ? { name, value: entry.slice(colon + 1) } : { name: null, value: entry };
}

/** Hashes the configured keys once; an empty table means the gateway is open. */
export async function clientKeyTable(config: {
  GATEWAY_API_KEYS: ClientKeySpec[];
  GATEWAY_API_KEY_HASHES: ClientKeySpec[];
}) {
  const specs = [...config.GATEWAY_API_KEYS, ...config.GATEWAY_API_KEY_HASHES];
  return Promise.all(
    specs.map(async (spec): Promise<ClientKey> => {
      const digest = 'key' in spec ? await sha256(spec.key) : fromHex(spec.sha256);
      // The id of an unnamed key is a prefix of its hash: stable, and the same in either form.
      return { id: spec.name ?? `key_${toHex(digest).slice(0, 12)}`, digest };
    }),
  );
}

/**
 * The id of the key `presented` matches, or null. Compares SHA-256 digests in constant time and
 * always walks the whole table, so timing says nothing about which entry, or how much, matched.
 */
export async function identifyClient(table: ClientKey[], presented: string): Promise<string | null> {
  const digest = await sha256(presented);
  let match: string | null = null;
  for (const candidate of table) {
    if (sameBytes(candidate.digest, digest)) match = candidate.id;
  }
  return match;
}

// Web Crypto, so the same code runs on Node, Lambda and Workers.
async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let index = 0; index < a.length; index++) difference |= (a[index] ?? 0) ^ (b[index] ?? 0);
  return difference === 0;
}

const toHex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
