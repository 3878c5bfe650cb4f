import { GatewayError } from '../errors.ts';
import { type ResponsesEndpoint, type ResponsesUpstream, responsesEndpoint } from './responses-upstream.ts';
import type { PoolEndpoint, UpstreamPool } from './upstream-pool.ts';

/**
 * The Responses API over the pool: a new response goes to the upstreams that serve the Responses
 * API, with the pool's retry and commit rules. A stored response lives where it was created, which
 * nothing records: its lifecycle calls ask those upstreams in order of preference, moving on while
 * one answers 404 (it does not know the id).
 */
export function pooledResponsesUpstream(pool: UpstreamPool): ResponsesUpstream {
  const serving = pool.endpoints
    .filter((endpoint) => endpoint.spec.responses)
    .toSorted((a, b) => a.spec.priority - b.spec.priority);
  const surfaces = new Map(pool.endpoints.map((endpoint) => [endpoint, responsesEndpoint(endpoint.client)]));
  const surfaceOf = (endpoint: PoolEndpoint) => surfaces.get(endpoint) ?? responsesEndpoint(endpoint.client);
  const withModel = <T extends { model: string }>(request: T, model: string | null): T =>
    model === null || model === request.model ? request : { ...request, model };

  const whereKnown = async <T>(run: (surface: ResponsesEndpoint) => Promise<T>): Promise<T> => {
    let notFound: unknown;
    for (const endpoint of serving) {
      try {
        return await run(surfaceOf(endpoint));
      } catch (error) {
        if (!(error instanceof GatewayError && error.status === 404)) throw error;
        notFound = error;
      }
    }
    throw (
      notFound ??
      new GatewayError({
        status: 404,
        type: 'invalid_request_error',
        code: 'not_found',
        message: 'No upstream serves the Responses API',
      })
    );
  };

  return {
    mode: 'upstream',
    async create(request, call) {
      const served = await pool.call(
        { ...call, model: request.model, surface: 'responses' },
        (endpoint, model, signal) => surfaceOf(endpoint).create(withModel(request, model), signal),
      );
      return { ...served.value, upstream: served.upstream, model: served.model };
    },
    async stream(request, call) {
      const served = await pool.call(
        { ...call, model: request.model, surface: 'responses' },
        (endpoint, model, signal) => surfaceOf(endpoint).stream(withModel(request, model), signal),
      );
      return { ...served.value, upstream: served.upstream, model: served.model };
    },
    retrieve: (id, query, signal) => whereKnown((surface) => surface.retrieve(id, query, signal)),
    replay: (id, query, signal) => whereKnown((surface) => surface.replay(id, query, signal)),
    cancel: (id, signal) => whereKnown((surface) => surface.cancel(id, signal)),
    delete: (id, signal) => whereKnown((surface) => surface.delete(id, signal)),
    inputItems: (id, query, signal) => whereKnown((surface) => surface.inputItems(id, query, signal)),
  };
}
