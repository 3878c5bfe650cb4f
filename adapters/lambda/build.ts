import { readFile, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const ENTRY = fileURLToPath(new URL('../lambda.ts', import.meta.url));

/**
 * The deployable Lambda bundle: `<outdir>/index.mjs`, one minified ESM file exporting `handler`
 * (Function URL, streaming) and `apiGatewayHandler` (API Gateway, buffered). What the code loads
 * only on demand (`import()`: ioredis with REDIS_URL, the DynamoDB client with DYNAMODB_TABLE, the
 * node:http upstream transport at the first upstream call) goes to `<outdir>/chunks/`, so a cold
 * start neither loads nor parses it. `npm run build:lambda` writes dist/lambda; the tests
 * build the same thing into a temporary folder.
 */
export async function buildLambda({ outdir = 'dist/lambda', entry = ENTRY } = {}) {
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { index: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    // Licence texts go beside the bundle rather than into the code the runtime has to parse.
    legalComments: 'external',
    metafile: true,
    // ioredis is CommonJS and require()s Node built-ins, which an ESM bundle can only do through this.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
  });
  return { file: join(outdir, 'index.mjs'), metafile: result.metafile };
}

/** The files a cold start loads (the entry and what it imports statically), and the lazy rest. */
export function outputsOf(metafile: Metafile, file: string) {
  const outputs = metafile.outputs;
  const entry = Object.keys(outputs).find((path) => relative(path, file) === '' || path.endsWith(file));
  const atStart = new Set<string>();
  const visit = (path: string | undefined) => {
    if (!path || !outputs[path] || atStart.has(path)) return;
    atStart.add(path);
    for (const { path: next, kind } of outputs[path]?.imports ?? [])
      if (kind === 'import-statement') visit(next);
  };
  visit(entry);
  const code = Object.keys(outputs).filter((path) => path.endsWith('.mjs'));
  return { atStart: [...atStart], lazy: code.filter((path) => !atStart.has(path)) };
}

/** Bytes on disk and gzipped, added up over `files`. */
export async function sizeOf(files: string[]) {
  let bytes = 0;
  let gzip = 0;
  for (const file of files) {
    const content = await readFile(file);
    bytes += content.byteLength;
    gzip += gzipSync(content).byteLength;
  }
  return { bytes, gzip };
}

/** The largest inputs, by bytes they put in `files`, grouped by package. */
export function largestPackages(metafile: Metafile, files: string[], top = 6) {
  const byPackage = new Map<string, number>();
  for (const file of files) {
    for (const [path, { bytesInOutput }] of Object.entries(metafile.outputs[file]?.inputs ?? {})) {
      const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
      const name = match?.[1] ?? 'gateway (src, adapters)';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top);
}

if (import.meta.main) {
  const { file, metafile } = await buildLambda();
  const { atStart, lazy } = outputsOf(metafile, file);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  for (const [label, files] of [
    ['loaded at cold start', atStart],
    ['loaded on demand', lazy],
  ] as const) {
    const { bytes, gzip } = await sizeOf(files);
    console.log(`${label}: ${files.map((path) => basename(path)).join(', ') || 'nothing'}`);
    console.log(`  ${kb(bytes)} minified, ${kb(gzip)} gzip`);
    for (const [name, size] of largestPackages(metafile, files)) {
      console.log(`  ${name.padEnd(28)} ${kb(size).padStart(8)}`);
    }
  }
}
