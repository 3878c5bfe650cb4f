import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../src/app.ts';
import { type Bindings, ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { playgroundEnabled } from '../src/routes/playground.ts';
import { upstreamMode } from '../src/upstream/create-upstream.ts';
import { nodeStores } from './node/node-stores.ts';
import { upstreamFetch } from './node/upstream-fetch.ts';

export type NodeGateway = {
  url: string;
  port: number;
  mode: 'mock' | 'upstream';
  /** The playground page's address, when it is on. */
  playground: string | undefined;
  /** Stops accepting, lets open streams finish for SHUTDOWN_TIMEOUT_MS, then ends them with an error event. */
  shutdown(): Promise<void>;
};

type StartOptions = {
  bindings: Bindings;
  /** Overrides HOST and PORT (tests bind 127.0.0.1 on port 0). */
  hostname?: string;
  port?: number;
  writeLog?: (line: string) => void;
  colorLogs?: boolean;
};

/** Serves the app with @hono/node-server. Throws ConfigError before listening if a binding is wrong. */
export async function startNodeGateway(options: StartOptions): Promise<NodeGateway> {
  const { bindings } = options;
  const config = loadConfig(bindings);
  const log = createLogger({
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    color: options.colorLogs,
    // Straight to stdout: console.log formats its arguments first, a cost on every request.
    write: options.writeLog ?? writeStdout,
  });
  const stopping = new AbortController();
  // The socket's address, handed over beside the request.
  const addresses = new WeakMap<Request, string>();
  // Redis-backed limits when REDIS_URL is set: Node can open the connection, Workers cannot.
  const stores = await nodeStores(config, log);
  const upstream = upstreamFetch();
  const app = createApp({
    config,
    log,
    stores,
    shutdownSignal: () => stopping.signal,
    clientAddress: (request) => addresses.get(request),
    upstreamTransport: upstream.transport,
  });

  const hostname = options.hostname ?? config.HOST;
  const server = serve({
    fetch: async (request, { incoming }) => {
      if (incoming.socket.remoteAddress) addresses.set(request, incoming.socket.remoteAddress);
      const response = await app.fetch(request);
      // Without a length or chunked encoding, @hono/node-server waits a timer tick for more body
      // before it writes the headers: a stream's first frame would wait with them.
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        response.headers.set('transfer-encoding', 'chunked');
      }
      return response;
    },
    hostname,
    port: options.port ?? config.PORT,
  }) as Server;
  server.keepAliveTimeout = config.KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch(async (error) => {
    await stores.close();
    upstream.close();
    throw error;
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const shutdown = () => {
    closing ??= new Promise<void>((resolve) => {
      const endStreams = setTimeout(() => {
        stopping.abort();
        // Streams write their error event on the next tick; then the last sockets go.
        setTimeout(() => server.closeAllConnections(), 200).unref();
      }, config.SHUTDOWN_TIMEOUT_MS);
      // Keep-alive sockets turn idle as their streams end; close them as they do, not at keepAliveTimeout.
      const reapIdle = setInterval(() => server.closeIdleConnections(), 50);
      server.close(() => {
        clearTimeout(endStreams);
        clearInterval(reapIdle);
        resolve();
      });
      server.closeIdleConnections();
    })
      .then(() => stores.close())
      .finally(() => upstream.close());
    return closing;
  };

  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const url = `http://${host}:${port}`;
  const playground = playgroundEnabled(config) ? `${url}/playground` : undefined;
  return { url, port, mode: upstreamMode(config), playground, shutdown };
}

const writeStdout = (line: string) => void process.stdout.write(`${line}\n`);

if (import.meta.main) {
  // `--dev` (npm run dev): lines for a person unless LOG_FORMAT says otherwise.
  const bindings: Bindings = process.argv.includes('--dev')
    ? { LOG_FORMAT: 'pretty', ...process.env }
    : process.env;
  try {
    const config = loadConfig(bindings);
    const colorLogs = process.stdout.isTTY && !process.env.NO_COLOR;
    const log = createLogger({
      level: config.LOG_LEVEL,
      format: config.LOG_FORMAT,
      color: colorLogs,
      write: writeStdout,
    });
    const gateway = await startNodeGateway({ bindings, colorLogs });
    log.info('listening', {
      url: gateway.url,
      mode: gateway.mode,
      ...(gateway.playground ? { playground: gateway.playground } : {}),
    });
    let signals = 0;
    const onSignal = async (signal: string) => {
      if (++signals > 1) process.exit(1);
      log.info('shutdown', { signal });
      await gateway.shutdown();
      process.exit(0);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
