import { LONG_REPLY, LONG_REPLY_WORDS, type RecordedRequest } from './fake-upstream.ts';
import type { Harness } from './harness.ts';
import { sseEvents } from './sse.ts';
import { waitFor } from './wait-for.ts';

/**
 * A client that leaves mid-stream, as a closed tab or a cancelled fetch does: it reads `chunks`
 * delta frames of a long, slow reply from `/api/completions/stream` and aborts. Resolves once the
 * upstream saw its connection close before its reply was complete and the gateway wrote the
 * request's log line (which says whether the abort, not a timeout, ended it).
 */
export async function leaveMidStream(
  harness: Pick<Harness, 'post' | 'upstream' | 'logs'>,
  { body, chunks = 2, headers = {} }: { body: unknown; chunks?: number; headers?: Record<string, string> },
): Promise<{
  relayed: string;
  upstreamRequest: RecordedRequest;
  logLine: Record<string, unknown>;
  /** How many chunks the upstream had been asked to send in all. */
  replyChunks: number;
}> {
  const requestId = `leaves-${crypto.randomUUID()}`;
  harness.upstream.enqueue({ content: LONG_REPLY, chunkDelayMs: 50 });
  const client = new AbortController();
  const response = await harness.post('/api/completions/stream', body, {
    signal: client.signal,
    headers: { ...headers, 'x-request-id': requestId },
  });
  if (response.status !== 200) throw new Error(`stream refused: ${response.status} ${await response.text()}`);
  const frames = sseEvents(response);
  let relayed = '';
  for (let read = 0; read < chunks; read++) {
    const { value } = await frames.next();
    relayed += (JSON.parse(value?.data ?? '{}') as { content?: string }).content ?? '';
  }
  const upstreamRequest = harness.upstream.requests.at(-1);
  if (!upstreamRequest) throw new Error('the upstream received no request');
  client.abort();
  await waitFor(() => upstreamRequest.aborted, 10_000, 'the upstream saw the client leave');
  const logLine = await waitFor(
    () => harness.logs.find((line) => line.request_id === requestId),
    10_000,
    `the log line of ${requestId}`,
  );
  return { relayed, upstreamRequest, logLine, replyChunks: LONG_REPLY_WORDS };
}
