import type { ExecutionContext } from 'hono';
import gateway from '../../../adapters/workers.ts';
import type { Bindings } from '../../../src/config.ts';

// wrangler.toml binds STREAM_LOGS to this class: every entry module built from it must export it.
export { StreamLog } from '../../../adapters/workers/stream-log.ts';

/**
 * A second Worker for test/workers/shared-state.test.ts: the gateway itself (adapters/workers.ts,
 * unchanged), in its own workerd process, with COUNTERS bound to the other worker's objects. Under
 * a path prefix it serves the same gateway with a different env, to see what the adapter does with
 * a binding that is missing or cannot be reached, or with REDIS_URL, without another workerd.
 */
const variants: Record<string, (env: Bindings) => Bindings> = {
  '/without-binding': ({ COUNTERS: _, ...env }) => env,
  '/unreachable-closed': (env) => ({ ...env, COUNTERS: env.UNREACHABLE, REDIS_FAILURE_POLICY: 'closed' }),
  '/unreachable-open': (env) => ({ ...env, COUNTERS: env.UNREACHABLE, REDIS_FAILURE_POLICY: 'open' }),
  '/with-redis-url': (env) => ({ ...env, REDIS_URL: 'redis://127.0.0.1:6379' }),
};

// One env object per variant, as Workers keeps one per isolate: the adapter memoises per env.
const envs = new Map<string, Bindings>();

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
    const url = new URL(request.url);
    const prefix = Object.keys(variants).find((name) => url.pathname.startsWith(`${name}/`));
    if (!prefix) return gateway.fetch(request, env, ctx);
    let variant = envs.get(prefix);
    if (!variant) {
      variant = variants[prefix]!(env);
      envs.set(prefix, variant);
    }
    url.pathname = url.pathname.slice(prefix.length);
    return gateway.fetch(new Request(url, request), variant, ctx);
  },
};
