/** One server-sent event as a client sees it, with when it arrived. */
export type SseEvent = { event: string; data: string; id?: string; at: number };

/** Reads a whole SSE body, frame by frame, keeping each frame's arrival time. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(response)) events.push(event);
  return events;
}

export async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  if (!response.body) throw new Error('response has no body');
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const event: SseEvent = { event: 'message', data: '', at: Date.now() };
      const data: string[] = [];
      const lines = block.split('\n');
      // A block of comments only (keepalives) is no event, as for any SSE client.
      if (lines.every((line) => line.startsWith(':'))) continue;
      for (const line of lines) {
        if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('id: ')) event.id = line.slice(4);
      }
      event.data = data.join('\n');
      yield event;
    }
  }
  if (buffer.trim()) throw new Error(`stream ended inside a frame: ${JSON.stringify(buffer)}`);
}

/** The text the `data: {"content"}` frames add up to. */
export const contentOf = (events: SseEvent[]) =>
  events
    .filter((event) => event.event === 'message' && event.data !== '[DONE]')
    .map((event) => (JSON.parse(event.data) as { content: string }).content)
    .join('');

/**
 * The exact body of a `/api/completions/stream` answer that relays `words` and ends normally: one
 * `data: {"content"}` frame per word, the usage event, `[DONE]`. Written from the README's
 * description of the format, not from the gateway's code, so a change to either shows here.
 */
export function expectedGatewayStream(
  words: string[],
  { promptTokens = 12, finishReason = 'stop' }: { promptTokens?: number; finishReason?: string } = {},
) {
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: words.length,
    total_tokens: promptTokens + words.length,
  };
  return [
    ...words.map((word) => `data: ${JSON.stringify({ content: word })}\n\n`),
    `event: usage\ndata: ${JSON.stringify({ finish_reason: finishReason, usage })}\n\n`,
    'data: [DONE]\n\n',
  ].join('');
}
