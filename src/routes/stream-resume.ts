import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { StreamTokens } from '../stream-tokens.ts';
import type { ResumableStreams } from '../streaming/resumable-streams.ts';
import { SSE_HEADERS } from '../streaming/sse-frames.ts';

/** Asks for a resumable POST stream; the answer names its resume link. */
export const RESUME_REQUEST_HEADER = 'x-stream-resume';
export const RESUME_URL_HEADER = 'X-Stream-Resume-Url';

export type ResumeLinks = { streamTokens: StreamTokens; resumable: ResumableStreams };

/**
 * For `POST /api/completions/stream` with `X-Stream-Resume: on`: a signed link bound to the
 * client's key, which replays the stream's log (GET with `Last-Event-ID: <data frames read>`) and
 * never starts a stream. Null when the client did not ask, so other streams pay nothing.
 */
export async function resumeLinkFor(c: Context<AppEnv>, { streamTokens, resumable }: ResumeLinks) {
  const asked = c.req.header(RESUME_REQUEST_HEADER)?.trim().toLowerCase();
  if (!asked || !['on', '1', 'true', 'yes'].includes(asked)) return null;
  const { token, ticket } = await streamTokens.sign({ request: {}, keyId: c.get('keyId'), resumeOnly: true });
  await resumable.open(ticket.id);
  c.get('logFields').stream_id = ticket.id;
  return { id: ticket.id, url: `/api/streams/${token}` };
}

/** A reconnect's answer: the log after `after`, or 204 (EventSource then stops) when it is gone. */
export async function resumeFromLog(
  c: Context<AppEnv>,
  resumable: ResumableStreams,
  { id, after, withIds, prelude }: { id: string; after: number; withIds: boolean; prelude?: string },
) {
  Object.assign(c.get('logFields'), { stream_id: id, resumed_after: after });
  const stream = await resumable.resume(id, after, { withIds, ...(prelude ? { prelude } : {}) });
  if (!stream) return c.body(null, 204);
  return c.body(stream, 200, SSE_HEADERS);
}
