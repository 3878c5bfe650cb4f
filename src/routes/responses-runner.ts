import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError, type LogFields } from '../logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { AccessLog } from '../middleware/access-log.ts';
import { limitKeyOf } from '../middleware/limit-policy.ts';
import { type ResponsesStreamSummary, responsesReader } from '../streaming/responses-reader.ts';
import { SSE_HEADERS } from '../streaming/sse-frames.ts';
import { sseRelay } from '../streaming/sse-relay.ts';
import { StopReason } from '../streaming/stop-reason.ts';
import type { UpstreamStream, Usage } from '../upstream/chat-upstream.ts';
import { outputText, type ResponseObject, reasonOf, usageOf } from '../upstream/response-object.ts';
import type {
  AllowedResponsesRequest,
  ResponsesUpstream,
  UpstreamJson,
} from '../upstream/responses-upstream.ts';
import type { UsageLedger } from '../usage/usage-ledger.ts';
import type { ResponseTenancy } from './response-tenancy.ts';
import { traced } from './upstream-trace.ts';

type Options = {
  upstream: ResponsesUpstream;
  tenancy: ResponseTenancy;
  settle: UsageLedger;
  accessLog: AccessLog;
  metrics: GatewayMetrics;
  config: Pick<Config, 'REQUEST_TIMEOUT' | 'SSE_KEEPALIVE_MS'>;
  shutdownSignal?: ((request: Request) => AbortSignal | undefined) | undefined;
};

const never = new AbortController().signal;

// A response in one of these states has its final usage (or never will have more).
const FINISHED = new Set(['completed', 'incomplete', 'failed', 'cancelled']);

/**
 * What `/v1/responses` does once it has a request: the tenancy check on `previous_response_id`,
 * the upstream call with the client's signal, the usage ledger (JSON or stream, whole or cut
 * short), the creator of the new id recorded, and the access-log line with the response's status.
 */
export function responsesRunner(options: Options) {
  const { upstream, tenancy, settle, accessLog, metrics, config, shutdownSignal } = options;

  const previous = async (c: Context<AppEnv>, request: AllowedResponsesRequest) => {
    const id = request.previous_response_id;
    if (typeof id === 'string' && id) await tenancy.check(c, id, 'previous_response_id');
  };

  const ledger = (c: Context<AppEnv>, request: AllowedResponsesRequest, model: string) => ({
    requestId: c.get('requestId'),
    keyId: c.get('keyId'),
    limitKey: limitKeyOf(c),
    model,
    request,
  });

  /** A signal for the upstream call that the client's leaving aborts, and the relay owns. */
  const linked = (c: Context<AppEnv>) => {
    const controller = new AbortController();
    const clientSignal = c.req.raw.signal;
    if (clientSignal.aborted) controller.abort(StopReason.clientGone);
    else
      clientSignal.addEventListener('abort', () => controller.abort(StopReason.clientGone), { once: true });
    return controller;
  };

  /**
   * A background response's usage, settled by the first request that sees it finished (the
   * create, a retrieval, a replay, a cancel): exactly once, whichever instance that is.
   */
  const settleLater = async (c: Context<AppEnv>, id: string, usage: Usage | null, model: string) => {
    if (!usage || !(await tenancy.claimUnsettled(c, id))) return {};
    return settle({
      requestId: c.get('requestId'),
      keyId: c.get('keyId'),
      limitKey: limitKeyOf(c),
      model,
      request: { model, input: '' },
      usage,
      completionText: '',
      contentDeltas: 0,
      upstreamRequestId: null,
    });
  };

  type Account = (summary: ResponsesStreamSummary) => Promise<LogFields>;

  /**
   * Relays a Responses stream. `account` settles it when it ends; `onResponseId` records whose it
   * is as soon as its first event names it, so a client that reconnects at once finds it.
   */
  const relay = (
    c: Context<AppEnv>,
    controller: AbortController,
    answer: UpstreamStream,
    {
      responseId = null,
      startingAfter,
      remember,
      account,
    }: {
      /** Known before the stream names it (a replay from `starting_after` may never). */
      responseId?: string | null;
      startingAfter?: number;
      remember?: (id: string) => Promise<void>;
      account: Account;
    },
  ) => {
    c.set('logAtStreamEnd', true);
    metrics.activeStreams.inc();
    let recorded: Promise<void> | undefined;
    const reader = responsesReader({
      startedAt: c.get('startedAt'),
      ...(startingAfter === undefined ? {} : { startingAfter }),
      ...(remember
        ? {
            onResponseId: (id: string) => {
              recorded = remember(id);
            },
          }
        : {}),
    });
    const body = sseRelay({
      body: answer.body,
      upstream: controller,
      shutdownSignal: shutdownSignal?.(c.req.raw) ?? never,
      idleTimeoutMs: config.REQUEST_TIMEOUT,
      keepaliveMs: config.SSE_KEEPALIVE_MS,
      reader,
      onEnd: async () => {
        metrics.activeStreams.dec();
        await recorded;
        const summary = reader.summary;
        const fields = await account(summary);
        const failed = summary.finishReason === 'failed';
        accessLog.write(c, {
          ...fields,
          ...(answer.requestId ? { upstream_request_id: answer.requestId } : {}),
          response_id: summary.responseId ?? responseId,
          outcome: failed && summary.outcome === 'ok' ? 'upstream_error' : summary.outcome,
          finish_reason: summary.finishReason,
          ...(summary.reason ? { reason: summary.reason } : {}),
          ttft_ms: summary.firstTokenMs,
          ...(summary.error
            ? { code: summary.error.code, ...describeError(summary.error.cause ?? summary.error) }
            : {}),
        });
      },
    });
    return c.body(body, 200, SSE_HEADERS);
  };

  /** A lifecycle answer passed on; a background response seen finished in it is settled then. */
  const passOn = async (c: Context<AppEnv>, id: string, answer: UpstreamJson) => {
    const fields = c.get('logFields');
    if (answer.requestId) fields.upstream_request_id = answer.requestId;
    const response = answer.json as ResponseObject;
    if (response.object === 'response' && FINISHED.has(String(response.status))) {
      const model = typeof response.model === 'string' ? response.model : 'unknown';
      Object.assign(fields, await settleLater(c, id, usageOf(response), model));
    }
    return c.body(answer.body, 200, { 'Content-Type': 'application/json' });
  };

  return {
    async create(c: Context<AppEnv>, request: AllowedResponsesRequest) {
      await previous(c, request);
      const answer = await traced(c, (call) => upstream.create(request, call));
      const response = answer.json as ResponseObject;
      const id = typeof response.id === 'string' ? response.id : null;
      const status = typeof response.status === 'string' ? response.status : null;
      const reason = reasonOf(response);
      // A background response answers `queued`, with no usage yet: it is settled when seen finished.
      const deferred = request.background === true && !FINISHED.has(String(status));
      if (id) await tenancy.remember(c, id, { unsettled: deferred });
      const fields = deferred
        ? { model: request.model, usage_deferred: true }
        : await settle({
            ...ledger(c, request, typeof response.model === 'string' ? response.model : request.model),
            usage: usageOf(response),
            completionText: outputText(response),
            contentDeltas: 0,
            upstreamRequestId: answer.requestId,
          });
      Object.assign(c.get('logFields'), fields, {
        response_id: id,
        finish_reason: status,
        ...(reason ? { reason } : {}),
      });
      return c.body(answer.body, 200, { 'Content-Type': 'application/json' });
    },

    /** Errors before the upstream answered throw (JSON errors); after that they travel in the stream. */
    async stream(c: Context<AppEnv>, request: AllowedResponsesRequest) {
      await previous(c, request);
      const controller = linked(c);
      const answer = await traced(c, (call) => upstream.stream(request, call), controller.signal);
      const background = request.background === true;
      const settleNow = (summary: ResponsesStreamSummary) =>
        settle({
          ...ledger(c, request, answer.model ?? request.model),
          usage: summary.usage,
          completionText: summary.completionText,
          contentDeltas: summary.contentDeltas,
          upstreamRequestId: answer.requestId,
        });
      return relay(c, controller, answer, {
        remember: (id) => tenancy.remember(c, id, { unsettled: background }),
        // A background response goes on upstream when its stream is cut short: it is settled by
        // whoever sees it finish (a replay, a retrieval), not estimated now.
        account: async (summary) => {
          if (!background) return settleNow(summary);
          if (summary.usage && summary.responseId && (await tenancy.claimUnsettled(c, summary.responseId)))
            return settleNow(summary);
          return { model: request.model, usage_deferred: summary.usage === null };
        },
      });
    },

    async retrieve(c: Context<AppEnv>, id: string, query: string) {
      await tenancy.check(c, id);
      const params = new URLSearchParams(query);
      if (params.get('stream') === 'true') {
        const controller = linked(c);
        const after = Number.parseInt(params.get('starting_after') ?? '', 10);
        const answer = await upstream.replay(id, query, controller.signal);
        return relay(c, controller, answer, {
          responseId: id,
          ...(Number.isFinite(after) ? { startingAfter: after } : {}),
          account: async (summary) => ({
            replay: true,
            ...(await settleLater(c, id, summary.usage, summary.model ?? 'unknown')),
          }),
        });
      }
      return passOn(c, id, await upstream.retrieve(id, query, c.req.raw.signal));
    },

    async cancel(c: Context<AppEnv>, id: string) {
      await tenancy.check(c, id);
      return passOn(c, id, await upstream.cancel(id, c.req.raw.signal));
    },

    async delete(c: Context<AppEnv>, id: string) {
      await tenancy.check(c, id);
      return passOn(c, id, await upstream.delete(id, c.req.raw.signal));
    },

    async inputItems(c: Context<AppEnv>, id: string, query: string) {
      await tenancy.check(c, id);
      return passOn(c, id, await upstream.inputItems(id, query, c.req.raw.signal));
    },
  };
}

export type ResponsesRunner = ReturnType<typeof responsesRunner>;
