import { Hono } from 'hono';
import pkg from '../../package.json' with { type: 'json' };
import type { AppEnv } from '../app-env.ts';
import { allowOnly } from './method-not-allowed.ts';

/** Liveness and what this instance is: never calls the upstream. */
export function healthRoute({ mode, bootedAt }: { mode: 'mock' | 'upstream'; bootedAt: number }) {
  return new Hono<AppEnv>()
    .get('/', (c) =>
      c.json({
        status: 'ok',
        version: pkg.version,
        mode,
        uptime_seconds: Math.round((Date.now() - bootedAt) / 1000),
      }),
    )
    .all('/', allowOnly('GET'));
}
