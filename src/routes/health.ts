import { Hono } from 'hono';
import pkg from '../../package.json' with { type: 'json' };
import type { AppEnv } from '../app-env.ts';
import { allowOnly } from './method-not-allowed.ts';

/** Liveness and what this instance is: never calls the upstream. */
export function healthRoute({
  mode,
  upstreams,
  bootedAt,
}: {
  mode: 'mock' | 'upstream';
  /** Names only: never a URL (it may carry credentials) or a key. */
  upstreams: string[];
  bootedAt: number;
}) {
  return new Hono<AppEnv>()
    .get('/', (c) =>
      c.json({
        status: 'ok',
        version: pkg.version,
        mode,
        upstreams,
        uptime_seconds: Math.round((Date.now() - bootedAt) / 1000),
      }),
    )
    .all('/', allowOnly('GET'));
}
