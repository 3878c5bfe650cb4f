import { textOf } from './message-text.ts';

/**
 * The text the model reads in a Responses API request, one entry per part: the instructions, then
 * the input (a string, or items: messages' content, tool outputs). For the prompt cap and for
 * estimating usage the upstream did not report.
 */
export function inputTexts(request: { input?: unknown; instructions?: unknown }): string[] {
  const texts: string[] = [];
  if (typeof request.instructions === 'string' && request.instructions) texts.push(request.instructions);
  const { input } = request;
  if (typeof input === 'string') texts.push(input);
  else if (Array.isArray(input)) {
    for (const item of input) {
      const { content, output } = (item ?? {}) as { content?: unknown; output?: unknown };
      const text = textOf(content ?? output);
      if (text) texts.push(text);
    }
  }
  return texts;
}
