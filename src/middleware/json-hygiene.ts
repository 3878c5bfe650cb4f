import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { invalidRequest } from '../errors.ts';
import { declaresJson } from './validate-json.ts';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
// No OpenAI request nests nearly this deep; deeper input only costs stack in every JSON walker
// after this one (V8's reviving JSON.parse overflows at a few thousand levels).
const MAX_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Refuses JSON bodies that would parse, but not as the client meant: invalid UTF-8 (Request.json()
 * would quietly turn it into U+FFFD and forward it), absurd nesting, and `__proto__` keys (which
 * copying code can turn into prototype changes). Runs before any validator reads the body; Hono
 * keeps the bytes, so the validator parses them from memory.
 */
export function jsonHygiene(): MiddlewareHandler<AppEnv> {
  return async function jsonHygiene(c, next) {
    if (!WITH_BODY.has(c.req.method) || !declaresJson(c.req.header('content-type'))) return next();
    let text: string;
    try {
      text = utf8.decode(await c.req.arrayBuffer());
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw invalidRequest('The request body is not valid UTF-8', null, 'invalid_encoding');
    }
    if (nestsDeeperThan(text, MAX_DEPTH)) {
      throw invalidRequest(
        `The request body nests deeper than ${MAX_DEPTH} levels`,
        null,
        'too_deeply_nested',
      );
    }
    if (hasProtoKey(text)) {
      throw invalidRequest(
        'The request body uses the key __proto__, which no parameter has',
        null,
        'forbidden_key',
      );
    }
    await next();
  };
}

/** Counts brackets outside strings: linear, and safe on input that is not JSON at all. */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}

function hasProtoKey(text: string): boolean {
  // Written out or escaped, the key contains either "__" or a \u escape.
  if (!text.includes('__') && !text.includes('\\u')) return false;
  let found = false;
  try {
    JSON.parse(text, (key, value) => {
      if (key === '__proto__') found = true;
      return value;
    });
  } catch {
    // Not JSON: the validator answers that with its own 400.
  }
  return found;
}
