import { describeError, type LogFields, type Logger } from '../logger.ts';
import { StoreUnavailableError, type TokenStore } from '../stores/stores.ts';
import type { ChatRequest, Usage } from '../upstream/chat-upstream.ts';
import type { ResponsesRequest } from '../upstream/responses-upstream.ts';
import { estimateUsage, promptOf } from './estimate-tokens.ts';
import type { UsageStore } from './usage-store.ts';

/** A finished completion, JSON or stream, whole or cut short, as the ledger settles it. */
export type Completion = {
  requestId: string;
  /** The client key's id; null when the gateway is open (usage then goes to `anonymous`). */
  keyId: string | null;
  /** Whom the token budget charges: the key, else the client address. */
  limitKey: string;
  /** The model that answered (the upstream's name for it when it gave one). */
  model: string;
  /** A chat completions request, or a Responses API one (its prompt is its instructions and input). */
  request: ChatRequest | ResponsesRequest;
  /** As the upstream reported it; null when it sent none (a stream cut short, some servers). */
  usage: Usage | null;
  /** The content relayed or returned, for estimating usage the upstream did not report. */
  completionText: string;
  /** The content deltas a stream relayed (0 for JSON). */
  contentDeltas: number;
  upstreamRequestId: string | null;
};

type LedgerOptions = {
  tokens: TokenStore;
  usage: UsageStore;
  /** Charge token budgets (TOKEN_LIMIT_MAX is set). */
  chargeTokens: boolean;
  /** LOG_BODIES: the prompt and the completion go on the log line. */
  logBodies: boolean;
  log: Logger;
};

/**
 * The one place a completion is accounted, exactly once, before its response ends (Lambda freezes
 * after): usage as reported, or estimated (src/usage/estimate-tokens.ts); the client's token
 * budget charged; the usage store (per hour, key and model) updated. Returns the fields of the
 * request's access-log line. Never throws: a failure only under-counts, and the line says so.
 */
export function createUsageLedger({
  tokens,
  usage: usageStore,
  chargeTokens,
  logBodies,
  log,
}: LedgerOptions) {
  const storeFailed = (event: string, requestId: string, error: unknown) => {
    // A shared store logs its own outage once; anything else is worth a line of its own.
    if (!(error instanceof StoreUnavailableError))
      log.error(event, { request_id: requestId, ...describeError(error) });
  };
  return async function settle(completion: Completion): Promise<LogFields> {
    const { requestId, model, request, completionText } = completion;
    const fields: LogFields = {
      model,
      ...(completion.upstreamRequestId ? { upstream_request_id: completion.upstreamRequestId } : {}),
      ...(logBodies ? { prompt: promptOf(request), completion: completionText } : {}),
    };
    let usage: Usage;
    try {
      usage =
        completion.usage ??
        estimateUsage(request, { text: completionText, deltas: completion.contentDeltas });
    } catch (error) {
      // A request the estimate cannot read, say: the client still gets its answer, the line says why.
      return { ...fields, usage_error: describeError(error).error };
    }
    Object.assign(fields, { usage, usage_estimated: !completion.usage });
    if (chargeTokens && usage.total_tokens > 0) {
      await tokens.charge(completion.limitKey, Math.ceil(usage.total_tokens)).catch((error) => {
        storeFailed('usage_not_charged', requestId, error);
      });
    }
    await usageStore
      .record({
        time: Date.now(),
        keyId: completion.keyId ?? 'anonymous',
        model,
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        estimated: !completion.usage,
      })
      .catch((error) => storeFailed('usage_not_recorded', requestId, error));
    return fields;
  };
}

export type UsageLedger = ReturnType<typeof createUsageLedger>;
