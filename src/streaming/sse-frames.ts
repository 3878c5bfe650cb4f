import type { GatewayError } from '../errors.ts';

const encoder = new TextEncoder();

/** One SSE frame. `data` must be a single line: JSON.stringify output always is. */
export function frame(data: string, event?: string): Uint8Array {
  return encoder.encode(event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
}

export function errorFrame(error: GatewayError): Uint8Array {
  return frame(JSON.stringify(error.toBody()), 'error');
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
} as const;
