import type { DurableObjectStorage } from 'cloudflare:workers';
import type { ExecutionContext } from 'hono';
import { type CountersNamespace, workersStores } from '../../../adapters/workers/workers-stores.ts';
import gateway, { GatewayCounters as Counters } from '../../../adapters/workers.ts';
import { type Bindings, loadConfig } from '../../../src/config.ts';

export { StreamLog } from '../../../adapters/workers/stream-log.ts';

import { createLogger } from '../../../src/logger.ts';
import type { CooldownStore } from '../../../src/stores/stores.ts';

/**
 * The gateway (adapters/workers.ts, unchanged) with two additions for
 * test/workers/cooldown-store.test.ts: `POST /__cooldowns/<instance>/<method>` calls the Workers
 * cooldown store (adapters/workers/workers-stores.ts) with the body's JSON array as its arguments,
 * each `<instance>` a store of its own, as each isolate builds one; and `GET /__inspect/<object>`
 * reads what a GatewayCounters object stores and when its alarm is due, while workerd runs it.
 */
export class GatewayCounters extends Counters {
  async inspect() {
    const count = (table: string) =>
      this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
    return {
      cooldowns: count('cooldowns'),
      probes: count('probes'),
      // workerd's storage API has it; adapters/workers/cloudflare-workers.d.ts declares only what the gateway uses.
      alarm: await (
        this.ctx.storage as DurableObjectStorage & { getAlarm(): Promise<number | null> }
      ).getAlarm(),
    };
  }
}

type Env = Bindings & { COUNTERS: CountersNamespace };

const stores = new Map<string, CooldownStore>();
const log = createLogger({ level: 'silent' });

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const { pathname } = new URL(request.url);
    const [, route, name = '', method = ''] = pathname.split('/').map(decodeURIComponent);
    if (route === '__inspect') {
      const counters = env.COUNTERS.get(env.COUNTERS.idFromName(name)) as unknown as GatewayCounters;
      return Response.json(await counters.inspect());
    }
    if (route !== '__cooldowns') return gateway.fetch(request, env, ctx);
    let store = stores.get(name);
    if (!store) {
      store = workersStores(env.COUNTERS)(loadConfig({ ...env, REDIS_TIMEOUT_MS: '5000' }), log).cooldowns;
      stores.set(name, store);
    }
    const call = store[method as keyof CooldownStore] as (...args: unknown[]) => Promise<unknown>;
    try {
      const result = await call(...((await request.json()) as unknown[]));
      return Response.json({ result: result instanceof Map ? [...result] : (result ?? null) });
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
  },
};
