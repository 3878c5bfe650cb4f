import { type GatewayError, UpstreamResponseError, UpstreamStreamError } from '../errors.ts';

/**
 * What went wrong on one attempt, as metrics and logs name it, and what the pool does about it:
 * `retry` on the same upstream after a wait, the `other` upstreams at once, or `stop` (the client's own
 * error, or the client gone: nothing more is sent).
 */
export type Failure = {
  kind:
    | 'connection'
    | 'timeout'
    | 'stream'
    | 'rate_limited'
    | 'auth'
    | `status_${number}`
    | 'client'
    | 'gateway';
  next: 'retry' | 'other' | 'stop';
  /** A 429's Retry-After, in ms. */
  retryAfterMs: number | null;
};

// Worth another attempt, on this upstream or the next; 401/403 are its key's fault, so the next.
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

export function failureOf(error: GatewayError): Failure {
  if (error.origin === 'client') return { kind: 'client', next: 'stop', retryAfterMs: null };
  const response = error.cause instanceof UpstreamResponseError ? error.cause : null;
  if (response) {
    const { status } = response;
    if (status === 401 || status === 403) return { kind: 'auth', next: 'other', retryAfterMs: null };
    if (status === 429)
      return { kind: 'rate_limited', next: 'retry', retryAfterMs: retryAfterMs(response.retryAfter) };
    return { kind: `status_${status}`, next: RETRYABLE.has(status) ? 'retry' : 'stop', retryAfterMs: null };
  }
  if (error.origin !== 'upstream') return { kind: 'gateway', next: 'stop', retryAfterMs: null };
  if (error.code === 'upstream_timeout') return { kind: 'timeout', next: 'retry', retryAfterMs: null };
  if (error.cause instanceof UpstreamStreamError)
    return { kind: 'stream', next: 'retry', retryAfterMs: null };
  return { kind: 'connection', next: 'retry', retryAfterMs: null };
}

/** Retry-After as seconds or an HTTP date (RFC 9110), in ms from now; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
