import type { Bindings } from '../../src/config.ts';
import { startWorker } from '../workers/support/start-worker.ts';
import type { FakeUpstream, Scenario } from './fake-upstream.ts';
import { startGateway } from './start-gateway.ts';

/**
 * What a behaviour test needs of a running gateway, whichever runtime serves it: its URL, the fake
 * upstream it calls, its parsed log lines, and requests over a real socket.
 */
export type Harness = {
  runtime: 'node' | 'workerd';
  url: string;
  upstream: FakeUpstream;
  logs: Record<string, unknown>[];
  get(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
};

type Start = (options?: { bindings?: Bindings; upstreamDefaults?: Scenario }) => Promise<Harness>;

/**
 * The two servers one behaviour suite runs against with `describe.each(runtimes)`: the Node adapter
 * on a port (test/support/start-gateway.ts), and the Worker in workerd through wrangler
 * (test/workers/support/start-worker.ts). Both stop after the test file. A workerd takes seconds
 * to start: start one per describe block, in `beforeAll` or at its top.
 */
export const runtimes: [string, Start][] = [
  [
    'Node',
    async ({ bindings, upstreamDefaults } = {}) => ({
      runtime: 'node',
      ...(await startGateway({ bindings, upstreamDefaults })),
    }),
  ],
  [
    'workerd',
    async ({ bindings, upstreamDefaults } = {}) => ({
      runtime: 'workerd',
      ...(await startWorker({ vars: bindings as Record<string, string>, upstreamDefaults })),
    }),
  ],
];
