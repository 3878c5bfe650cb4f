// `npm run dev`: the Node adapter under `node --watch`, with `.env` loaded (and watched) when it
// exists. Not `--env-file-if-exists`: watch mode then watches the missing file, and closing that
// watcher on Ctrl-C aborts Node with a native assertion (FSEventWrap::GetInitialized).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const envFile = existsSync('.env') ? ['--env-file=.env'] : [];
// Its own process group, so a Ctrl-C reaches the gateway once, through watch mode, which passes
// on what this process forwards; a second Ctrl-C is then the gateway's "stop now".
const child = spawn(process.execPath, ['--watch', ...envFile, 'adapters/node.ts', '--dev'], {
  stdio: 'inherit',
  detached: true,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
