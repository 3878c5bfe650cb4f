import type { DurableObjectStub } from 'cloudflare:workers';
import type { ResponseOwnerStore } from '../../src/stores/response-owner-store.ts';
// Types only: this file loads without workerd's `cloudflare:workers`, as workers-stores.ts does.
import type { GatewayCounters } from './gateway-counters.ts';

/** workers-stores.ts's bounded call to one named object. */
type CountersCall = <T>(
  name: string,
  method: (counters: DurableObjectStub<GatewayCounters>) => Promise<T>,
) => Promise<T>;

/**
 * Response owners every isolate shares: one GatewayCounters object per response id
 * (`response:<id>`), whose alarm deletes the entry, and then the object's storage, when it expires.
 */
export function workersResponseOwners(call: CountersCall, ttlSeconds: number): ResponseOwnerStore {
  const name = (responseId: string) => `response:${responseId}`;
  return {
    remember: (responseId, { keyId, unsettled }) =>
      call(name(responseId), (counters) =>
        counters.rememberOwner(responseId, keyId, unsettled, Date.now() + ttlSeconds * 1000),
      ),
    ownerOf: (responseId) => call(name(responseId), (counters) => counters.ownerOf(responseId)),
    claimUnsettled: (responseId) => call(name(responseId), (counters) => counters.claimUnsettled(responseId)),
  };
}
