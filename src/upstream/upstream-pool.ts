import { clientClosedRequest, GatewayError, toGatewayError } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';
import type { CooldownStore, UpstreamHealth } from '../stores/stores.ts';
import { sleepUnlessAborted } from './abortable-sleep.ts';
import { type Failure, failureOf } from './failure-kind.ts';
import type { OpenAIClient } from './openai-client.ts';
import type { UpstreamSpec } from './upstream-list.ts';

/** One upstream the pool can call. */
export type PoolEndpoint = { spec: UpstreamSpec; client: OpenAIClient };

/** One attempt, as the access-log line names it. */
export type Attempt = { upstream: string; outcome: 'ok' | Failure['kind'] };

export type RetryPolicy = {
  maxAttempts: number;
  attemptsEach: number;
  backoffMs: number;
  /** All the waiting between attempts of one request, a Retry-After included. */
  retryWaitMs: number;
  cooldownFailures: number;
  cooldownMs: number;
  /** How long one probe of an upstream back from a cooldown may take (REQUEST_TIMEOUT). */
  probeMs: number;
};

/** What the pool reports, for /metrics. */
export type PoolMetrics = {
  attempt(upstream: string, outcome: Attempt['outcome']): void;
  cooldown(upstream: string): void;
};

export type PoolCall = {
  /** The client's model name; null for calls any upstream can answer (the model list). */
  model: string | null;
  surface: 'chat' | 'responses';
  signal: AbortSignal;
  requestId: string;
  /** Filled as attempts are made, so a failure's log line can name them too. */
  attempts: Attempt[];
};

export type Served<T> = { value: T; upstream: string; model: string | null };

type Options = {
  endpoints: PoolEndpoint[];
  cooldowns: CooldownStore;
  policy: RetryPolicy;
  log: Logger;
  metrics: PoolMetrics;
  random?: () => number;
};

// Every instance re-reads the shared cooldowns at most this often; its own failures it knows at once.
const HEALTH_REFRESH_MS = 1_000;
// A Retry-After of hours is a quota, not a blip: the upstream sits out this long at most.
const MAX_COOL_FOR_MS = 10 * 60_000;
const NONE = new Map<string, UpstreamHealth>();

/**
 * Several upstreams in order of preference: each call is tried on one, retried there with
 * jittered exponential backoff, then on the next, within the policy's bounds. An upstream that
 * keeps failing (or answers 429 with Retry-After) sits out a cooldown shared through the store,
 * then serves one probe at a time until it succeeds; with nothing else left it is still tried.
 * `run` must throw before anything reached the client (a stream holds its frames until its first
 * content, stream-commit.ts): the pool then never mixes two upstreams' output.
 */
export function createUpstreamPool({
  endpoints,
  cooldowns,
  policy,
  log,
  metrics,
  random = Math.random,
}: Options) {
  const names = endpoints.map((endpoint) => endpoint.spec.name);
  // With one upstream a cooldown has nothing to send instead: no store traffic at all.
  const cooling = endpoints.length > 1;
  let snapshot = { at: Number.NEGATIVE_INFINITY, health: NONE };
  let refreshing: Promise<Map<string, UpstreamHealth>> | undefined;

  const health = async (): Promise<Map<string, UpstreamHealth>> => {
    if (!cooling || Date.now() - snapshot.at < HEALTH_REFRESH_MS) return snapshot.health;
    refreshing ??= cooldowns
      .health(names)
      .catch(() => snapshot.health)
      .then((health) => {
        snapshot = { at: Date.now(), health };
        refreshing = undefined;
        return health;
      });
    return refreshing;
  };
  const remember = (name: string, state: UpstreamHealth | null) => {
    const health = new Map(snapshot.health);
    if (state) health.set(name, state);
    else health.delete(name);
    snapshot = { at: snapshot.at, health };
  };

  const failed = async (name: string, failure: Failure) => {
    if (!cooling) return;
    const coolForMs =
      failure.kind === 'auth'
        ? policy.cooldownMs
        : failure.retryAfterMs
          ? Math.min(failure.retryAfterMs, MAX_COOL_FOR_MS)
          : undefined;
    const state = await cooldowns
      .failed(name, { threshold: policy.cooldownFailures, cooldownMs: policy.cooldownMs, coolForMs })
      .catch(() => null);
    if (!state) return;
    const was = snapshot.health.get(name)?.coolUntil ?? 0;
    if (state.coolUntil > Date.now() && state.coolUntil !== was) {
      metrics.cooldown(name);
      log.warn('upstream_cooldown', { upstream: name, until: new Date(state.coolUntil).toISOString() });
    }
    remember(name, state);
  };
  const succeeded = async (name: string) => {
    if (!cooling || !snapshot.health.has(name)) return;
    remember(name, null);
    await cooldowns.succeeded(name).catch(() => {});
  };

  /** Who serves `model`, best first: by priority, equal priorities shuffled by weight. */
  const ranked = (model: string | null, surface: PoolCall['surface']) =>
    endpoints.length === 1
      ? endpoints.filter(({ spec }) => serves(spec, model, surface))
      : shuffled(model, surface);
  const serves = (spec: UpstreamSpec, model: string | null, surface: PoolCall['surface']) =>
    (surface === 'chat' || spec.responses) && (model === null || !spec.models || spec.models.includes(model));
  const shuffled = (model: string | null, surface: PoolCall['surface']) =>
    endpoints
      .filter(({ spec }) => serves(spec, model, surface))
      .map((endpoint) => ({ endpoint, draw: random() ** (1 / endpoint.spec.weight) }))
      .sort((a, b) => a.endpoint.spec.priority - b.endpoint.spec.priority || b.draw - a.draw)
      .map(({ endpoint }) => endpoint);

  return {
    names,
    endpoints,
    async call<T>(
      call: PoolCall,
      run: (endpoint: PoolEndpoint, model: string | null, signal: AbortSignal) => Promise<T>,
    ): Promise<Served<T>> {
      const { signal, attempts } = call;
      const serving = ranked(call.model, call.surface);
      if (!serving.length) throw noUpstreamFor(call.model ?? '', call.surface);
      const states = cooling ? await health() : NONE;
      const now = Date.now();
      const resting = (endpoint: PoolEndpoint) => (states.get(endpoint.spec.name)?.coolUntil ?? 0) > now;
      const fresh = serving.filter((endpoint) => !resting(endpoint));
      // All cooling down: the one back soonest first, rather than refusing without trying.
      const order = fresh.length
        ? fresh
        : serving.toSorted(
            (a, b) => (states.get(a.spec.name)?.coolUntil ?? 0) - (states.get(b.spec.name)?.coolUntil ?? 0),
          );
      let waited = 0;
      let last: GatewayError | undefined;

      for (const [index, endpoint] of order.entries()) {
        const { name } = endpoint.spec;
        const onProbation = fresh.length > 0 && (states.get(name)?.coolUntil ?? 0) > 0;
        // Back from a cooldown: one request at a time finds out whether it is well again.
        const lastChance = index === order.length - 1 && attempts.length === 0;
        if (
          onProbation &&
          !lastChance &&
          !(await cooldowns.claimProbe(name, policy.probeMs).catch(() => true))
        )
          continue;
        const model = call.model === null ? null : (endpoint.spec.aliases[call.model] ?? call.model);
        for (let tryNumber = 1; tryNumber <= policy.attemptsEach; tryNumber++) {
          if (attempts.length >= policy.maxAttempts) break;
          try {
            const value = await run(endpoint, model, signal);
            attempts.push({ upstream: name, outcome: 'ok' });
            metrics.attempt(name, 'ok');
            await succeeded(name);
            return { value, upstream: name, model };
          } catch (thrown) {
            const error = toGatewayError(thrown);
            const failure = failureOf(error);
            attempts.push({ upstream: name, outcome: failure.kind });
            if (failure.next === 'stop') throw error;
            metrics.attempt(name, failure.kind);
            last = error;
            // A wrong key is the operator's to fix: said at error level, every time.
            log[failure.kind === 'auth' ? 'error' : 'warn']('upstream_attempt_failed', {
              request_id: call.requestId,
              upstream: name,
              attempt: attempts.length,
              kind: failure.kind,
              status: error.status,
              ...describeError(error.cause ?? error),
            });
            await failed(name, failure);
            if (failure.next === 'other' || tryNumber === policy.attemptsEach) break;
            const wait = failure.retryAfterMs ?? backoff(policy.backoffMs, tryNumber, random);
            // Past the wait bound, the next upstream is tried at once, or the failure stands.
            if (waited + wait > policy.retryWaitMs) break;
            waited += wait;
            if (!(await sleepUnlessAborted(wait, signal))) throw clientClosedRequest(signal.reason);
          }
        }
        if (attempts.length >= policy.maxAttempts) break;
      }
      throw last ?? noUpstreamFor(call.model ?? '', call.surface);
    },
  };
}

export type UpstreamPool = ReturnType<typeof createUpstreamPool>;

/** Exponential, with half of it jittered, so clients retrying together spread out. */
const backoff = (baseMs: number, tryNumber: number, random: () => number) => {
  const ceiling = baseMs * 2 ** (tryNumber - 1);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
};

const noUpstreamFor = (model: string, surface: PoolCall['surface']) =>
  new GatewayError({
    status: 404,
    type: 'invalid_request_error',
    code: 'model_not_found',
    param: 'model',
    message:
      surface === 'responses'
        ? `No upstream serves the Responses API for model ${model}`
        : `No upstream serves the model ${model}`,
  });
