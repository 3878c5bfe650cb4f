import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** Where a run happened and on what: printed with every run, and written beside its numbers. */
export type RunInfo = {
  date: string;
  command: string;
  machine: string;
  versions: string;
  revision: string;
  loadBefore: string;
  loadAfter?: string;
};

export function runInfo(args: string[]): RunInfo {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    machine: machine(),
    versions: [
      `node ${process.versions.node}`,
      `hono ${packageVersion('hono')}`,
      `@hono/node-server ${packageVersion('@hono/node-server')}`,
      `openai ${packageVersion('openai')}`,
    ].join(', '),
    revision: revision(),
    loadBefore: loadAverage(),
  };
}

export const loadAverage = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');

function machine(): string {
  const cpus = os.cpus();
  const memory = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${memory}, ${osName()}`;
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1];
    if (release) return `${release}, ${os.type()} ${os.release()}`;
  } catch {
    // Not Linux, or no os-release: the kernel's own name says enough.
  }
  return `${os.type()} ${os.release()}`;
}

function packageVersion(name: string): string {
  try {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The commit, and what of the code measured (src/, the Node adapter) differs from it. */
function revision(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: new URL('..', import.meta.url),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const changed = git('diff', 'HEAD', '--name-only', '--', 'src', 'adapters/node.ts').split('\n');
    const head = git('rev-parse', '--short', 'HEAD');
    return changed[0] ? `${head} + uncommitted changes (${changed.join(', ')})` : head;
  } catch {
    return 'unknown';
  }
}

const DOCS = new URL('../docs/benchmarks.md', import.meta.url);
const START = '<!-- bench:node:start -->';
const END = '<!-- bench:node:end -->';

/** Replaces the generated block of docs/benchmarks.md; the hand-written parts around it stay. */
export function writeDocs(block: string): void {
  const generated = `${START}\n${block.trim()}\n${END}`;
  const current = existsSync(DOCS) ? readFileSync(DOCS, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start !== -1 && end > start
      ? `${current.slice(0, start)}${generated}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n${generated}\n`;
  writeFileSync(DOCS, next);
}

/** A Markdown table from a header row and body rows. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
