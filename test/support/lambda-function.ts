import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, onTestFinished } from 'vitest';
import { buildLambda } from '../../adapters/lambda/build.ts';
import { RIC_ENTRY } from '../lambda-runtime/ric.ts';
import {
  type Invocation,
  NEXT_INVOCATION_MARKER,
  type RuntimeApi,
  startRuntimeApi,
} from './lambda-runtime-api.ts';

const HOOKS = fileURLToPath(new URL('./lambda-ric-hooks.ts', import.meta.url));

export type LambdaFunction = {
  api: RuntimeApi;
  process: ChildProcess;
  /** JSON lines the function wrote to stdout (the gateway's logs). */
  logs: Record<string, unknown>[];
  /** Everything else it printed (the runtime's own lines). */
  output: () => string;
  /**
   * Queues an event. Its `settled` resolves once the runtime asked for its next event and every
   * line the function printed during the invocation has been read into `logs` and `output`.
   */
  invoke(event: unknown, options?: { timeoutMs?: number }): Invocation;
  /** performance.now() at the spawn, and when the runtime first asked for an event (init done). */
  spawnedAt: number;
  readyAt: number;
  exited: Promise<number | null>;
  /** Resolves after the exit, once everything the process printed has been read. */
  closed: Promise<void>;
  stop(): Promise<void>;
};

/**
 * The deployable bundle, built as `npm run build:lambda` builds it (or `entry` built the same
 * way), into a folder removed after the test file.
 */
export async function buildBundle(entry?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-lambda-'));
  await buildLambda({ outdir: dir, ...(entry ? { entry } : {}) });
  cleanUp(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type LaunchOptions = {
  taskRoot: string;
  handler?: string;
  /** The function's environment, or a function of the Runtime API (for settings that name it). */
  env?: Record<string, string> | ((api: RuntimeApi) => Record<string, string>);
};

/** launchLambdaFunction, stopped after the test that started it, or after the file. */
export async function startLambdaFunction(options: LaunchOptions): Promise<LambdaFunction> {
  const fn = await launchLambdaFunction(options);
  cleanUp(fn.stop);
  return fn;
}

/** Inside a test, when it finishes; at a file's top level, after the file (vitest ignores afterAll in a test). */
function cleanUp(step: () => Promise<unknown>) {
  try {
    onTestFinished(async () => {
      await step();
    });
  } catch {
    afterAll(async () => {
      await step();
    });
  }
}

/**
 * Runs `taskRoot/index.mjs` the way Lambda's Node.js runtime does: the real aws-lambda-ric as the
 * process (it defines `awslambda`, imports the handler, streams the response to the Runtime API),
 * against a local Runtime API. Resolves once the function is initialised, or failed to be.
 */
export async function launchLambdaFunction(options: LaunchOptions): Promise<LambdaFunction> {
  const api = await startRuntimeApi();
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, ['--import', HOOKS, RIC_ENTRY], {
    env: {
      PATH: process.env.PATH,
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      AWS_LAMBDA_RUNTIME_API: api.address,
      LAMBDA_TASK_ROOT: options.taskRoot,
      _HANDLER: options.handler ?? 'index.handler',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'gateway',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/gateway',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/24/[$LATEST]0123456789abcdef',
      ...(typeof options.env === 'function' ? options.env(api) : options.env),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let output = '';
  let pending = '';
  // Invocations whose output has all been read: the stand-in runtime client prints a marker line
  // after it, before it asks for the next event (lambda-rapid-client.ts).
  const drained = new Set<string>();
  const drainWaiters = new Map<string, () => void>();
  child.stdout?.on('data', (data: Buffer) => {
    pending += data;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(NEXT_INVOCATION_MARKER)) {
        const id = line.slice(NEXT_INVOCATION_MARKER.length);
        drained.add(id);
        drainWaiters.get(id)?.();
      } else if (line.startsWith('{')) logs.push(JSON.parse(line));
      else output += `${line}\n`;
    }
  });
  child.stderr?.on('data', (data: Buffer) => {
    output += data;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // After 'exit', and after the process's pipes have been read to their end.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const outputRead = (id: string) =>
    new Promise<void>((resolve, reject) => {
      if (drained.has(id)) return resolve();
      drainWaiters.set(id, resolve);
      void closed.then(() => {
        drainWaiters.delete(id);
        if (drained.has(id)) resolve();
        else reject(new Error(`the function exited during invocation ${id}`));
      });
    });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await api.close();
  };
  await Promise.race([api.ready, api.initError, exited]);
  const readyAt = performance.now();
  return {
    spawnedAt,
    readyAt,
    api,
    process: child,
    logs,
    output: () => output,
    invoke(event, invokeOptions) {
      const invocation = api.invoke(event, invokeOptions);
      // What the function printed during the invocation travels on another pipe than its request
      // for the next event: settled waits for both, so tests can read all its log lines then.
      const settled = Promise.all([invocation.settled, outputRead(invocation.id)]).then(() => {});
      // A test that never awaits settled (the function crashes on purpose) must not see a rejection.
      settled.catch(() => {});
      invocation.settled = settled;
      return invocation;
    },
    exited,
    closed,
    stop,
  };
}
