import { createParser } from 'eventsource-parser';
import { GatewayError, streamFailedBeforeContent } from '../errors.ts';

type Body = AsyncIterable<Uint8Array | string>;

/**
 * A chat stream commits at its first content: a delta with anything but the role (text, a tool
 * call, a refusal, reasoning), a finish reason, the usage chunk or `[DONE]`. Until then nothing
 * has reached the client, so a failure (an error frame, a malformed frame, the stream ending) is
 * thrown, to be retried elsewhere.
 */
export function chatCommits(data: string): boolean {
  if (data === '[DONE]') return true;
  let chunk: {
    error?: unknown;
    usage?: unknown;
    choices?: { delta?: Record<string, unknown>; finish_reason?: unknown }[];
  };
  try {
    chunk = JSON.parse(data);
  } catch (error) {
    throw streamFailedBeforeContent('a malformed frame before the first content', error);
  }
  if (chunk.error) throw streamFailedBeforeContent('an error frame before the first content', chunk.error);
  if (chunk.usage) return true;
  return (chunk.choices ?? []).some(
    ({ delta, finish_reason }) =>
      finish_reason != null ||
      Object.entries(delta ?? {}).some(([field, value]) => field !== 'role' && value != null && value !== ''),
  );
}

/**
 * Reads a stream's opening frames until `commits` says one is content, and returns a body that
 * yields exactly what was read, then the rest as it comes: the relay downstream sees the
 * upstream's bytes as they were. Failures before that throw; the body is let go.
 */
export async function heldUntilCommit(
  body: Body,
  commits: (data: string, event: string) => boolean,
): Promise<Body> {
  const chunks = body[Symbol.asyncIterator]();
  const held: (Uint8Array | string)[] = [];
  let decoder: TextDecoder | undefined;
  let committed = false;
  const parser = createParser({
    onEvent({ event, data }) {
      // Past the commit, the rest of a chunk read here is the relay's to judge.
      if (committed) return;
      if (event === 'error') throw streamFailedBeforeContent('an error event before the first content', data);
      if (commits(data, event ?? 'message')) committed = true;
    },
  });
  let ended = false;
  try {
    while (!committed) {
      const { done, value } = await chunks.next();
      if (done) {
        ended = true;
        break;
      }
      held.push(value);
      if (typeof value === 'string') parser.feed(value);
      else {
        decoder ??= new TextDecoder();
        parser.feed(decoder.decode(value, { stream: true }));
      }
    }
  } catch (error) {
    chunks.return?.()?.catch(() => {});
    // A read that fails (a reset) is the stream breaking off; an abort is told apart by the client.
    throw error instanceof GatewayError
      ? error
      : streamFailedBeforeContent('the stream broke off before its first content', error);
  }
  if (!committed) throw streamFailedBeforeContent('the stream ended before its first content');
  let next = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (next < held.length) return { done: false, value: held[next++] as Uint8Array | string };
        held.length = 0;
        return ended ? { done: true, value: undefined } : chunks.next();
      },
      return: async (value?: unknown) => {
        next = held.length;
        return chunks.return ? chunks.return(value) : { done: true, value: undefined };
      },
    }),
  };
}
