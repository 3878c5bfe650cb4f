import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The real aws-lambda-ric's entry point. It lives in this folder's own node_modules, not the
 * root's: its install scripts compile curl and aws-lambda-cpp (a minute, and a C toolchain), and
 * npm 10 ignores `allowScripts`, so the root install would build them. scripts/provision-test-tools.js
 * (run by `npm test`) installs it here with `npm ci --ignore-scripts`; lambda-ric-hooks.ts stands
 * in for the one native piece that is then missing.
 */
export const RIC_ENTRY = fileURLToPath(new URL('./node_modules/aws-lambda-ric/index.mjs', import.meta.url));

if (!existsSync(RIC_ENTRY)) {
  throw new Error(
    'aws-lambda-ric is not installed in test/lambda-runtime: run `node scripts/provision-test-tools.js lambda-runtime` (npm test runs it first)',
  );
}
