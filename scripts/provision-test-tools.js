// `npm test` runs this first (pretest, after check-node), so `npm ci && npm test` passes alone on a
// fresh Debian machine: it installs what the suites drive for real when it is missing. A missing
// tool is never a skipped test: either it is installed here, or this stops with the command to run.
//   node scripts/provision-test-tools.js                  everything the tests need
//   node scripts/provision-test-tools.js lambda-runtime   only aws-lambda-ric (bench:lambda)
// When all is present this only looks (no apt-get update, no npm): a few milliseconds.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const only = process.argv[2];
if (only !== undefined && only !== 'lambda-runtime') {
  console.error(`provision-test-tools: unknown argument ${only} (expected nothing or lambda-runtime)`);
  process.exit(2);
}

// Each package is checked by what the tests actually run, wherever it came from.
const debianPackages = [
  // test/browser: playwright-core drives Debian's build at this path.
  { name: 'chromium', need: '/usr/bin/chromium', present: () => existsSync('/usr/bin/chromium') },
  // The shared-state tests (rate limits, usage, Lambda with REDIS_URL) start their own servers.
  { name: 'redis-server', need: 'redis-server on the PATH', present: () => onPath('redis-server') },
  // The /metrics tests read the text format with Prometheus' reference parser (test/support/parse-prometheus.py).
  {
    name: 'python3-prometheus-client',
    need: '/usr/bin/python3 with the prometheus_client module',
    present: () =>
      spawnSync('/usr/bin/python3', ['-c', 'import prometheus_client'], { stdio: 'ignore' }).status === 0,
  },
];

if (only === undefined) provisionDebianPackages();
provisionLambdaRuntime();

function provisionDebianPackages() {
  const missing = () => debianPackages.filter((pkg) => !pkg.present());
  const absent = missing();
  if (absent.length === 0) return;
  const names = absent.map((pkg) => pkg.name);
  const command = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${names.join(' ')}`;
  if (!onPath('apt-get')) {
    stop(
      `The tests need ${absent.map((pkg) => pkg.need).join(', ')}, and this machine has no apt-get to install\n` +
        `them. On Debian or Ubuntu that is: ${command}`,
    );
  }
  const sudo = rootPrefix();
  if (!sudo) {
    stop(
      `The tests need Debian packages that are not installed: ${names.join(', ')}.\n` +
        `Install them (this needs root), then run npm test again:\n  ${command}`,
    );
  }
  console.log(`Installing the Debian packages the tests drive: ${names.join(' ')} (apt-get)`);
  // Wait for a lock another apt holds instead of failing at once.
  const apt = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-qq', '-o', 'DPkg::Lock::Timeout=120'];
  run([...sudo, ...apt, 'update']);
  run([...sudo, ...apt, 'install', '-y', '--no-install-recommends', ...names]);
  const still = missing();
  if (still.length) {
    stop(
      `apt-get installed ${names.join(' ')}, yet the tests still find no ${still.map((pkg) => pkg.need).join(', ')}.`,
    );
  }
}

/** [] as root, ['sudo', '-n'] with passwordless sudo, null when neither. */
function rootPrefix() {
  if (process.getuid?.() === 0) return [];
  if (onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0)
    return ['sudo', '-n'];
  return null;
}

function run(command) {
  // Quiet: apt's output is shown only when it fails.
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    stop(`\`${command.join(' ')}\` failed (${result.error ?? `exit ${result.status}`}).`);
  }
}

// test/lambda-runtime holds aws-lambda-ric with its own lockfile, installed without its scripts
// (they compile curl and aws-lambda-cpp); test/lambda-runtime/ric.ts explains why.
function provisionLambdaRuntime() {
  const dir = fileURLToPath(new URL('../test/lambda-runtime/', import.meta.url));
  if (installedAsLocked(dir)) return;
  console.log('Installing aws-lambda-ric into test/lambda-runtime (npm ci --ignore-scripts)');
  // The npm running this script (npm_execpath), on the project's Node; plain `npm` when run by hand.
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const args = ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', dir];
  const result = spawnSync(npm[0], [...npm.slice(1), ...args], { stdio: 'inherit' });
  if (result.status !== 0) stop(`\`npm ${args.join(' ')}\` failed.`);
  if (!installedAsLocked(dir)) stop('npm ci did not leave test/lambda-runtime as its lockfile says.');
}

/**
 * Every package of the lockfile is installed at its locked version (npm's own record of
 * node_modules); optional ones may be absent, as npm allows.
 */
function installedAsLocked(dir) {
  const locked = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')).packages;
  const installed = readJson(join(dir, 'node_modules', '.package-lock.json'))?.packages;
  if (!installed) return false;
  return Object.entries(locked).every(
    ([path, entry]) =>
      path === '' ||
      entry.optional ||
      (installed[path]?.version === entry.version && existsSync(join(dir, path, 'package.json'))),
  );
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function onPath(command) {
  return (process.env.PATH ?? '').split(delimiter).some((folder) => {
    try {
      accessSync(join(folder, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function stop(message) {
  console.error(message);
  process.exit(1);
}
