import * as z from '../zod-mini.ts';

/**
 * One entry of UPSTREAMS, as an operator writes it. Keys never sit in the JSON: `api_key_binding`
 * names the binding (an environment variable, a Workers secret) that holds the key.
 */
const UpstreamEntry = z.strictObject({
  // Goes into logs, metrics and the x-gateway-upstream header.
  name: z.string().check(z.regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'must be 1-64 letters, digits, _ . or -')),
  base_url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, /v1 included' }),
  api_key_binding: z
    .string()
    .check(z.regex(/^[A-Za-z_]\w*$/, 'must be the name of a binding (an environment variable, a secret)')),
  // The models it serves under the client's names; absent: every model.
  models: z.optional(z.array(z.string().check(z.minLength(1)))),
  // A client's model name -> this server's name for it (served, and listed in `models` implicitly).
  aliases: z.optional(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1)))),
  // Entries of equal priority share load by weight; lower priority values are tried first.
  priority: z.optional(z.number().check(z.int())),
  weight: z._default(z.number().check(z.positive()), 1),
  // Serves the Responses API (/v1/responses) as well as chat completions.
  responses: z._default(z.boolean(), true),
  organization: z.optional(z.string().check(z.minLength(1))),
  project: z.optional(z.string().check(z.minLength(1))),
});

const parseJson = (value: unknown, ctx: z.core.ParsePayload) => {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  try {
    const entries = JSON.parse(value);
    if (
      Array.isArray(entries) &&
      entries.some((entry) => entry && typeof entry === 'object' && 'api_key' in entry)
    ) {
      ctx.issues.push({
        code: 'custom',
        message:
          'keys never sit in UPSTREAMS: put each key in a binding (a secret) and name it in api_key_binding',
        input: value,
      });
      return z.NEVER;
    }
    return entries;
  } catch (error) {
    ctx.issues.push({
      code: 'custom',
      message: `must be a JSON array of upstreams (${(error as Error).message})`,
      input: value,
    });
    return z.NEVER;
  }
};

/** UPSTREAMS: a JSON array, several upstreams in order of preference. */
export const UpstreamEntries = z.pipe(
  z.transform(parseJson),
  z.optional(
    z.array(UpstreamEntry).check(
      z.minLength(1, 'must list at least one upstream'),
      z.superRefine((entries, ctx) => {
        const seen = new Set<string>();
        entries.forEach((entry, index) => {
          if (seen.has(entry.name))
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `${entry.name} is used twice` });
          seen.add(entry.name);
        });
      }),
    ),
  ),
);
type UpstreamEntry = z.output<typeof UpstreamEntry>;

/** An upstream as the gateway calls it: its entry with the key its binding holds. */
export type UpstreamSpec = {
  name: string;
  baseURL: string | undefined;
  apiKey: string;
  organization: string | undefined;
  project: string | undefined;
  /** Client-side model names it serves; null: any. */
  models: string[] | null;
  aliases: Record<string, string>;
  priority: number;
  weight: number;
  responses: boolean;
};

type ListSource = {
  UPSTREAMS?: UpstreamEntry[] | undefined;
  OPENAI_API_KEY?: string | undefined;
  OPENAI_BASE_URL?: string | undefined;
  OPENAI_ORG_ID?: string | undefined;
  OPENAI_PROJECT_ID?: string | undefined;
};

/** The shorthand's one upstream is called this in logs, metrics and the response header. */
export const SHORTHAND_NAME = 'default';

/**
 * The upstreams to call, in order of preference: UPSTREAMS with each key read from the binding it
 * names, or the OPENAI_API_KEY shorthand's one; none means the mock model. Problems name the entry.
 */
export function upstreamList(
  source: ListSource,
  binding: (name: string) => unknown,
): { upstreams: UpstreamSpec[]; problems: string[] } {
  if (!source.UPSTREAMS) {
    if (!source.OPENAI_API_KEY) return { upstreams: [], problems: [] };
    return {
      problems: [],
      upstreams: [
        {
          name: SHORTHAND_NAME,
          baseURL: source.OPENAI_BASE_URL,
          apiKey: source.OPENAI_API_KEY,
          organization: source.OPENAI_ORG_ID,
          project: source.OPENAI_PROJECT_ID,
          models: null,
          aliases: {},
          priority: 0,
          weight: 1,
          responses: true,
        },
      ],
    };
  }
  const problems: string[] = [];
  if (source.OPENAI_BASE_URL)
    problems.push('OPENAI_BASE_URL: set base_url in each UPSTREAMS entry instead; UPSTREAMS replaces it');
  const upstreams = source.UPSTREAMS.map((entry, index): UpstreamSpec => {
    const key = binding(entry.api_key_binding);
    const apiKey = typeof key === 'string' ? key.trim() : '';
    if (!apiKey)
      problems.push(
        `UPSTREAMS.${index}.api_key_binding: names ${entry.api_key_binding}, which is not set (upstream ${entry.name})`,
      );
    return {
      name: entry.name,
      baseURL: entry.base_url,
      apiKey,
      organization: entry.organization,
      project: entry.project,
      models: entry.models ? [...new Set([...entry.models, ...Object.keys(entry.aliases ?? {})])] : null,
      aliases: entry.aliases ?? {},
      priority: entry.priority ?? index,
      weight: entry.weight,
      responses: entry.responses,
    };
  });
  return { upstreams, problems };
}
