import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { GatewayError } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';
import type { ResponseOwnerStore } from '../stores/response-owner-store.ts';

/** OpenAI's own answer for an id it does not know: an id another key created looks exactly the same. */
export const responseNotFound = (id: string, param: string | null = null) =>
  new GatewayError({
    status: 404,
    type: 'invalid_request_error',
    code: null,
    param,
    message: `Response with id '${id}' not found.`,
  });

const ownersUnavailable = (cause: unknown) =>
  new GatewayError({
    status: 503,
    type: 'server_error',
    code: 'owner_store_unavailable',
    message: 'The gateway cannot check who owns this response right now; retry the request',
    cause,
  });

/**
 * The tenancy rule for stored responses (response-owner-store.ts): with client keys configured,
 * an id is answered only for the key that created it, and any other key gets OpenAI's 404; open
 * (no client keys, one tenant), ids pass as they are. A lookup the store cannot answer refuses the
 * request whatever REDIS_FAILURE_POLICY says: failing open here would hand out other keys' data.
 */
export function responseTenancy({ owners, log }: { owners: ResponseOwnerStore; log: Logger }) {
  return {
    async check(c: Context<AppEnv>, id: string, param: string | null = null): Promise<void> {
      const keyId = c.get('keyId');
      if (!keyId) return;
      let owner: string | null;
      try {
        owner = await owners.ownerOf(id);
      } catch (error) {
        throw ownersUnavailable(error);
      }
      if (owner !== keyId) throw responseNotFound(id, param);
    },

    /**
     * Records the creator of a new response (and, for a background one, that its usage is still to
     * be settled); a failure is logged, and the id stays unreadable to its creator.
     */
    async remember(c: Context<AppEnv>, id: string, { unsettled }: { unsettled: boolean }): Promise<void> {
      const keyId = c.get('keyId');
      if (!keyId && !unsettled) return;
      await owners.remember(id, { keyId: keyId ?? '', unsettled }).catch((error) => {
        log.error('response_owner_not_recorded', {
          request_id: c.get('requestId'),
          response_id: id,
          ...describeError(error),
        });
      });
    },

    /** Whether this request settles a background response's usage: true once, across instances. */
    async claimUnsettled(c: Context<AppEnv>, id: string): Promise<boolean> {
      return owners.claimUnsettled(id).catch((error) => {
        log.error('usage_not_settled', {
          request_id: c.get('requestId'),
          response_id: id,
          ...describeError(error),
        });
        return false;
      });
    },
  };
}

export type ResponseTenancy = ReturnType<typeof responseTenancy>;
