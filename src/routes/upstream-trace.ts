import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { CallContext } from '../upstream/chat-upstream.ts';
import type { Attempt } from '../upstream/upstream-pool.ts';

/** Names the upstream that answered (UPSTREAMS' `name`). */
export const UPSTREAM_HEADER = 'x-gateway-upstream';

/**
 * One upstream call with its attempts noted: the access-log line names the upstream that
 * answered, and every attempt when there was more than one or none succeeded; the response says
 * which upstream answered.
 */
export async function traced<T extends { upstream: string }>(
  c: Context<AppEnv>,
  run: (call: CallContext) => Promise<T>,
  signal: AbortSignal = c.req.raw.signal,
): Promise<T> {
  const attempts: Attempt[] = [];
  let answer: T | undefined;
  try {
    answer = await run({ signal, requestId: c.get('requestId'), attempts });
    c.header(UPSTREAM_HEADER, answer.upstream);
    return answer;
  } finally {
    const fields = c.get('logFields');
    if (answer) fields.upstream = answer.upstream;
    if (attempts.length > 1 || (!answer && attempts.length))
      fields.upstream_attempts = attempts.map(({ upstream, outcome }) => `${upstream}:${outcome}`);
  }
}
