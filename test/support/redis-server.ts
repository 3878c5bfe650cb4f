import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { freePort, stopProcess } from './server-process.ts';

export type RedisServer = {
  url: string;
  port: number;
  /** The running server's PID; undefined while it is stopped. */
  readonly pid: number | undefined;
  /** SIGKILL: Redis dies as in a crash, without closing its clients' connections politely. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is persisted). */
  restart(): Promise<void>;
  /**
   * SIGSTOP: Redis stalls as an overloaded or swapped-out server does. Its connections stay open
   * and every command waits unanswered; `resume()` (SIGCONT) lets it answer them.
   */
  pause(): void;
  resume(): void;
  /** Whether something answers PING on the port, asked over a fresh connection. */
  answers(): Promise<boolean>;
};

/**
 * A real `redis-server` (Debian's package; `npm test` installs it first, scripts/provision-test-tools.js)
 * on a free 127.0.0.1 port, with no persistence. It is stopped by its PID after the test file.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'gateway-redis-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    const failed = once(server, 'error').then(([error]) => {
      throw new Error(`cannot start redis-server (npm test installs it first): ${error}`);
    });
    child = server;
    // If the test process dies before afterAll, the server must not outlive it.
    const orphaned = () => server.kill('SIGKILL');
    process.once('exit', orphaned);
    server.once('exit', () => process.off('exit', orphaned));
    await Promise.race([waitForPong(port), failed]);
  };

  const stop = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    await stopProcess(running, signal);
  };

  const signal = (name: NodeJS.Signals) => {
    if (!child?.pid || child.exitCode !== null) throw new Error('redis-server is not running');
    process.kill(child.pid, name);
  };

  await start();
  const cleanUp = async () => {
    // A stopped process would not act on SIGTERM until it is continued.
    if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGCONT');
    await stop('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  // Inside a test, vitest ignores afterAll without a word (a server started there would outlive
  // the run): there the server stops when that test finishes.
  try {
    onTestFinished(cleanUp);
  } catch {
    afterAll(cleanUp);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    kill: () => stop('SIGKILL'),
    restart: start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    answers: () => ping(port),
  };
}

/** One PING over a fresh connection: true on PONG, false on a refusal, a close or 500 ms of silence. */
function ping(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
  });
}

/** Polls with PING until the server answers PONG (it listens a moment after the process starts). */
async function waitForPong(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
