import { describe, expect, it } from 'vitest';
import { plainDelta, unescapeJson } from '../../src/streaming/plain-delta.ts';

const chunk = (delta: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
    usage: null,
    ...extra,
  });

describe('plainDelta', () => {
  it.each([
    ['plain text', 'Hello'],
    ['quotes and backslashes', 'say "hi" \\ bye'],
    ['a newline and a tab', 'line one\nline two\t'],
    ['non-ASCII and an emoji', 'héllo 世界 🎉'],
    ['text that looks like keys', '"error" "usage":{ "finish_reason":"stop" "delta": "content":"x"'],
  ])('reads the content of a delta with %s, escaped as the JSON had it', (_name, text) => {
    const data = chunk({ content: text });
    const plain = plainDelta(data);
    expect(plain).toEqual({ content: JSON.stringify(text).slice(1, -1) });
    expect(unescapeJson(plain?.content ?? '')).toBe(text);
    // Written back into a frame of the seed's format, it is the same JSON.
    expect(JSON.parse(`{"content":"${plain?.content}"}`)).toEqual({ content: text });
  });

  it('says a delta has no content when it has none, or null', () => {
    expect(plainDelta(chunk({ role: 'assistant' }))).toEqual({ content: null });
    expect(plainDelta(chunk({ role: 'assistant', content: null }))).toEqual({ content: null });
    expect(plainDelta(chunk({ reasoning_content: 'thinking' }))).toEqual({ content: null });
  });

  it.each([
    ['a finish reason', JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })],
    ['usage', chunk({}, { choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })],
    ['an error', JSON.stringify({ error: { message: 'boom', type: 'server_error' } })],
    ['tool calls', chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })],
    [
      'two choices',
      JSON.stringify({
        choices: [
          { index: 0, delta: { content: 'a' } },
          { index: 1, delta: { content: 'b' } },
        ],
      }),
    ],
    ['spaces after colons', '{"choices":[{"index":0,"delta":{"content": "hi"},"finish_reason":null}]}'],
    [
      'logprobs, which carry a content of their own',
      chunk({ content: 'hi' }).replace('"logprobs":null', '"logprobs":{"content":[]}'),
    ],
    ['no delta at all', '{"id":"x","choices":[]}'],
  ])('leaves a chunk with %s to the parser', (_name, data) => {
    expect(plainDelta(data)).toBeUndefined();
  });
});
