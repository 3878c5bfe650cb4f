import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { describeError, type LogFields } from '../logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { AccessLog } from '../middleware/access-log.ts';
import { limitKeyOf } from '../middleware/limit-policy.ts';
import { responsesReader } from '../streaming/responses-reader.ts';
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

  /** Relays a Responses stream; `account` settles it (a new response) or not (a replay, settled when created). */
  const relay = (
    c: Context<AppEnv>,
    controller: AbortController,
    answer: UpstreamStream,
    startingAfter: number | undefined,
    account:
      | ((summary: {
          usage: Usage | null;
          completionText: string;
          contentDeltas: number;
        }) => Promise<LogFields>)
      | null,
  ) => {
    c.set('logAtStreamEnd', true);
    metrics.activeStreams.inc();
    let recorded: Promise<void> | undefined;
    const reader = responsesReader({
      startedAt: c.get('startedAt'),
      startingAfter,
      // Recorded as soon as the id is known, so a client that reconnects at once finds it.
      onResponseId: account
        ? (id) => {
            recorded = tenancy.remember(c, id);
          }
        : undefined,
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
        const fields = account ? await account(summary) : {};
        const failed = summary.finishReason === 'failed';
        accessLog.write(c, {
          ...fields,
          ...(account ? {} : { replay: true }),
          ...(answer.requestId ? { upstream_request_id: answer.requestId } : {}),
          response_id: summary.responseId,
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

  const passOn = (c: Context<AppEnv>, answer: UpstreamJson) => {
    if (answer.requestId) c.get('logFields').upstream_request_id = answer.requestId;
    return c.body(answer.body, 200, { 'Content-Type': 'application/json' });
  };

  return {
    async create(c: Context<AppEnv>, request: AllowedResponsesRequest) {
      await previous(c, request);
      const answer = await upstream.create(request, c.req.raw.signal);
      const response = answer.json as ResponseObject;
      const id = typeof response.id === 'string' ? response.id : null;
      const reason = reasonOf(response);
      if (id) await tenancy.remember(c, id);
      // A background response answers `queued`, with no usage yet: it is estimated from the prompt.
      const fields = await settle({
        ...ledger(c, request, typeof response.model === 'string' ? response.model : request.model),
        usage: usageOf(response),
        completionText: outputText(response),
        contentDeltas: 0,
        upstreamRequestId: answer.requestId,
      });
      Object.assign(c.get('logFields'), fields, {
        response_id: id,
        finish_reason: typeof response.status === 'string' ? response.status : null,
        ...(reason ? { reason } : {}),
      });
      return c.body(answer.body, 200, { 'Content-Type': 'application/json' });
    },

    /** Errors before the upstream answered throw (JSON errors); after that they travel in the stream. */
    async stream(c: Context<AppEnv>, request: AllowedResponsesRequest) {
      await previous(c, request);
      const controller = linked(c);
      const answer = await upstream.stream(request, controller.signal);
      return relay(c, controller, answer, undefined, (summary) =>
        settle({
          ...ledger(c, request, request.model),
          usage: summary.usage,
          completionText: summary.completionText,
          contentDeltas: summary.contentDeltas,
          upstreamRequestId: answer.requestId,
        }),
      );
    },

    async retrieve(c: Context<AppEnv>, id: string, query: string) {
      await tenancy.check(c, id);
      const params = new URLSearchParams(query);
      if (params.get('stream') === 'true') {
        const controller = linked(c);
        const after = Number.parseInt(params.get('starting_after') ?? '', 10);
        const answer = await upstream.replay(id, query, controller.signal);
        return relay(c, controller, answer, Number.isFinite(after) ? after : undefined, null);
      }
      return passOn(c, await upstream.retrieve(id, query, c.req.raw.signal));
    },

    async cancel(c: Context<AppEnv>, id: string) {
      await tenancy.check(c, id);
      return passOn(c, await upstream.cancel(id, c.req.raw.signal));
    },

    async delete(c: Context<AppEnv>, id: string) {
      await tenancy.check(c, id);
      return passOn(c, await upstream.delete(id, c.req.raw.signal));
    },

    async inputItems(c: Context<AppEnv>, id: string, query: string) {
      await tenancy.check(c, id);
      return passOn(c, await upstream.inputItems(id, query, c.req.raw.signal));
    },
  };
}

export type ResponsesRunner = ReturnType<typeof responsesRunner>;
