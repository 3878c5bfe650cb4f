import { type ChildProcess, fork } from 'node:child_process';

/**
 * Request/reply over the IPC channel between `bench/run.ts` and its child processes (the gateway
 * and the fake upstream each run in their own process, so their CPU and RSS are their own).
 */
type Call = { rpc: number; method: string; args: unknown };
type Reply = { rpc: number; result?: unknown; error?: string };
type Handlers = Record<string, (args: never) => unknown>;

/** In a child: answers calls, then tells the parent it is ready with `ready`'s value. */
export function serveRpc(handlers: Handlers, ready: unknown): void {
  process.on('message', async (message: Call) => {
    const handler = handlers[message.method];
    let reply: Reply;
    try {
      if (!handler) throw new Error(`unknown method ${message.method}`);
      reply = { rpc: message.rpc, result: await handler(message.args as never) };
    } catch (error) {
      reply = { rpc: message.rpc, error: String(error) };
    }
    process.send?.(reply);
  });
  process.send?.({ rpc: 0, result: ready });
  // The parent going away (a crash, Ctrl-C) must not leave a server running.
  process.on('disconnect', () => process.exit(0));
}

export type Child = {
  process: ChildProcess;
  call<T>(method: string, args?: unknown): Promise<T>;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
};

/** Forks a `.ts` script on this same Node and waits for its `ready` value. */
export async function startChild<Ready>(
  script: URL,
  { args = [], execArgv = [] }: { args?: string[]; execArgv?: string[] } = {},
): Promise<{ child: Child; ready: Ready }> {
  const proc = fork(script, args, { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let next = 1;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  void exited.then((code) => {
    for (const { reject } of pending.values()) reject(new Error(`${script.pathname} exited (${code})`));
    pending.clear();
  });
  const ready = new Promise<Ready>((resolve, reject) => {
    pending.set(0, { resolve: resolve as (value: unknown) => void, reject });
  });
  proc.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.rpc);
    if (!waiter) return;
    pending.delete(reply.rpc);
    if (reply.error) waiter.reject(new Error(reply.error));
    else waiter.resolve(reply.result);
  });
  const child: Child = {
    process: proc,
    exited,
    call: (method, args) =>
      new Promise((resolve, reject) => {
        const rpc = next++;
        pending.set(rpc, { resolve: resolve as (value: unknown) => void, reject });
        proc.send({ rpc, method, args } satisfies Call);
      }),
  };
  return { child, ready: await ready };
}

/** CPU and memory of a process, as its children report them. */
export type ProcessUsage = { cpuMs: number; systemMs: number; rss: number; heapUsed: number };

export function processUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    systemMs: cpu.system / 1000,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
  };
}
