import { modelNotAllowed } from '../access-errors.ts';
import type { Config } from '../config.ts';
import { invalidRequest } from '../errors.ts';
import { inputTexts } from '../upstream/input-text.ts';
import type { AllowedResponsesRequest, ResponsesRequest } from '../upstream/responses-upstream.ts';
import * as z from '../zod-mini.ts';

/**
 * The body of `POST /v1/responses`: what the gateway relies on is checked, every other Responses
 * API parameter (tools, reasoning, text, store, background, ...) passes through untouched.
 */
export const ResponsesBody = z.looseObject({
  model: z.optional(z.string().check(z.trim(), z.minLength(1))),
  input: z.union([z.string(), z.array(z.looseObject({}))], 'input must be a string or an array of items'),
  instructions: z.optional(z.nullable(z.string())),
  max_output_tokens: z.optional(z.nullable(z.number().check(z.int(), z.positive()))),
  temperature: z.optional(z.nullable(z.number().check(z.minimum(0), z.maximum(2)))),
  previous_response_id: z.optional(z.nullable(z.string())),
  stream: z.optional(z.nullable(z.boolean())),
});
export type ResponsesBody = z.infer<typeof ResponsesBody>;

type PolicyConfig = Pick<
  Config,
  | 'DEFAULT_MODEL'
  | 'ALLOWED_MODELS'
  | 'MAX_MESSAGES'
  | 'MAX_PROMPT_CHARS'
  | 'MAX_TOKENS_CAP'
  | 'MAX_TOKENS_RULE'
>;

/**
 * Turns a validated body into the request the upstream gets, under the same policy as chat
 * completions (src/model-policy.ts): DEFAULT_MODEL filled in; ALLOWED_MODELS; at most MAX_MESSAGES
 * input items holding at most MAX_PROMPT_CHARS characters of text; `max_output_tokens` capped by
 * MAX_TOKENS_CAP (lowered, or refused with MAX_TOKENS_RULE=reject; set to the cap when absent).
 * The endpoint, not the body, decides whether to stream.
 */
export function responsesRequestBuilder(
  config: PolicyConfig,
): (body: ResponsesBody) => AllowedResponsesRequest {
  return (body) => {
    const { stream: _stream, ...rest } = body;
    const model = body.model ?? config.DEFAULT_MODEL;
    if (config.ALLOWED_MODELS.length && !config.ALLOWED_MODELS.includes(model))
      throw modelNotAllowed(model, config.ALLOWED_MODELS);
    if (Array.isArray(body.input) && body.input.length > config.MAX_MESSAGES) {
      throw invalidRequest(
        `input holds ${body.input.length} items; this gateway accepts at most ${config.MAX_MESSAGES}`,
        'input',
        'too_many_messages',
      );
    }
    const characters = inputTexts(body).reduce((sum, text) => sum + text.length, 0);
    if (characters > config.MAX_PROMPT_CHARS) {
      throw invalidRequest(
        `input holds ${characters} characters of text; this gateway accepts at most ${config.MAX_PROMPT_CHARS}`,
        'input',
        'prompt_too_long',
      );
    }
    const request = { ...rest, model } as ResponsesRequest;
    const cap = config.MAX_TOKENS_CAP;
    const asked = body.max_output_tokens;
    if (cap && (asked == null || asked > cap)) {
      if (asked != null && config.MAX_TOKENS_RULE === 'reject') {
        throw invalidRequest(
          `max_output_tokens is ${asked}; this gateway allows at most ${cap}`,
          'max_output_tokens',
          'max_tokens_too_large',
        );
      }
      request.max_output_tokens = cap;
    }
    return request as AllowedResponsesRequest;
  };
}
