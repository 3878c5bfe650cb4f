import { z } from 'zod';
import { clientKeyList } from './client-keys.ts';

/** What every runtime hands the app: string variables (process.env, Lambda env, Workers vars and secrets). */
export type Bindings = Record<string, unknown>;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(blankToUndefined, z.string().trim().optional());

const milliseconds = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));

const count = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));

/** 0 turns the feature off. */
const countOrOff = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().min(0).default(fallback));

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

const ConfigFields = z.object({
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
  // A browser sends its Origin without a path or trailing slash: any other form would never match.
  CORS_ORIGINS: commaList.refine(
    (origins) => origins.every((origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin)),
    'each entry must be * or an exact origin such as https://app.example.com (no path, no trailing slash)',
  ),
  RATE_LIMIT_WINDOW_MS: milliseconds(60_000),
  RATE_LIMIT_MAX: countOrOff(60),
  // Access control and limits: docs/access-control.md.
  GATEWAY_API_KEYS: optionalString.pipe(clientKeyList('key')),
  GATEWAY_API_KEY_HASHES: optionalString.pipe(clientKeyList('sha256')),
  TRUST_PROXY_HOPS: countOrOff(0),
  TOKEN_LIMIT_WINDOW_MS: milliseconds(60_000),
  TOKEN_LIMIT_MAX: countOrOff(0),
  REDIS_URL: z.preprocess(
    blankToUndefined,
    z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  ),
  REDIS_PREFIX: z.preprocess(blankToUndefined, z.string().trim().min(1).default('gateway:')),
  REDIS_TIMEOUT_MS: milliseconds(500),
  REDIS_FAILURE_POLICY: z.preprocess(blankToUndefined, z.enum(['open', 'closed']).default('open')),
  ALLOWED_MODELS: commaList,
  MAX_TOKENS_CAP: countOrOff(0),
  MAX_TOKENS_RULE: z.preprocess(blankToUndefined, z.enum(['clamp', 'reject']).default('clamp')),
  MAX_MESSAGES: count(200),
  // About 100k tokens at OpenAI's rule of thumb of 4 characters per token.
  MAX_PROMPT_CHARS: count(400_000),
  MAX_BODY_BYTES: count(1_048_576),
  MOCK_TOKEN_DELAY_MS: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).default(25)),
  SHUTDOWN_TIMEOUT_MS: milliseconds(10_000),
  STREAM_TOKEN_SECRET: optionalString.pipe(
    z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  ),
  STREAM_TOKEN_TTL_SECONDS: count(60),
  PLAYGROUND: z.preprocess(blankToUndefined, z.enum(['on', 'off']).optional()),
  // Observability: docs/observability.md.
  ADMIN_API_KEY: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  LOG_BODIES: z
    .preprocess(blankToUndefined, z.enum(['true', 'false']).default('false'))
    .transform((v) => v === 'true'),
  METRICS_EMF: z
    .preprocess(blankToUndefined, z.enum(['on', 'off']).default('off'))
    .transform((v) => v === 'on'),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  ),
});

export const Config = ConfigFields.superRefine((config, ctx) => {
  if (config.ALLOWED_MODELS.length && !config.ALLOWED_MODELS.includes(config.DEFAULT_MODEL)) {
    ctx.addIssue({
      code: 'custom',
      path: ['DEFAULT_MODEL'],
      message: `must be one of ALLOWED_MODELS (${config.ALLOWED_MODELS.join(', ')})`,
    });
  }
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

// REDIS_URL may carry a password; TOKEN_LIMIT_* and MAX_TOKENS_* are plain numbers.
const SECRET_NAME = /KEY|SECRET|PASSWORD|REDIS_URL|TOKEN(?!S?_(LIMIT|CAP|RULE))/;

function valueAt(bindings: Bindings, path: PropertyKey[]): unknown {
  const key = path[0];
  if (typeof key !== 'string' || SECRET_NAME.test(key)) return key ? '[redacted]' : undefined;
  return bindings[key];
}
