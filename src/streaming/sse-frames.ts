/** One SSE frame. `data` must be a single line: JSON.stringify output always is. */
export const frame = (data: string, event?: string) =>
  event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
} as const;
