import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

/**
 * Preloaded with `node --import` into a process under test: records the URL of every module the
 * process loads (ES modules and CommonJS alike) and writes them, one a line, to
 * LOADED_MODULES_FILE when it exits. What a process really loads, not what a bundler says it might.
 */
const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  const file = process.env.LOADED_MODULES_FILE;
  if (file) writeFileSync(file, [...loaded].join('\n'));
});
