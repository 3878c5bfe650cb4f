import { createHash } from 'node:crypto';

/** Client keys for the access tests: long enough for the config's 16-character floor. */
export const ALICE = 'sk-gw-alice-0123456789abcdef';
export const BOB = 'sk-gw-bob-fedcba9876543210';
export const UNNAMED = 'sk-gw-unnamed-00112233445566';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** alice and the unnamed key in plain form, bob only as a hash. */
export const KEY_BINDINGS = {
  GATEWAY_API_KEYS: `alice:${ALICE}, ${UNNAMED}`,
  GATEWAY_API_KEY_HASHES: `bob:${sha256(BOB)}`,
};

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export type ErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

export const errorOf = async (response: Response) => (await response.json()) as ErrorBody;
