import { z } from 'zod';

/** What every runtime hands the app: string variables (process.env, Lambda env, Workers vars and secrets). */
export type Bindings = Record<string, unknown>;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(blankToUndefined, z.string().trim().optional());

const milliseconds = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));

const count = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));

const commaList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
);

export const Config = z.object({
  NODE_ENV: z.preprocess(
    blankToUndefined,
    z.enum(['development', 'production', 'test']).default('development'),
  ),
  HOST: z.preprocess(blankToUndefined, z.string().trim().min(1).default('127.0.0.1')),
  PORT: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.preprocess(blankToUndefined, z.url().optional()),
  DEFAULT_MODEL: z.preprocess(blankToUndefined, z.string().trim().min(1).default('gpt-4o-mini')),
  REQUEST_TIMEOUT: milliseconds(30_000),
  CORS_ORIGINS: commaList,
  RATE_LIMIT_WINDOW_MS: milliseconds(60_000),
  RATE_LIMIT_MAX: count(60),
  MAX_BODY_BYTES: count(1_048_576),
  MOCK_TOKEN_DELAY_MS: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).default(25)),
  SHUTDOWN_TIMEOUT_MS: milliseconds(10_000),
  STREAM_TOKEN_SECRET: optionalString.pipe(
    z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  ),
  STREAM_TOKEN_TTL_SECONDS: count(60),
  PLAYGROUND: z.preprocess(blankToUndefined, z.enum(['on', 'off']).optional()),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  ),
});
export type Config = z.infer<typeof Config>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const parsed = new WeakMap<object, Config>();

/**
 * Parses the bindings once per bindings object: Node and Lambda hand the same object to every
 * request, Workers hands one `env` per isolate, so this runs once per process or isolate.
 */
export function loadConfig(bindings: Bindings): Config {
  const cached = parsed.get(bindings);
  if (cached) return cached;
  const result = Config.safeParse(bindings);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) =>
        `${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(valueAt(bindings, issue.path))})`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  parsed.set(bindings, result.data);
  return result.data;
}

function valueAt(bindings: Bindings, path: PropertyKey[]): unknown {
  const key = path[0];
  if (typeof key !== 'string' || /KEY|SECRET|TOKEN/.test(key)) return key ? '[redacted]' : undefined;
  return bindings[key];
}
