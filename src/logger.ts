export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;
export type Logger = Record<Exclude<LogLevel, 'silent'>, (event: string, fields?: LogFields) => void>;
export type LogFormat = 'json' | 'pretty';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

type LoggerOptions = {
  level: LogLevel;
  /** `json`: one object per line, for collectors. `pretty`: short lines for a person at a terminal. */
  format?: LogFormat;
  /** ANSI colours in pretty lines (the adapter knows whether its output is a terminal). */
  color?: boolean;
  /** Where lines go; stdout by default. Injectable so tests can read them. */
  write?: (line: string) => void;
};

/** One line per event on stdout: Node, CloudWatch and workerd all collect it as it is. */
export function createLogger({
  level,
  format = 'json',
  color = false,
  write = (line) => console.log(line),
}: LoggerOptions): Logger {
  const at =
    (lineLevel: Exclude<LogLevel, 'silent'>) =>
    (event: string, fields: LogFields = {}) => {
      if (RANK[lineLevel] < RANK[level]) return;
      const time = new Date().toISOString();
      write(
        format === 'pretty'
          ? prettyLine({ time, level: lineLevel, event, fields, color })
          : JSON.stringify({ time, level: lineLevel, event, ...fields }),
      );
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const ANSI = { dim: '\x1b[2m', yellow: '\x1b[33m', red: '\x1b[31m', reset: '\x1b[0m' };
const LEVEL_TAG = { debug: 'debug', info: '', warn: 'WARN', error: 'ERROR' } as const;
// Request lines spell these out in their own words; the rest is key=value.
const REQUEST_WORDS = new Set(['method', 'path', 'status', 'latency_ms', 'model', 'usage', 'outcome']);
const QUIET = new Set(['time', 'level', 'request_id', 'client_ip', 'usage_estimated', 'ttft_ms', 'message']);

type PrettyLine = {
  time: string;
  level: Exclude<LogLevel, 'silent'>;
  event: string;
  fields: LogFields;
  color: boolean;
};

/** `12:00:01 POST /api/completions/stream 200 942ms gpt-4o-mini 8+36 tokens ok`, or `12:00:00 WARN mock_mode ...`. */
function prettyLine({ time, level, event, fields, color }: PrettyLine): string {
  const paint = (code: string, text: string) => (color && text ? `${code}${text}${ANSI.reset}` : text);
  const words: string[] = [paint(ANSI.dim, time.slice(11, 19))];
  const tag = LEVEL_TAG[level];
  if (tag) words.push(paint(level === 'error' ? ANSI.red : ANSI.yellow, tag));
  if (event === 'request') {
    const usage = fields.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
    words.push(String(fields.method), String(fields.path), String(fields.status), `${fields.latency_ms}ms`);
    if (fields.model) words.push(String(fields.model));
    if (usage) {
      const estimated = fields.usage_estimated ? ' (estimated)' : '';
      words.push(`${usage.prompt_tokens}+${usage.completion_tokens} tokens${estimated}`);
    }
    if (fields.outcome) words.push(String(fields.outcome));
  } else {
    words.push(event);
  }
  if (typeof fields.message === 'string') words.push(fields.message);
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || QUIET.has(key) || (event === 'request' && REQUEST_WORDS.has(key))) continue;
    words.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return words.join(' ');
}

/** What a log line may say about an error: its name, message and cause chain, never a stack of user data. */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: describeValue(error) };
  const cause = error.cause instanceof Error ? describeError(error.cause) : undefined;
  // The SDK's errors carry the upstream's x-request-id: what its support asks for.
  const requestId = (error as { requestID?: unknown }).requestID;
  return {
    error: `${error.name}: ${error.message}`,
    ...(cause ? { cause: cause.error } : {}),
    ...(typeof requestId === 'string' && requestId ? { upstream_request_id: requestId } : {}),
  };
}

/** A thrown or reported non-Error, such as the error object an upstream sends inside its stream. */
function describeValue(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const { type, message } = value as { type?: unknown; message?: unknown };
  if (typeof message === 'string') return typeof type === 'string' ? `${type}: ${message}` : message;
  return JSON.stringify(value);
}
