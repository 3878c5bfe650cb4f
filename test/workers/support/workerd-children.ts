import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * PIDs of the workerd processes that are children of this test process (miniflare spawns them
 * directly). Only these may be killed here: they are ours, and a child's PID cannot be reused
 * while it is still our child. `ps -A -o` reads the same on Linux and macOS; where there is no
 * `ps` (a slim container), this sees nothing and wrangler's own dispose() is all there is.
 */
export async function workerdChildren(): Promise<number[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=,comm=']));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, command]) => Number(ppid) === process.pid && command?.endsWith('workerd'))
    .map(([pid]) => Number(pid));
}
