import { GatewayError, toGatewayError } from '../errors.ts';
import type { StreamLogPage, StreamLogStore } from '../stores/stream-log-store.ts';
import { renderEvent } from './frame-splitter.ts';
import { frame } from './sse-frames.ts';

type ResumedOptions = {
  id: string;
  /** The last event the client has: the stream goes on with the one after it. */
  after: number;
  /** The log's first page, read by the caller to know the log exists. */
  page: StreamLogPage;
  store: StreamLogStore;
  withIds: boolean;
  prelude?: string | undefined;
  keepaliveMs: number;
  /** A log that grows no more for this long, without ending, is given up on (its producer died). */
  stallMs: number;
};

const encoder = new TextEncoder();
const KEEPALIVE = ': keepalive\n\n';

/**
 * A reconnect's stream, on whichever instance it landed: the logged events after `after`, then
 * the rest as the producer logs them, up to the end of the log. It only reads the log; the
 * producer owns the upstream and settles usage once, so a reconnect costs no upstream request.
 */
export function resumedStream(options: ResumedOptions): ReadableStream<Uint8Array> {
  const { id, store, withIds, prelude, keepaliveMs, stallMs } = options;
  let position = options.after;
  let page: StreamLogPage | null = options.page;
  let grewAt = Date.now();
  let wroteAt = Date.now();
  let cancelled = false;

  // Never a silent truncation: a resume that cannot go on says so, as the relay does.
  const end = (controller: ReadableStreamDefaultController<Uint8Array>, error: GatewayError) => {
    controller.enqueue(encoder.encode(frame(JSON.stringify(error.toBody()), 'error')));
    controller.close();
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (prelude) controller.enqueue(encoder.encode(prelude));
    },
    async pull(controller) {
      for (;;) {
        if (cancelled) return;
        if (!page) return end(controller, logGone());
        if (page.frames.length) {
          let out = '';
          for (const logged of page.frames) out += renderEvent(++position, logged, withIds);
          controller.enqueue(encoder.encode(out));
          grewAt = wroteAt = Date.now();
          page = { frames: [], ended: page.ended };
          return;
        }
        if (page.ended) return controller.close();
        if (Date.now() - grewAt > stallMs) return end(controller, logGone());
        if (keepaliveMs > 0 && Date.now() - wroteAt >= keepaliveMs) {
          wroteAt = Date.now();
          return controller.enqueue(encoder.encode(KEEPALIVE));
        }
        try {
          await store.wait(id, position, store.waitMs);
          if (cancelled) return;
          page = await store.read(id, position);
        } catch (error) {
          return end(controller, toGatewayError(error));
        }
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}

const logGone = () =>
  new GatewayError({
    status: 502,
    type: 'server_error',
    code: 'stream_log_lost',
    message: 'The stream being resumed stopped before it ended; send the request again',
  });
