import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { stopProcess } from './server-process.ts';

const ENTRY = fileURLToPath(new URL('../../adapters/node.ts', import.meta.url));

/**
 * The Node adapter in a process of its own, as `npm start` runs it (own memory, own stores), on a
 * free 127.0.0.1 port. Its JSON log lines are kept, parsed; it is stopped by its PID after the file.
 */
export async function startGatewayProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  afterAll(() => stopProcess(child, 'SIGTERM'));
  const logs: Record<string, unknown>[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, end)) as Record<string, unknown>;
        buffer = buffer.slice(end + 1);
        logs.push(line);
        if (line.event === 'listening') resolve(String(line.url));
      }
    });
    child.once('exit', (code) => reject(new Error(`the gateway process exited (${code}) before listening`)));
  });
  return { url, logs, pid: child.pid };
}
