import type { ResponseOwnerStore } from './response-owner-store.ts';

// Past this many entries, expired ones are swept on the next write (a sweep on a write instead of
// a timer, because Workers allows no timers outside a request); past twice this, the oldest go.
const SWEEP_AT = 50_000;

/** Response owners kept in this process (or isolate) only: right for one Node server. */
export function memoryResponseOwners(ttlSeconds: number): ResponseOwnerStore {
  const owners = new Map<string, { keyId: string; unsettled: boolean; expiresAt: number }>();
  const live = (responseId: string) => {
    const entry = owners.get(responseId);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  };
  return {
    async remember(responseId, { keyId, unsettled }) {
      const now = Date.now();
      owners.delete(responseId);
      owners.set(responseId, { keyId, unsettled, expiresAt: now + ttlSeconds * 1000 });
      if (owners.size <= SWEEP_AT) return;
      for (const [id, entry] of owners) if (entry.expiresAt <= now) owners.delete(id);
      // Insertion order is expiry order (one TTL for all): the first entries are the oldest.
      for (const id of owners.keys()) {
        if (owners.size <= SWEEP_AT * 2) break;
        owners.delete(id);
      }
    },
    async ownerOf(responseId) {
      return live(responseId)?.keyId ?? null;
    },
    async claimUnsettled(responseId) {
      const entry = live(responseId);
      if (!entry?.unsettled) return false;
      entry.unsettled = false;
      return true;
    },
  };
}
