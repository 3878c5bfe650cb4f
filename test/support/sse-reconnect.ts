import { request } from 'node:http';
import { type SseEvent, sseEvents } from './sse.ts';

/**
 * Opens an SSE stream over a raw socket, reads `events` events (comments and `retry:` frames
 * are none) and destroys the socket, as a network loss does: no FIN-less subtlety, just gone.
 * Returns the raw text read up to and including the last of those events.
 */
export function readThenDrop(
  url: string,
  { events, method = 'GET', headers = {}, body }: DropOptions,
): Promise<{ text: string; status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      let buffer = '';
      let seen = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1 && seen < events; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end + 2);
          buffer = buffer.slice(end + 2);
          text += frame;
          if (/^data:/m.test(frame)) seen++;
        }
        if (seen >= events) {
          req.destroy();
          resolve({ text, status: res.statusCode ?? 0, headers: res.headers });
        }
      });
      res.on('end', () => resolve({ text, status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end(body);
  });
}

type DropOptions = { events: number; method?: string; headers?: Record<string, string>; body?: string };

/** The events of an SSE text, parsed as EventSource does (a frame with no data, as `retry:`, is none). */
export async function eventsOf(text: string): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(new Response(text))) if (event.data !== '') events.push(event);
  return events;
}
