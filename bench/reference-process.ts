import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { processUsage, serveRpc } from './child-rpc.ts';
import { referenceRelay } from './reference-relay.ts';

/**
 * The reference relay (bench/reference-relay.ts) served by @hono/node-server in its own process,
 * as bench/gateway-process.ts serves the gateway: its CPU and RSS are then its own. argv holds the
 * upstream's base URL.
 */

const baseURL = process.argv[2];
if (!baseURL) throw new Error('usage: reference-process.ts <upstream base URL>');
const app = referenceRelay({ apiKey: 'sk-bench', baseURL });
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});
const { port } = server.address() as AddressInfo;
// Present when the bench starts this process with --expose-gc (the memory scenario does).
const collect = (globalThis as { gc?: () => void }).gc;

serveRpc(
  {
    usage: () => processUsage(),
    gc: () => {
      collect?.();
      return collect !== undefined;
    },
    shutdown: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      setImmediate(() => process.exit(0));
    },
  },
  { url: `http://127.0.0.1:${port}` },
);
