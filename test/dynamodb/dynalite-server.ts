import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { type DynamoDbCall, dynamoDbClient } from '../../adapters/node/dynamodb-client.ts';
import { loadConfig } from '../../src/config.ts';
import { freePort, stopProcess } from '../support/server-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DYNALITE = join(dirname(createRequire(import.meta.url).resolve('dynalite/package.json')), 'cli.js');
const OSLS = join(ROOT, 'node_modules/osls/bin/serverless.js');

export type Resource = { Type: string; Condition?: string; Properties: Record<string, unknown> };
export type Template = {
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
};

/**
 * The CloudFormation `osls package` makes of the repository's serverless.yml, with `params` passed
 * as --param. Packaged in a scratch folder holding a copy of serverless.yml and a stand-in bundle, so
 * it neither builds nor touches dist/ (other test files build there); about 6 s.
 */
export async function packagedTemplate(params: Record<string, string> = {}): Promise<Template> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-template-'));
  try {
    await copyFile(join(ROOT, 'serverless.yml'), join(dir, 'serverless.yml'));
    await mkdir(join(dir, 'dist/lambda'), { recursive: true });
    await writeFile(join(dir, 'dist/lambda/index.mjs'), 'export const handler = () => {};\n');
    const args = [OSLS, 'package', '--package', join(dir, 'out')];
    for (const [name, value] of Object.entries(params)) args.push(`--param=${name}=${value}`);
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data) => {
      output += data;
    });
    child.stderr.on('data', (data) => {
      output += data;
    });
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`osls package failed:\n${output}`);
    return JSON.parse(await readFile(join(dir, 'out/cloudformation-template-update-stack.json'), 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The one AWS::DynamoDB::Table of a template. */
export function tableOf(template: Template): Resource & { name: string } {
  const tables = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1) throw new Error(`expected one table in the template, found ${tables.length}`);
  const [[name, resource]] = tables as [[string, Resource]];
  return { name, ...resource };
}

export type Dynalite = {
  endpoint: string;
  table: string;
  /** The bindings a gateway needs to use the table. */
  bindings: Record<string, string>;
  /** The test's own client of the table, for looking at items. */
  call: DynamoDbCall;
  readonly pid: number | undefined;
  /** Stops the server by its PID (SIGKILL, as in a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port and creates the table again (dynalite keeps nothing). */
  restart(): Promise<void>;
};

/**
 * A real DynamoDB-compatible server, dynalite (in memory), on a free 127.0.0.1 port, with the table
 * created from `table`'s CloudFormation properties: the definition serverless.yml deploys. dynalite
 * has no TTL API, so TimeToLiveSpecification is left out of the call (the template test checks it).
 * Stopped by its PID after the test file.
 */
export async function startDynalite(
  table: Resource,
  // Outside vitest (the Lambda bench), the caller stops it with `kill`.
  { stopAfterFile = true }: { stopAfterFile?: boolean } = {},
): Promise<Dynalite> {
  const port = await freePort();
  const name = 'gateway-test';
  const endpoint = `http://127.0.0.1:${port}`;
  const bindings = {
    DYNAMODB_TABLE: name,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDTESTONLY',
    AWS_SECRET_ACCESS_KEY: 'test-only-secret',
    AWS_SESSION_TOKEN: 'test-only-session',
  };
  const call = dynamoDbClient(loadConfig({ ...bindings, REDIS_TIMEOUT_MS: '2000' }));
  let child: ChildProcess | undefined;

  const start = async () => {
    const server = spawn(
      process.execPath,
      [
        DYNALITE,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--createTableMs',
        '0',
        '--deleteTableMs',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = server;
    const orphaned = () => server.kill('SIGKILL');
    process.once('exit', orphaned);
    server.once('exit', () => process.off('exit', orphaned));
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (data: Buffer) => {
        if (data.toString().includes('listening')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`dynalite exited (${code}) before listening`)));
    });
    const { TimeToLiveSpecification: _, ...properties } = table.Properties;
    await call('CreateTable', { ...properties, TableName: name });
  };

  const stop = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    await stopProcess(running, signal);
  };

  await start();
  if (stopAfterFile) afterAll(() => stop('SIGTERM'));
  return {
    endpoint,
    table: name,
    bindings,
    call,
    get pid() {
      return child?.pid;
    },
    kill: () => stop('SIGKILL'),
    restart: start,
  };
}

/** Polls `check` until it holds; the bound only decides how long a broken test takes to fail. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
