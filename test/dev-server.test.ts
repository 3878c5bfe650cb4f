import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/start-gateway.ts';

const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** `npm run dev` in a process group of its own, as a terminal runs it, on a free port. */
function runDev(env: Record<string, string> = {}) {
  // npm sets npm_execpath for the scripts it runs (vitest under `npm test`); a bare run finds npm on PATH.
  const npm = process.env.npm_execpath;
  const child = spawn(npm ? process.execPath : 'npm', [...(npm ? [npm] : []), 'run', 'dev', '--silent'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data) => {
    stdout += data;
  });
  child.stderr.on('data', (data) => {
    stderr += data;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    exited,
    output: () => ({ stdout, stderr }),
    /** Ctrl-C: SIGINT to the whole group, as the terminal sends it. */
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
  };
}

describe('npm run dev', () => {
  it('prints readable lines, says it runs the mock model, and ends cleanly on Ctrl-C', {
    timeout: 30_000,
  }, async () => {
    const dev = runDev();
    await waitFor(() => /listening url=http:\/\/127\.0\.0\.1:\d+/.test(dev.output().stdout), 20_000);
    const url = dev.output().stdout.match(/listening url=(\S+)/)?.[1];
    const response = await fetch(`${url}/api/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    await waitFor(() => dev.output().stdout.includes('POST /api/completions 200'));

    dev.interrupt();
    const [code, signal] = await dev.exited;
    const { stdout, stderr } = dev.output();
    // npm reports a Ctrl-C it received itself as 130; nothing may have crashed on the way.
    expect(signal === 'SIGINT' || code === 0 || code === 130).toBe(true);
    expect(stderr).toBe('');
    expect(stdout).not.toMatch(/Assertion failed|Aborted|\.env not found|Error/);
    const lines = stdout.trim().split('\n');
    expect(lines.find((line) => line.includes('mock_mode'))).toMatch(
      /^\d\d:\d\d:\d\d WARN mock_mode No OPENAI_API_KEY/,
    );
    expect(lines.find((line) => line.includes('POST /api/completions'))).toMatch(
      /^\d\d:\d\d:\d\d POST \/api\/completions 200 \d+ms gpt-4o-mini \d+\+\d+ tokens ok/,
    );
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d shutdown signal=SIGINT$/);
  });

  it('ends cleanly on Ctrl-C after a failed start too', { timeout: 30_000 }, async () => {
    const dev = runDev({ REQUEST_TIMEOUT: 'soon' });
    await waitFor(
      () => `${dev.output().stdout}${dev.output().stderr}`.includes('Waiting for file changes'),
      20_000,
    );
    expect(dev.output().stderr).toContain('REQUEST_TIMEOUT: ');
    dev.interrupt();
    const [code, signal] = await dev.exited;
    expect(signal === 'SIGINT' || code === 0 || code === 130).toBe(true);
    expect(dev.output().stderr).not.toMatch(/Assertion failed|Aborted/);
  });

  it('keeps JSON lines when LOG_FORMAT=json', { timeout: 30_000 }, async () => {
    const dev = runDev({ LOG_FORMAT: 'json' });
    await waitFor(() => dev.output().stdout.includes('"event":"listening"'), 20_000);
    dev.interrupt();
    await dev.exited;
    for (const line of dev.output().stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});
