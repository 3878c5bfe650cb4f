/**
 * Why the gateway aborted an upstream request. An aborted upstream read only says "aborted", so
 * the relay reads the signal's reason to tell a client that left from a timeout or a shutdown.
 */
export const StopReason = {
  clientGone: new Error('client disconnected'),
  timeout: new Error('upstream idle timeout'),
  shutdown: new Error('gateway shutting down'),
  failed: new Error('stream failed'),
} as const;
