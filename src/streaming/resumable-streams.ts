import { GatewayError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StreamLogStore } from '../stores/stream-log-store.ts';
import { produceResumable } from './resumable-producer.ts';
import { resumedStream } from './resumed-stream.ts';

type Options = {
  store: StreamLogStore;
  windowMs: number;
  maxBytes: number;
  keepaliveMs: number;
  /** The relay's idle timeout: a live log grows at least this often, or its stream ends. */
  idleTimeoutMs: number;
  log: Logger;
};

export type ResumableStreams = ReturnType<typeof resumableStreams>;

/**
 * Resumable streams over a stream log store: `open` before the upstream call, `produce` around
 * the relay's output, `resume` for a reconnect (on any instance that shares the store).
 */
export function resumableStreams({ store, windowMs, maxBytes, keepaliveMs, idleTimeoutMs, log }: Options) {
  return {
    /** Starts a log; throws a 503 at STREAM_RESUME_MAX_STREAMS. `exists`: the stream already runs. */
    async open(id: string): Promise<'created' | 'exists'> {
      const opened = await store.open(id);
      if (opened === 'full') throw tooManyStreams();
      return opened;
    },
    /** For a stream whose upstream call failed before it answered. */
    discard: (id: string) => store.remove(id).catch(() => {}),
    produce: (id: string, relay: ReadableStream<Uint8Array>, withIds: boolean) =>
      produceResumable({ id, relay, store, windowMs, maxBytes, withIds, log }),
    /** The stream after event `after`, or null when the log is gone (never made, expired, abandoned). */
    async resume(id: string, after: number, { withIds, prelude }: { withIds: boolean; prelude?: string }) {
      const page = await store.read(id, after);
      // A client that has every event of an ended stream is done: EventSource reconnects after
      // every close, and a 204 is what stops it.
      if (!page || (page.ended && page.frames.length === 0)) return null;
      return resumedStream({
        id,
        after,
        page,
        store,
        withIds,
        prelude,
        keepaliveMs,
        stallMs: idleTimeoutMs + windowMs,
      });
    },
  };
}

const tooManyStreams = () =>
  new GatewayError({
    status: 503,
    type: 'server_error',
    code: 'too_many_resumable_streams',
    message: 'Too many resumable streams are open (STREAM_RESUME_MAX_STREAMS); try again shortly',
    headers: { 'Retry-After': '5' },
  });

/** Last-Event-ID as a position: the number of events the client has; null when it is not one. */
export function resumePosition(header: string | undefined): number | null {
  if (header === undefined || !/^\d{1,9}$/.test(header.trim())) return null;
  return Number(header.trim());
}
