/**
 * The log a resumable stream keeps of the events it relayed, so a client that lost its connection
 * can resume after the last event it read, on any instance. Events are numbered from 1 in the
 * order the producer wrote them; the producer, the log's only writer, appends each relayed batch
 * with the number of its first event. Every backend keeps a log alive while it is written and for
 * STREAM_RESUME_TTL_SECONDS after it ends, then deletes it.
 */
export interface StreamLogStore {
  /**
   * Starts the log `id`. `exists`: another request already streams it (the same link opened
   * twice); `full`: STREAM_RESUME_MAX_STREAMS logs are alive, nothing was started.
   */
  open(id: string): Promise<'created' | 'exists' | 'full'>;
  append(id: string, first: number, frames: string[]): Promise<void>;
  /** No more events: the log lives on for its TTL. */
  end(id: string): Promise<void>;
  /** Deletes the log at once: a resume then finds nothing (a stream nobody came back for). */
  remove(id: string): Promise<void>;
  /**
   * The frames after event `after`, and whether the log has ended; null when there is no such log
   * (never made, expired, removed). Records that a client read it (see `lastRead`).
   */
  read(id: string, after: number): Promise<StreamLogPage | null>;
  /** When a client last read the log (epoch ms, 0 never): how a producer knows a reader is attached elsewhere. */
  lastRead(id: string): Promise<number>;
  /**
   * Resolves when the log may hold events after `after`, or after `maxMs`: a store that can block
   * on new events (a Redis stream) does; the others wait `maxMs`, a poll interval.
   */
  wait(id: string, after: number, maxMs: number): Promise<void>;
  /** The `maxMs` a reader passes to `wait`: short for a store that can only poll. */
  readonly waitMs: number;
  /** Closes what the store opened for itself (Redis: the connections reconnects block on). */
  close?(): Promise<void>;
}

export type StreamLogPage = { frames: string[]; ended: boolean };

export type StreamLogLimits = {
  /** STREAM_RESUME_TTL_SECONDS, in ms: how long a log lives after its last write. */
  ttlMs: number;
  /** STREAM_RESUME_MAX_STREAMS: how many logs may be alive at once. */
  maxStreams: number;
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
