import type { AppDeps, Services } from './app-env.ts';
import { type Bindings, type Config, loadConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createGatewayMetrics } from './metrics/gateway-metrics.ts';
import { createStreamTokens } from './stream-tokens.ts';
import { createUpstream } from './upstream/create-upstream.ts';

/** Builds config, logger and upstream once per bindings object (per process, or per isolate). */
export function servicesResolver(deps: AppDeps): (bindings: Bindings) => Services {
  const built = new WeakMap<Bindings, Services>();
  return (bindings) => {
    let services = built.get(bindings);
    if (!services) {
      const config = loadConfig(bindings);
      const log = createLogger({
        level: config.LOG_LEVEL,
        format: config.LOG_FORMAT,
        color: deps.colorLogs,
        write: deps.writeLog,
      });
      services = {
        config,
        log,
        upstream: createUpstream(config, log, deps.upstreamFetch),
        streamTokens: createStreamTokens({
          secret: streamTokenSecret(config, log),
          ttlSeconds: config.STREAM_TOKEN_TTL_SECONDS,
        }),
        metrics: createGatewayMetrics(),
        bootedAt: Date.now(),
      };
      built.set(bindings, services);
    }
    return services;
  };
}

function streamTokenSecret(config: Config, log: Logger): Uint8Array {
  if (config.STREAM_TOKEN_SECRET) return new TextEncoder().encode(config.STREAM_TOKEN_SECRET);
  if (config.NODE_ENV === 'production') {
    log.warn('stream_token_secret_missing', {
      message:
        'STREAM_TOKEN_SECRET is not set: EventSource stream links work only on the instance that ' +
        'issued them. Set it (the same value on every instance) when running more than one.',
    });
  }
  return crypto.getRandomValues(new Uint8Array(32));
}
