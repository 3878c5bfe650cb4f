import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startNodeGateway } from '../adapters/node.ts';
import { processUsage, serveRpc } from './child-rpc.ts';

/**
 * The gateway (Node adapter, as `npm start` runs it) in its own process, so the RSS and CPU the
 * bench reads are the gateway's alone. Bindings arrive as JSON in argv; log lines go to this
 * process's stdout, which the bench discards: they are formatted and written as in production.
 */

const bindings = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const gateway = await startNodeGateway({ bindings, hostname: '127.0.0.1', port: 0 });
// Present when the bench starts this process with --expose-gc (the memory scenario does).
const collect = (globalThis as { gc?: () => void }).gc;
// V8's CPU profiler, as `node --cpu-prof` runs it, but started after the warm-up: start-up and
// compilation then stay out of the profile, which shows the steady state only.
const inspector = new Session();

serveRpc(
  {
    usage: () => processUsage(),
    gc: () => {
      collect?.();
      return collect !== undefined;
    },
    profileStart: async ({ intervalUs }: { intervalUs: number }) => {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: intervalUs });
      await inspector.post('Profiler.start');
    },
    /** Writes the profile (the `.cpuprofile` format of `--cpu-prof`) to `file`. */
    profileStop: async ({ file }: { file: string }) => {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      inspector.disconnect();
    },
    /** Exits normally, so `--cpu-prof`, when given, gets to write its profile. */
    shutdown: async () => {
      await gateway.shutdown();
      setImmediate(() => process.exit(0));
    },
  },
  { url: gateway.url },
);
