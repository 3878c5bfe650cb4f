import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { GatewayError, invalidRequest } from '../errors.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import type { StreamTicket, StreamTokens } from '../stream-tokens.ts';
import { gatewayFrames } from '../streaming/gateway-frames.ts';
import { type ResumableStreams, resumePosition } from '../streaming/resumable-streams.ts';
import type { AllowedChatRequest } from '../upstream/chat-upstream.ts';
import { CompletionRequest } from './completion-request.ts';
import type { CompletionRunner } from './completion-runner.ts';
import { allowOnly } from './method-not-allowed.ts';
import { resumeFromLog } from './stream-resume.ts';

type Options = {
  chatRequest: (body: CompletionRequest) => AllowedChatRequest;
  completions: CompletionRunner;
  streamTokens: StreamTokens;
  resumable: ResumableStreams;
};

// Past this, some proxies and browsers refuse the URL; such prompts belong in a POST stream.
const MAX_LINK_CHARS = 8_000;
// EventSource waits this long before it reconnects after a network failure.
const RETRY_MS = 3_000;
// No data, so no event: it only sets the reconnect delay.
const PRELUDE = `retry: ${RETRY_MS}\n\n`;

/**
 * EventSource support in two steps: `POST /api/streams` (authenticated like every endpoint)
 * returns a short-lived signed link; `GET` on it streams the same frames as
 * `POST /api/completions/stream`, each with its number as `id:`. A reconnect (the browser sends
 * Last-Event-ID) gets the events after that one from the stream's log, then the rest live: the
 * link's stream is one upstream request however often it reconnects. Once the log is gone the
 * reconnect is answered 204, which tells EventSource to stop.
 */
export function streamsRoute({ chatRequest, completions, streamTokens, resumable }: Options) {
  const replay = (c: Parameters<typeof resumeFromLog>[0], ticket: StreamTicket, after: number) =>
    resumeFromLog(c, resumable, {
      id: ticket.id,
      after,
      // A POST stream's frames carry no ids; its resume link replays them the same way.
      withIds: !ticket.resumeOnly,
      ...(ticket.resumeOnly ? {} : { prelude: PRELUDE }),
    });
  return new Hono<AppEnv>()
    .post('/', requireJson, validateJson(CompletionRequest), async (c) => {
      // The policy refuses here, where the page can read the 400: EventSource cannot read the body
      // of an error answer to its GET.
      const request = chatRequest(c.req.valid('json'));
      const { token, ticket } = await streamTokens.sign({ request, keyId: c.get('keyId') });
      const url = `/api/streams/${token}`;
      if (url.length > MAX_LINK_CHARS) {
        throw invalidRequest(
          'This request is too large for an EventSource link; use POST /api/completions/stream',
          'messages',
          'request_too_large_for_link',
        );
      }
      return c.json({ id: ticket.id, url, expires_at: ticket.exp }, 201);
    })
    .get('/:token', async (c) => {
      const lastEventId = c.req.header('last-event-id');
      // Verified once, by the authenticate middleware, which also counts it against its key.
      const ticket = c.get('streamTicket');
      if (!ticket) {
        // A reconnect with a link that is no good any more: 204 stops EventSource quietly.
        if (lastEventId !== undefined) return c.body(null, 204);
        throw invalidLink();
      }
      if (lastEventId !== undefined) {
        const after = resumePosition(lastEventId);
        // Not an id this gateway wrote: nothing to resume from.
        return after === null ? c.body(null, 204) : replay(c, ticket, after);
      }
      // The link opened again (a reload, a second tab): the same stream from its start, if it runs.
      if (ticket.resumeOnly) return replay(c, ticket, 0);
      const expired = ticket.exp <= Date.now() / 1000;
      if (expired || (await resumable.open(ticket.id)) === 'exists') {
        const replayed = await replay(c, ticket, 0);
        if (replayed.status === 204 && expired) throw invalidLink();
        return replayed;
      }
      c.get('logFields').stream_id = ticket.id;
      // The policy let this request through when the link was made, and the link is signed.
      return completions.stream(c, ticket.request as AllowedChatRequest, gatewayFrames, {
        prelude: PRELUDE,
        resume: { id: ticket.id, withIds: true },
      });
    })
    .all('/', allowOnly('POST'))
    .all('/:token', allowOnly('GET'));
}

const invalidLink = () =>
  new GatewayError({
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_stream_link',
    message: 'This stream link is invalid or has expired; create a new one with POST /api/streams',
  });
