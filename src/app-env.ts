import type { Bindings, Config } from './config.ts';
import type { LogFields, Logger } from './logger.ts';
import type { ChatUpstream } from './upstream/chat-upstream.ts';

/** What the adapters may hand `createApp` besides the bindings. */
export type AppDeps = {
  /** Where log lines go; stdout by default. */
  writeLog?: (line: string) => void;
  /** Aborts when the process is shutting down: open streams end with an error event. */
  shutdownSignal?: AbortSignal;
};

export type Services = {
  config: Config;
  log: Logger;
  upstream: ChatUpstream;
  /** When this instance built its services, at its first request (Workers' clock is still at load). */
  bootedAt: number;
};

export type AppEnv = {
  Bindings: Bindings;
  Variables: Services & {
    requestId: string;
    startedAt: number;
    shutdownSignal: AbortSignal;
    /** Fields a route adds to its access log line (model, usage). */
    logFields: LogFields;
    /** Streams call this to own the access log line, written when the stream ends. */
    deferAccessLog: () => (fields: LogFields) => void;
  };
};
