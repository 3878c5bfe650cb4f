import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { GatewayError, invalidRequest } from '../errors.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import type { StreamTokens } from '../stream-tokens.ts';
import { gatewayFrames } from '../streaming/gateway-frames.ts';
import type { AllowedChatRequest } from '../upstream/chat-upstream.ts';
import { CompletionRequest } from './completion-request.ts';
import type { CompletionRunner } from './completion-runner.ts';
import { allowOnly } from './method-not-allowed.ts';

type Options = {
  chatRequest: (body: CompletionRequest) => AllowedChatRequest;
  completions: CompletionRunner;
  streamTokens: StreamTokens;
};

// Past this, some proxies and browsers refuse the URL; such prompts belong in a POST stream.
const MAX_LINK_CHARS = 8_000;
// EventSource waits this long before it reconnects after a network failure.
const RETRY_MS = 3_000;

/**
 * EventSource support in two steps: `POST /api/streams` (authenticated like every endpoint)
 * returns a short-lived signed link; `GET` on it streams the same frames as
 * `POST /api/completions/stream`. A reconnect (the browser sends Last-Event-ID) is answered 204,
 * which tells EventSource to stop: the answer is never replayed.
 */
export function streamsRoute({ chatRequest, completions, streamTokens }: Options) {
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
      if (c.req.header('last-event-id') !== undefined) return c.body(null, 204);
      // Verified once, by the authenticate middleware, which also counts it against its key.
      const ticket = c.get('streamTicket');
      if (!ticket) {
        throw new GatewayError({
          status: 401,
          type: 'invalid_request_error',
          code: 'invalid_stream_link',
          message: 'This stream link is invalid or has expired; create a new one with POST /api/streams',
        });
      }
      // The policy let this request through when the link was made, and the link is signed.
      return completions.stream(c, ticket.request as AllowedChatRequest, gatewayFrames, {
        // No data, so no event: it only sets the reconnect delay and the id a reconnect echoes.
        prelude: `retry: ${RETRY_MS}\nid: ${ticket.id}\n\n`,
      });
    })
    .all('/', allowOnly('POST'))
    .all('/:token', allowOnly('GET'));
}
