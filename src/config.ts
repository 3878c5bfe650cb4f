import { clientKeyList } from './client-keys.ts';
import { UpstreamEntries, type UpstreamSpec, upstreamList } from './upstream/upstream-list.ts';
import * as z from './zod-mini.ts';

/** What every runtime hands the app: string variables (the Node or Lambda environment, Workers vars and secrets). */
export type Bindings = Record<string, unknown>;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** A blank variable counts as unset, so it gets the default. */
const orDefault = <T extends z.core.SomeType>(schema: T, fallback: z.core.util.NoUndefined<z.output<T>>) =>
  z.preprocess(blankToUndefined, z._default(schema, fallback));

const optionalString = z.preprocess(blankToUndefined, z.optional(z.string().check(z.trim())));

const milliseconds = (fallback: number) =>
  orDefault(z.coerce.number().check(z.int(), z.positive()), fallback);

const count = (fallback: number) => orDefault(z.coerce.number().check(z.int(), z.positive()), fallback);

/** 0 turns the feature off. */
const countOrOff = (fallback: number) => orDefault(z.coerce.number().check(z.int(), z.minimum(0)), fallback);

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** An on/off setting: true/false, 1/0, yes/no or on/off, in any case. */
const toggle = z.pipe(
  z
    .string()
    .check(
      z.refine(
        (value) => TRUE.has(value.trim().toLowerCase()) || FALSE.has(value.trim().toLowerCase()),
        'must be on or off (also accepted: true/false, yes/no, 1/0)',
      ),
    ),
  z.transform((value) => TRUE.has(value.trim().toLowerCase())),
);
const optionalToggle = z.preprocess(blankToUndefined, z.optional(toggle));
const toggleOr = (fallback: boolean) => z.preprocess(blankToUndefined, z._default(toggle, fallback));

const commaList = z.preprocess(
  blankToUndefined,
  z.pipe(
    z.optional(z.string()),
    z.transform((value) =>
      (value ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ),
);

const ConfigFields = z.object({
  NODE_ENV: orDefault(z.enum(['development', 'production', 'test']), 'development'),
  HOST: orDefault(z.string().check(z.trim(), z.minLength(1)), '127.0.0.1'),
  PORT: orDefault(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(65535)), 3000),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.preprocess(blankToUndefined, z.optional(z.url())),
  // The names OpenAI's own SDKs read: sent as OpenAI-Organization and OpenAI-Project.
  OPENAI_ORG_ID: optionalString,
  OPENAI_PROJECT_ID: optionalString,
  // Several upstreams, in order of preference, with retries and fallback (README: Several upstreams).
  UPSTREAMS: UpstreamEntries,
  // Attempts per request in all, and on one upstream before the next; waiting between attempts
  // (backoff, a 429's Retry-After) is bounded in all by UPSTREAM_RETRY_WAIT_MS.
  UPSTREAM_MAX_ATTEMPTS: count(4),
  UPSTREAM_ATTEMPTS_EACH: count(2),
  UPSTREAM_BACKOFF_MS: milliseconds(200),
  UPSTREAM_RETRY_WAIT_MS: countOrOff(4_000),
  // Failures in a row that make an upstream sit out UPSTREAM_COOLDOWN_MS (with an alternative to use).
  UPSTREAM_COOLDOWN_FAILURES: count(3),
  UPSTREAM_COOLDOWN_MS: milliseconds(30_000),
  DEFAULT_MODEL: orDefault(z.string().check(z.trim(), z.minLength(1)), 'gpt-4o-mini'),
  REQUEST_TIMEOUT: milliseconds(30_000),
  SSE_KEEPALIVE_MS: countOrOff(15_000),
  // A browser sends its Origin without a path or trailing slash: any other form would never match.
  CORS_ORIGINS: commaList.check(
    z.refine(
      (origins) => origins.every((origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin)),
      'each entry must be * or an exact origin such as https://app.example.com (no path, no trailing slash)',
    ),
  ),
  RATE_LIMIT_WINDOW_MS: milliseconds(60_000),
  RATE_LIMIT_MAX: countOrOff(60),
  // Access control and limits: docs/access-control.md.
  GATEWAY_API_KEYS: z.pipe(optionalString, clientKeyList('key')),
  GATEWAY_API_KEY_HASHES: z.pipe(optionalString, clientKeyList('sha256')),
  TRUST_PROXY_HOPS: countOrOff(0),
  TOKEN_LIMIT_WINDOW_MS: milliseconds(60_000),
  TOKEN_LIMIT_MAX: countOrOff(0),
  REDIS_URL: z.preprocess(
    blankToUndefined,
    z.optional(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })),
  ),
  REDIS_PREFIX: orDefault(z.string().check(z.trim(), z.minLength(1)), 'gateway:'),
  REDIS_TIMEOUT_MS: milliseconds(500),
  REDIS_FAILURE_POLICY: orDefault(z.enum(['open', 'closed']), 'open'),
  // DynamoDB as the shared store (Node and Lambda, docs/lambda.md); region and credentials are the
  // standard AWS variables, which Lambda sets in every function's environment.
  DYNAMODB_TABLE: optionalString,
  DYNAMODB_ENDPOINT: z.preprocess(blankToUndefined, z.optional(z.url())),
  AWS_REGION: optionalString,
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
  ALLOWED_MODELS: commaList,
  MAX_TOKENS_CAP: countOrOff(0),
  MAX_TOKENS_RULE: orDefault(z.enum(['clamp', 'reject']), 'clamp'),
  MAX_MESSAGES: count(200),
  // About 100k tokens at OpenAI's rule of thumb of 4 characters per token.
  MAX_PROMPT_CHARS: count(400_000),
  MAX_BODY_BYTES: count(1_048_576),
  MOCK_TOKEN_DELAY_MS: orDefault(z.coerce.number().check(z.int(), z.minimum(0)), 25),
  SHUTDOWN_TIMEOUT_MS: milliseconds(10_000),
  // Longer than the 60 s idle timeout of common load balancers (AWS ALB, nginx): a balancer must
  // never reuse a connection the server has just closed, which its clients would see as a 502.
  KEEP_ALIVE_TIMEOUT_MS: milliseconds(65_000),
  STREAM_TOKEN_SECRET: z.pipe(
    optionalString,
    z.optional(
      z.string().check(z.minLength(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)')),
    ),
  ),
  STREAM_TOKEN_TTL_SECONDS: count(60),
  // How long the gateway remembers which client key created a Responses API response: OpenAI
  // keeps a stored response 30 days by default.
  RESPONSE_OWNER_TTL_SECONDS: count(30 * 24 * 3600),
  // Resumable streams (README, "Resumable streams"): how long a stream nobody reads keeps reading
  // its upstream (longer than EventSource's 3 s reconnect delay), how long its events stay
  // resumable after it ends (a resume may also come this long after its link expired), and bounds.
  STREAM_RESUME_WINDOW_MS: milliseconds(10_000),
  STREAM_RESUME_TTL_SECONDS: count(300),
  STREAM_RESUME_MAX_BYTES: count(1_048_576),
  STREAM_RESUME_MAX_STREAMS: count(10_000),
  // Unset: on outside production.
  PLAYGROUND: optionalToggle,
  // Production refuses to run without client keys unless this says anonymous traffic is meant.
  PUBLIC_ACCESS: toggleOr(false),
  // Observability: docs/observability.md.
  ADMIN_API_KEY: z.pipe(
    optionalString,
    z.optional(z.string().check(z.minLength(16, 'must be at least 16 characters'))),
  ),
  LOG_BODIES: toggleOr(false),
  METRICS_EMF: toggleOr(false),
  LOG_LEVEL: orDefault(z.enum(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
  // Unset: what the adapter chooses (readable lines under `npm run dev`, JSON everywhere else).
  LOG_FORMAT: z.preprocess(blankToUndefined, z.optional(z.enum(['json', 'pretty']))),
});

export const Config = ConfigFields.check(
  z.superRefine((config, ctx) => {
    if (config.ALLOWED_MODELS.length && !config.ALLOWED_MODELS.includes(config.DEFAULT_MODEL)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEFAULT_MODEL'],
        message: `must be one of ALLOWED_MODELS (${config.ALLOWED_MODELS.join(', ')})`,
      });
    }
    if (config.REDIS_URL && config.DYNAMODB_TABLE) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: 'REDIS_URL and DYNAMODB_TABLE are both set: choose one shared store and unset the other',
      });
    }
    for (const name of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const) {
      if (config.DYNAMODB_TABLE && !config[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'must be set with DYNAMODB_TABLE' });
    }
    const hasKeys = config.GATEWAY_API_KEYS.length > 0 || config.GATEWAY_API_KEY_HASHES.length > 0;
    if (config.NODE_ENV === 'production' && !hasKeys && !config.PUBLIC_ACCESS) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_API_KEYS'],
        message:
          'production needs client keys: set GATEWAY_API_KEYS (or GATEWAY_API_KEY_HASHES) so only ' +
          'programs holding a key can spend your upstream account, or set PUBLIC_ACCESS=on if ' +
          'anonymous traffic (a public browser app) is intended; then limit it with CORS_ORIGINS ' +
          'and a token budget (TOKEN_LIMIT_MAX)',
      });
    }
  }),
);
export type Config = z.infer<typeof Config> & {
  /** What UPSTREAMS or the OPENAI_API_KEY shorthand lists, keys resolved; empty: the mock model. */
  upstreams: UpstreamSpec[];
};

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
  const problems = result.success
    ? []
    : result.error.issues.map(
        (issue) => `${issue.path.join('.')}: ${issue.message} (${shown(bindings, issue.path)})`,
      );
  // Keys sit in the bindings UPSTREAMS names, which the schema does not see.
  const list = result.success ? upstreamList(result.data, (name) => bindings[name]) : undefined;
  problems.push(...(list?.problems ?? []));
  if (!result.success || !list || problems.length) {
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const config = { ...result.data, upstreams: list.upstreams };
  parsed.set(bindings, config);
  return config;
}

// REDIS_URL may carry a password; TOKEN_LIMIT_* and MAX_TOKENS_* are plain numbers.
const SECRET_NAME = /KEY|SECRET|PASSWORD|REDIS_URL|TOKEN(?!S?_(LIMIT|CAP|RULE))/;

function shown(bindings: Bindings, path: PropertyKey[]): string {
  const key = path[0];
  // The path names the entry; the JSON may hold a key pasted by mistake.
  if (key === 'UPSTREAMS' && bindings.UPSTREAMS) return 'got [not shown]';
  const value = typeof key === 'string' ? bindings[key] : undefined;
  if (value === undefined || value === '') return 'not set';
  return `got ${typeof key === 'string' && SECRET_NAME.test(key) ? '[redacted]' : JSON.stringify(value)}`;
}
