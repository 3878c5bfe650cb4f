import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { invalidRequest } from '../errors.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { requireAdmin } from '../middleware/require-admin.ts';
import type { UsageStore } from '../usage/usage-store.ts';
import * as z from '../zod-mini.ts';
import { allowOnly } from './method-not-allowed.ts';

const DAY_MS = 86_400_000;

/** An instant as epoch milliseconds or an ISO 8601 date. */
const Instant = z
  .pipe(
    z.string(),
    z.transform((text) => (/^\d+$/.test(text) ? Number(text) : Date.parse(text))),
  )
  .check(z.refine(Number.isFinite, 'expected epoch milliseconds or an ISO 8601 date'));

const UsageQuery = z.object({ from: z.optional(Instant), to: z.optional(Instant) });

/**
 * The operator's endpoints, behind ADMIN_API_KEY: `GET /api/usage` (token totals per key and per
 * model over a time range, in whole hours) and `GET /metrics` (Prometheus text, this instance).
 */
type Options = { adminKey: string | undefined; usage: UsageStore; metrics: GatewayMetrics };

export function adminRoutes({ adminKey, usage, metrics }: Options) {
  const admin = requireAdmin({ adminKey });
  return new Hono<AppEnv>()
    .get(
      '/api/usage',
      admin,
      zValidator('query', UsageQuery, (result) => {
        if (!result.success)
          throw invalidRequest(
            `Invalid ${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message}`,
            String(result.error.issues[0]?.path[0] ?? ''),
            'invalid_value',
          );
      }),
      async (c) => {
        const query = c.req.valid('query');
        const to = query.to ?? Date.now();
        const from = query.from ?? to - DAY_MS;
        if (from >= to) throw invalidRequest('from must be before to', 'from', 'invalid_value');
        if (to - from > 31 * DAY_MS)
          throw invalidRequest('The range can span at most 31 days', 'from', 'invalid_value');
        return c.json(await usage.totals(from, to));
      },
    )
    .get('/metrics', admin, (c) =>
      c.body(metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
    )
    .all('/api/usage', allowOnly('GET'))
    .all('/metrics', allowOnly('GET'));
}
