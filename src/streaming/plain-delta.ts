/**
 * Most of a stream's chunks are plain content deltas: one choice, a bit of text, no finish reason,
 * usage or error. `plainDelta` recognises one from the frame's text without parsing it, and returns
 * its content as it sits in the JSON (still escaped), or null for a delta without content (the
 * role, say). Anything it is not sure of (tool calls, several choices, a finish reason, usage, an
 * error, spacing it does not expect) returns undefined, and the chunk is parsed as usual. Key
 * names cannot be forged by the text: inside a JSON string every quote is escaped.
 */
export function plainDelta(data: string): { content: string | null } | undefined {
  if (
    data.includes('"error"') ||
    data.includes('"usage":{') ||
    data.includes('"finish_reason":"') ||
    data.includes('"tool_calls"') ||
    data.includes('"function_call"')
  ) {
    return undefined;
  }
  const delta = data.indexOf('"delta":');
  if (delta === -1 || data.includes('"delta":', delta + 8)) return undefined;
  const key = data.indexOf('"content"', delta);
  if (key === -1) return { content: null };
  let end: number;
  if (data.startsWith(':null', key + 9)) {
    end = key + 14;
  } else {
    if (!data.startsWith(':"', key + 9)) return undefined;
    end = stringEnd(data, key + 11);
    if (end === -1) return undefined;
  }
  // A second `content` (logprobs carry one) is for the parser to read.
  if (data.includes('"content"', end)) return undefined;
  return { content: data.startsWith(':null', key + 9) ? null : data.slice(key + 11, end) };
}

/** The index of the quote that closes the JSON string starting at `start`, or -1. */
export function stringEnd(data: string, start: number): number {
  for (let index = start; index < data.length; index++) {
    const char = data.charCodeAt(index);
    if (char === 0x5c /* \ */) index++;
    else if (char === 0x22 /* " */) return index;
  }
  return -1;
}

/** The text of escaped JSON string content. */
export const unescapeJson = (escaped: string): string =>
  escaped.includes('\\') ? (JSON.parse(`"${escaped}"`) as string) : escaped;
