import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { buildLambda, largestPackages, outputsOf, sizeOf } from '../adapters/lambda/build.ts';
import { packagedTemplate, startDynalite, tableOf } from '../test/dynamodb/dynalite-server.ts';
import { startFakeUpstream } from '../test/support/fake-upstream.ts';
import { functionUrlEvent } from '../test/support/lambda-events.ts';
import { launchLambdaFunction } from '../test/support/lambda-function.ts';

/**
 * `npm run bench:lambda [-- --runs N] [-- --store dynamodb]`: the Lambda bundle's size, and its cold start measured in
 * fresh processes, everything on 127.0.0.1 against the fake upstream. Two views:
 *  - bundle alone (bench/lambda-import-child.ts): import, then one request through `handler`;
 *  - under aws-lambda-ric with a local Runtime API: process spawn to the runtime's first poll
 *    (Node start, runtime, bundle import: what Lambda reports as Init Duration), then the first
 *    invocation to the end of its streamed response.
 * With `--store dynamodb`, every function uses a table (DYNAMODB_TABLE) on dynalite, on 127.0.0.1,
 * created from the one serverless.yml deploys: what a plain `serverless deploy` runs with.
 * Prints a Markdown block for docs/lambda.md.
 */

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, store: { type: 'string', default: 'memory' } },
});
if (values.store !== 'memory' && values.store !== 'dynamodb')
  throw new Error('--store is memory or dynamodb');
const runs = Number(values.runs);
const CHILD = fileURLToPath(new URL('./lambda-import-child.ts', import.meta.url));

const { file, metafile } = await buildLambda();
const { atStart, lazy } = outputsOf(metafile, file);
const coldSize = await sizeOf(atStart);
const lazySize = await sizeOf(lazy);
const upstream = await startFakeUpstream();
const table =
  values.store === 'dynamodb'
    ? await startDynalite(tableOf(await packagedTemplate()), { stopAfterFile: false })
    : undefined;
const env = {
  PATH: process.env.PATH ?? '',
  OPENAI_API_KEY: 'sk-bench',
  OPENAI_BASE_URL: upstream.baseURL,
  NODE_ENV: 'production',
  PUBLIC_ACCESS: 'on',
  ...table?.bindings,
};

type ChildTimes = {
  importMs: number;
  firstByteMs: number;
  responseMs: number;
  coldMs: number;
  bootMs: number;
};

function coldStart(path: string): Promise<ChildTimes> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file, path], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (data) => {
      output += data;
    });
    child.on('exit', (code) => {
      const line = output.split('\n').find((text) => text.includes('"coldMs"'));
      if (code !== 0 || !line) reject(new Error(`child exited ${code}: ${output}`));
      else resolve(JSON.parse(line));
    });
  });
}

async function underRuntime() {
  const fn = await launchLambdaFunction({ taskRoot: file.replace(/\/index\.mjs$/, ''), env });
  try {
    const started = performance.now();
    const invocation = fn.invoke(
      functionUrlEvent({
        path: '/api/completions/stream',
        body: { messages: [{ role: 'user', content: 'hi' }] },
      }),
    );
    await (await invocation.response).text();
    return { initMs: fn.readyAt - fn.spawnedAt, firstInvocationMs: performance.now() - started };
  } finally {
    await fn.stop();
  }
}

/**
 * What one dependency costs on its own, bundled and minified like the handler: the recommendation
 * in docs/lambda.md (zod/mini, a leaner upstream client) rests on these rows.
 */
const DEPENDENCIES: Record<string, string> = {
  'zod (classic, as src/ imported it before zod/mini)':
    "import { z } from 'zod'; export const s = z.object({ a: z.string().optional() });",
  'zod/mini': "import * as z from 'zod/mini'; export const s = z.object({ a: z.optional(z.string()) });",
  'openai SDK client': "import OpenAI from 'openai'; export const c = new OpenAI({ apiKey: 'sk-bench' });",
  hono: "import { Hono } from 'hono'; export const app = new Hono();",
};

async function dependencyCosts() {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-deps-'));
  const rows: string[] = [];
  try {
    for (const [name, contents] of Object.entries(DEPENDENCIES)) {
      const outfile = join(dir, `${rows.length}.mjs`);
      await build({
        stdin: { contents, resolveDir: process.cwd(), loader: 'ts' },
        outfile,
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'esm',
        minify: true,
        logLevel: 'error',
      });
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) samples.push(await importTime(outfile));
      const kb = ((await stat(outfile)).size / 1024).toFixed(0);
      rows.push(`| ${name} | ${kb} | ${ms(stats(samples).median)} |`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

function importTime(file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (data) => {
      output += data;
    });
    child.on('exit', (code) => (code === 0 ? resolve(Number(output)) : reject(new Error(`exit ${code}`))));
  });
}

const kb = (bytes: number) => (bytes / 1024).toFixed(0);

function packageRows() {
  const cold = new Map(largestPackages(metafile, atStart, 8));
  const onDemand = new Map(largestPackages(metafile, lazy, 8));
  const names = [...new Set([...cold.keys(), ...onDemand.keys()])];
  const total = (name: string) => (cold.get(name) ?? 0) + (onDemand.get(name) ?? 0);
  return names
    .sort((a, b) => total(b) - total(a))
    .map((name) => `| ${name} | ${kb(cold.get(name) ?? 0)} | ${kb(onDemand.get(name) ?? 0)} |`);
}

const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { median: at(0.5), p90: at(0.9), min: sorted[0] ?? 0 };
};
const ms = (value: number) => value.toFixed(1);
const row = (label: string, samples: number[]) => {
  const { median, p90, min } = stats(samples);
  return `| ${label} | ${ms(median)} | ${ms(p90)} | ${ms(min)} |`;
};
/** The two Lambda targets of issue 15: import + first response under `limitMs` at the median. */
const target = (label: string, samples: number[], limitMs: number) => {
  const { median } = stats(samples);
  return `| ${label} | ${ms(median)} | < ${limitMs} ms | ${median < limitMs ? '**met**' : '**not met**'} |`;
};

const health: ChildTimes[] = [];
const stream: ChildTimes[] = [];
const runtime: { initMs: number; firstInvocationMs: number }[] = [];
const load = loadavg()[0] ?? 0;
for (let i = 0; i < runs; i++) {
  health.push(await coldStart('/api/health'));
  stream.push(await coldStart('/api/completions/stream'));
}
for (let i = 0; i < Math.min(runs, 5); i++) runtime.push(await underRuntime());
await upstream.close();
await table?.kill();
const dependencies = await dependencyCosts();

const lines = [
  `Bundle \`${file}\` and the chunks it imports at load (${atStart.map((path) => basename(path)).join(', ')}): ` +
    `${coldSize.bytes} bytes minified (${kb(coldSize.bytes)} KB), ${coldSize.gzip} bytes gzip (${kb(coldSize.gzip)} KB).`,
  `Loaded only on demand (${lazy.map((path) => basename(path)).join(', ')}): ` +
    `${kb(lazySize.bytes)} KB minified, ${kb(lazySize.gzip)} KB gzip.`,
  '',
  '| package | KB loaded at cold start | KB on demand |',
  '|---|---|---|',
  ...packageRows(),
  '',
  `Cold start, ${runs} fresh processes each (ms; Node ${process.versions.node}, ` +
    `load average ${load.toFixed(2)} at the start; ` +
    `${table ? 'limits and usage in a DynamoDB table (dynalite)' : 'no shared store'}):`,
  '',
  '| measure | median | p90 | min |',
  '|---|---|---|---|',
  row(
    'import of the bundle',
    health.map((t) => t.importMs),
  ),
  row(
    'first response, GET /api/health',
    health.map((t) => t.responseMs),
  ),
  row(
    '**import + first response**, GET /api/health',
    health.map((t) => t.coldMs),
  ),
  row(
    'first response, streamed completion (whole stream)',
    stream.map((t) => t.responseMs),
  ),
  row(
    '**import + first response**, streamed completion',
    stream.map((t) => t.coldMs),
  ),
  row(
    `aws-lambda-ric: spawn to first poll (Init), ${runtime.length} runs`,
    runtime.map((t) => t.initMs),
  ),
  row(
    'aws-lambda-ric: first streamed completion',
    runtime.map((t) => t.firstInvocationMs),
  ),
  '',
  'Targets (medians of the bundle-alone view above):',
  '',
  '| target | median | limit | status |',
  '|---|---|---|---|',
  target(
    'cold import + first streamed completion',
    stream.map((t) => t.coldMs),
    90,
  ),
  target(
    'cold import + first health response',
    health.map((t) => t.coldMs),
    60,
  ),
  '',
  `One dependency alone, bundled and minified the same way (import, median of ${runs} processes):`,
  '',
  '| dependency | KB | import ms |',
  '|---|---|---|',
  ...dependencies,
];
console.log(lines.join('\n'));
