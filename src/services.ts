import type { AppDeps, Services } from './app-env.ts';
import { type Bindings, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createUpstream } from './upstream/create-upstream.ts';

/** Builds config, logger and upstream once per bindings object (per process, or per isolate). */
export function servicesResolver(deps: AppDeps): (bindings: Bindings) => Services {
  const built = new WeakMap<Bindings, Services>();
  return (bindings) => {
    let services = built.get(bindings);
    if (!services) {
      const config = loadConfig(bindings);
      const log = createLogger(config.LOG_LEVEL, deps.writeLog);
      services = { config, log, upstream: createUpstream(config, log), bootedAt: Date.now() };
      built.set(bindings, services);
    }
    return services;
  };
}
