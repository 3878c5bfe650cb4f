import { GatewayError } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';
import { type StreamLogStore, sleep } from '../stores/stream-log-store.ts';
import { frameSplitter, renderEvent } from './frame-splitter.ts';
import { frame } from './sse-frames.ts';

type ProducerOptions = {
  id: string;
  /** The relay's output: its cancel aborts the upstream, and its onEnd settles usage, as for any stream. */
  relay: ReadableStream<Uint8Array>;
  store: StreamLogStore;
  /** STREAM_RESUME_WINDOW_MS: how long the upstream is read while no client is connected. */
  windowMs: number;
  /** STREAM_RESUME_MAX_BYTES: past this, the rest is relayed live but no longer logged. */
  maxBytes: number;
  withIds: boolean;
  log: Logger;
};

const encoder = new TextEncoder();

/**
 * Reads the relay on its own, not at the pace of a client: numbers each event, appends each
 * relayed batch to the stream log (one store call per batch, in order, not awaited by the client)
 * and hands it to the client that started the stream while it is connected. When that client
 * leaves, the relay is read on for `windowMs` after the last read of any client, on any instance
 * (the store records reads), then cancelled, which aborts the upstream; the log is then removed,
 * so a late resume finds nothing. `done` settles once the log is ended and the client's body closed.
 */
export function produceResumable(options: ProducerOptions) {
  const { id, relay, store, windowMs, maxBytes, withIds, log } = options;
  const reader = relay.getReader();
  const split = frameSplitter();
  let next = 1;
  let bytes = 0;
  // Off once the log is full or failed: later events are relayed live only.
  let logging = true;
  // A failed append: nothing more is written, not even the appends already queued.
  let broken = false;
  let appends: Promise<void> = Promise.resolve();
  let client: ReadableStreamDefaultController<Uint8Array> | null = null;
  let finished = false;
  let abandoned = false;

  const failed = (error: unknown) => {
    if (broken) return;
    broken = true;
    logging = false;
    log.error('stream_log_failed', { stream_id: id, ...describeError(error) });
    // A log with a gap must not be resumed from: a reconnect then gets 204.
    store.remove(id).catch(() => {});
  };

  const record = (first: number, frames: string[], size: number) => {
    if (!logging) return;
    if (bytes + size > maxBytes) {
      logging = false;
      log.warn('stream_log_full', { stream_id: id, max_bytes: maxBytes });
      const full = frame(JSON.stringify(logFull(maxBytes).toBody()), 'error');
      appends = appends
        .then(() => (broken ? undefined : store.append(id, first, [full]).then(() => store.end(id))))
        .catch(failed);
      return;
    }
    bytes += size;
    appends = appends.then(() => (broken ? undefined : store.append(id, first, frames))).catch(failed);
  };

  const watchAbsence = async (leftAt: number) => {
    while (!finished && !client) {
      const lastRead = logging ? await store.lastRead(id).catch(() => 0) : 0;
      const wait = Math.max(leftAt, lastRead) + (logging ? windowMs : 0) - Date.now();
      if (wait <= 0) {
        abandoned = true;
        await reader.cancel().catch(() => {});
        return;
      }
      await sleep(wait);
    }
  };

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      client = controller;
    },
    cancel() {
      client = null;
      void watchAbsence(Date.now());
    },
  });

  const run = async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let out = '';
        const batch: string[] = [];
        for (const piece of split(value)) {
          if (!piece.event) out += piece.frame;
          else {
            batch.push(piece.frame);
            out += renderEvent(next + batch.length - 1, piece.frame, withIds);
          }
        }
        const encoded = encoder.encode(out);
        if (batch.length) {
          record(next, batch, encoded.byteLength);
          next += batch.length;
        }
        if (client && encoded.byteLength) {
          try {
            client.enqueue(encoded);
          } catch {
            client = null;
          }
        }
      }
    } catch (error) {
      log.error('stream_producer_failed', { stream_id: id, ...describeError(error) });
    } finally {
      finished = true;
      await appends;
      if (abandoned) await store.remove(id).catch(() => {});
      else if (logging) await store.end(id).catch(failed);
      try {
        client?.close();
      } catch {
        // Already closed by its consumer.
      }
    }
  };
  return { body, done: run() };
}

const logFull = (maxBytes: number) =>
  new GatewayError({
    status: 507,
    type: 'server_error',
    code: 'stream_log_full',
    message: `This stream grew past STREAM_RESUME_MAX_BYTES (${maxBytes}) and cannot be resumed further; send the request again`,
  });
