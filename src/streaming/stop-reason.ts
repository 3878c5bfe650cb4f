/**
 * Why the gateway aborted an upstream request. The SDK's stream ends quietly on abort, so the
 * relay reads the signal's reason to tell a client that left from a timeout or a shutdown.
 */
export const StopReason = {
  clientGone: new Error('client disconnected'),
  timeout: new Error('upstream idle timeout'),
  shutdown: new Error('gateway shutting down'),
} as const;
