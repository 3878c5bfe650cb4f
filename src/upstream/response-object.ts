import type { Usage } from './chat-upstream.ts';

/** What the gateway reads of a Responses API response object (in a JSON answer, or in an event). */
export type ResponseObject = {
  id?: unknown;
  object?: unknown;
  model?: unknown;
  status?: unknown;
  usage?: { input_tokens?: unknown; output_tokens?: unknown; total_tokens?: unknown } | null;
  output?: { type?: string; content?: { type?: string; text?: string }[] }[];
  error?: { code?: string | null; message?: string } | null;
  incomplete_details?: { reason?: string | null } | null;
};

/** Its usage in the ledger's terms (input tokens are the prompt's, output the completion's); null when absent. */
export function usageOf(response: ResponseObject | undefined): Usage | null {
  const usage = response?.usage;
  if (!usage || typeof usage.input_tokens !== 'number' || typeof usage.output_tokens !== 'number')
    return null;
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens:
      typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.input_tokens + usage.output_tokens,
  };
}

/** The text of its output messages (what a JSON answer returned, for the estimate). */
export const outputText = (response: ResponseObject) =>
  (response.output ?? [])
    .flatMap((item) => (item.type === 'message' ? (item.content ?? []) : []))
    .map((part) => (part.type === 'output_text' ? (part.text ?? '') : ''))
    .join('');

/** Why a `failed` or `incomplete` response ended so, as the upstream said; null otherwise. */
export function reasonOf(response: ResponseObject | undefined): string | null {
  if (response?.status === 'failed' && response.error)
    return [response.error.code, response.error.message].filter(Boolean).join(': ') || null;
  if (response?.status === 'incomplete') return response.incomplete_details?.reason ?? null;
  return null;
}
