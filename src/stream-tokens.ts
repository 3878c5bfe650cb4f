import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/**
 * Short-lived signed links for EventSource, which can only GET and cannot send headers: the
 * request travels inside an HMAC-signed token instead of a long-lived key in the URL. Web Crypto
 * only, so it is the same on Node, Lambda and Workers; stateless, so any instance that shares
 * STREAM_TOKEN_SECRET can serve the link.
 */
export type StreamTicket = {
  /** Random id, also the SSE `id:` the browser echoes back as Last-Event-ID on a reconnect. */
  id: string;
  /** Unix seconds after which the link is refused. */
  exp: number;
  /** The validated completion request. */
  request: Record<string, unknown>;
  /** The client key that created the link, so limits and usage count against it. */
  keyId: string | null;
  /** A POST stream's resume link: it replays that stream's log, and never starts one. */
  resumeOnly?: true;
};

export type StreamTokens = {
  sign(ticket: Omit<StreamTicket, 'id' | 'exp'>): Promise<{ token: string; ticket: StreamTicket }>;
  /**
   * The ticket, or null when the token is forged, malformed or expired more than `graceSeconds`
   * ago (a resume may come after the link's life, while the stream's log lives).
   */
  verify(token: string, graceSeconds?: number): Promise<StreamTicket | null>;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createStreamTokens({
  secret,
  ttlSeconds,
}: {
  secret: Uint8Array;
  ttlSeconds: number;
}): StreamTokens {
  let key: Promise<CryptoKey> | undefined;
  const hmacKey = () =>
    (key ??= crypto.subtle.importKey(
      'raw',
      secret as BufferSource,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    ));
  return {
    async sign(fields) {
      const ticket: StreamTicket = {
        id: crypto.randomUUID(),
        // Rounded up: a link lives at least the TTL (rounded down, one made late in a second
        // lived up to a second less, which with a short TTL could be almost nothing).
        exp: Math.ceil(Date.now() / 1000) + ttlSeconds,
        ...fields,
      };
      const payload = toBase64Url(encoder.encode(JSON.stringify(ticket)));
      const signature = await crypto.subtle.sign('HMAC', await hmacKey(), encoder.encode(payload));
      return { token: `${payload}.${toBase64Url(new Uint8Array(signature))}`, ticket };
    },
    async verify(token, graceSeconds = 0) {
      const [payload, signature, extra] = token.split('.');
      if (!payload || !signature || extra !== undefined) return null;
      const signatureBytes = fromBase64Url(signature);
      if (!signatureBytes) return null;
      // subtle.verify compares in constant time.
      const valid = await crypto.subtle.verify(
        'HMAC',
        await hmacKey(),
        signatureBytes as BufferSource,
        encoder.encode(payload),
      );
      if (!valid) return null;
      const bytes = fromBase64Url(payload);
      const ticket = bytes ? (JSON.parse(decoder.decode(bytes)) as StreamTicket) : null;
      return ticket && ticket.exp + graceSeconds > Date.now() / 1000 ? ticket : null;
    },
  };
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[\w-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * STREAM_TOKEN_SECRET, or a random secret for this instance only (links then work only where they
 * were made, which production is warned about).
 */
export function streamTokenSecret(
  { STREAM_TOKEN_SECRET, NODE_ENV }: Pick<Config, 'STREAM_TOKEN_SECRET' | 'NODE_ENV'>,
  log: Logger,
): Uint8Array {
  if (STREAM_TOKEN_SECRET) return new TextEncoder().encode(STREAM_TOKEN_SECRET);
  if (NODE_ENV === 'production') {
    log.warn('stream_token_secret_missing', {
      message:
        'STREAM_TOKEN_SECRET is not set: EventSource stream links work only on the instance that ' +
        'issued them. Set it (the same value on every instance) when running more than one.',
    });
  }
  return crypto.getRandomValues(new Uint8Array(32));
}
