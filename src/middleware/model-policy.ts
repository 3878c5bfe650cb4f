import type { MiddlewareHandler } from 'hono';
import { modelNotAllowed } from '../access-errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../config.ts';
import { invalidRequest } from '../errors.ts';
import type { ChatRequest, ChatUpstream } from '../upstream/chat-upstream.ts';

/**
 * Applies the model policy to every request the upstream gets, by wrapping the upstream client for
 * this request: no route, present or future, can forward a request that skipped it.
 */
export function modelPolicy(): MiddlewareHandler<AppEnv> {
  return async function modelPolicy(c, next) {
    const config = c.get('config');
    c.set('upstream', withPolicy(c.get('upstream'), config));
    await next();
  };
}

function withPolicy(upstream: ChatUpstream, config: Config): ChatUpstream {
  return {
    mode: upstream.mode,
    complete: async (request, signal) => upstream.complete(applyModelPolicy(request, config), signal),
    stream: async (request, signal) => upstream.stream(applyModelPolicy(request, config), signal),
    async models(signal) {
      const models = await upstream.models(signal);
      const allowed = config.ALLOWED_MODELS;
      return allowed.length ? models.filter((model) => allowed.includes(model.id)) : models;
    },
  };
}

/**
 * - `model` (DEFAULT_MODEL already filled in by toChatRequest): with ALLOWED_MODELS set, any other
 *   model is a 400 naming them.
 * - `messages`: at most MAX_MESSAGES, holding at most MAX_PROMPT_CHARS characters of text.
 * - With MAX_TOKENS_CAP set: `max_tokens` / `max_completion_tokens` above it are lowered to it
 *   (MAX_TOKENS_RULE=clamp) or refused (reject); a request that sets neither gets
 *   `max_completion_tokens` = the cap (OpenAI's current name, which every OpenAI chat model takes).
 */
export function applyModelPolicy(request: ChatRequest, config: Config): ChatRequest {
  const { model } = request;
  const allowed = config.ALLOWED_MODELS;
  if (allowed.length && !allowed.includes(model)) throw modelNotAllowed(model, allowed);
  const messages: unknown[] = request.messages;
  if (messages.length > config.MAX_MESSAGES) {
    throw invalidRequest(
      `messages holds ${messages.length} messages; this gateway accepts at most ${config.MAX_MESSAGES}`,
      'messages',
      'too_many_messages',
    );
  }
  const characters = promptCharacters(messages);
  if (characters > config.MAX_PROMPT_CHARS) {
    throw invalidRequest(
      `messages hold ${characters} characters of text; this gateway accepts at most ${config.MAX_PROMPT_CHARS}`,
      'messages',
      'prompt_too_long',
    );
  }
  return { ...request, ...capMaxTokens(request, config) };
}

const TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens'] as const;

function capMaxTokens(request: ChatRequest, config: Config): Partial<ChatRequest> {
  const cap = config.MAX_TOKENS_CAP;
  if (!cap) return {};
  const asked = TOKEN_FIELDS.filter((field) => typeof request[field] === 'number');
  if (!asked.length) return { max_completion_tokens: cap };
  const capped: Partial<ChatRequest> = {};
  for (const field of asked) {
    const value = request[field] as number;
    if (value <= cap) continue;
    if (config.MAX_TOKENS_RULE === 'reject') {
      throw invalidRequest(
        `${field} is ${value}; this gateway allows at most ${cap}`,
        field,
        'max_tokens_too_large',
      );
    }
    capped[field] = cap;
  }
  return capped;
}

/** Text the model reads: string contents and the `text` of content parts. */
function promptCharacters(messages: unknown[]): number {
  let total = 0;
  for (const message of messages) {
    const content = (message as { content?: unknown }).content;
    if (typeof content === 'string') total += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text;
        if (typeof text === 'string') total += text.length;
      }
    }
  }
  return total;
}
