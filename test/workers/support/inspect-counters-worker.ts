import type { DurableObjectNamespace, DurableObjectStorage } from 'cloudflare:workers';
import type { ExecutionContext } from 'hono';
import gateway, { GatewayCounters as Counters } from '../../../adapters/workers.ts';
import type { Bindings } from '../../../src/config.ts';

// wrangler.toml binds STREAM_LOGS to this class: every entry module built from it must export it.
export { StreamLog } from '../../../adapters/workers/stream-log.ts';

/**
 * The gateway (adapters/workers.ts, unchanged) with one addition for
 * test/workers/counters-alarm.test.ts: the GatewayCounters class wrangler.toml binds, extended by
 * a read-only `inspect()`, and `GET /__inspect/<object name>` to call it. What the object stores
 * and when its alarm is due can then be read from outside, while workerd runs the alarms itself.
 */
export class GatewayCounters extends Counters {
  async inspect() {
    const count = (table: string) =>
      this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
    return {
      hits: count('hits'),
      tokens: count('tokens'),
      usage: count('usage'),
      // workerd's storage API has it; adapters/workers/cloudflare-workers.d.ts declares only what the gateway uses.
      alarm: await (
        this.ctx.storage as DurableObjectStorage & { getAlarm(): Promise<number | null> }
      ).getAlarm(),
    };
  }
}

type Env = Bindings & { COUNTERS: DurableObjectNamespace<GatewayCounters> };

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith('/__inspect/')) return gateway.fetch(request, env, ctx);
    const name = decodeURIComponent(pathname.slice('/__inspect/'.length));
    const counters = env.COUNTERS.get(env.COUNTERS.idFromName(name));
    return Response.json(await counters.inspect());
  },
};
