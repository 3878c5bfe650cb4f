export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;
export type Logger = Record<Exclude<LogLevel, 'silent'>, (event: string, fields?: LogFields) => void>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * One JSON line per event on stdout: Node, CloudWatch and workerd all collect it as it is.
 * `write` is injectable so tests can read the lines.
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => console.log(line),
): Logger {
  const at =
    (lineLevel: Exclude<LogLevel, 'silent'>) =>
    (event: string, fields: LogFields = {}) => {
      if (RANK[lineLevel] < RANK[level]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, event, ...fields }));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** What a log line may say about an error: its name, message and cause chain, never a stack of user data. */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: String(error) };
  const cause = error.cause instanceof Error ? describeError(error.cause) : undefined;
  // The SDK's errors carry the upstream's x-request-id: what its support asks for.
  const requestId = (error as { requestID?: unknown }).requestID;
  return {
    error: `${error.name}: ${error.message}`,
    ...(cause ? { cause: cause.error } : {}),
    ...(typeof requestId === 'string' && requestId ? { upstream_request_id: requestId } : {}),
  };
}
