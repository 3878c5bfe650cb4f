import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { requireJson, validateJson } from '../middleware/validate-json.ts';
import type { AllowedResponsesRequest } from '../upstream/responses-upstream.ts';
import { allowOnly } from './method-not-allowed.ts';
import { responseNotFound } from './response-tenancy.ts';
import { ResponsesBody } from './responses-request.ts';
import type { ResponsesRunner } from './responses-runner.ts';

type Options = {
  responsesRequest: (body: ResponsesBody) => AllowedResponsesRequest;
  responses: ResponsesRunner;
};

// OpenAI's ids (`resp_` and hex): anything else never reaches the upstream's path.
const RESPONSE_ID = /^[A-Za-z0-9_-]{1,256}$/;

const idOf = (c: Context<AppEnv>) => {
  const id = c.req.param('id') ?? '';
  if (!RESPONSE_ID.test(id)) throw responseNotFound(id);
  return id;
};

/** The client's query string, `?` included, passed on (`include[]`, `stream`, `starting_after`, paging). */
const queryOf = (c: Context<AppEnv>) => {
  const url = c.req.url;
  const start = url.indexOf('?');
  return start === -1 ? '' : url.slice(start);
};

/**
 * The OpenAI Responses API (`client.responses.*` in OpenAI's SDKs), mounted at `/v1/responses`:
 * bodies and events pass on as OpenAI sends them; every policy of the gateway applies as on chat
 * completions; stored responses are answered only to the client key that created them.
 */
export function responsesRoute({ responsesRequest, responses }: Options) {
  return new Hono<AppEnv>()
    .post('/', requireJson, validateJson(ResponsesBody), async (c) => {
      const body = c.req.valid('json');
      const request = responsesRequest(body);
      if (body.stream) return responses.stream(c, request);
      return responses.create(c, request);
    })
    .get('/:id', (c) => responses.retrieve(c, idOf(c), queryOf(c)))
    .delete('/:id', (c) => responses.delete(c, idOf(c)))
    .post('/:id/cancel', (c) => responses.cancel(c, idOf(c)))
    .get('/:id/input_items', (c) => responses.inputItems(c, idOf(c), queryOf(c)))
    .all('/', allowOnly('POST'))
    .all('/:id', allowOnly('GET', 'DELETE'))
    .all('/:id/cancel', allowOnly('POST'))
    .all('/:id/input_items', allowOnly('GET'));
}
