/** One HTTP exchange with the upstream, as the OpenAI client makes it. */
export type UpstreamRequest = {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string | undefined;
  /** Aborting it ends the exchange at whatever stage it is: before the answer, or mid-body. */
  signal: AbortSignal;
};

/** The upstream's answer, once its status and headers have arrived. Its body is read once, either way. */
export type UpstreamAnswer = {
  status: number;
  /** A response header by lower-case name, or null. */
  header(name: string): string | null;
  text(): Promise<string>;
  /** The body as it arrives: bytes, or text where the transport decodes UTF-8 itself. */
  body(): AsyncIterable<Uint8Array | string>;
};

/**
 * How upstream calls leave the process. Each adapter may bring its own (Node and Lambda: node:http
 * with keep-alive agents, no Request, Response or web streams per call); `fetchTransport` is the
 * runtime's `fetch`, for Workers and wherever no adapter brings one.
 */
export type UpstreamTransport = (request: UpstreamRequest) => Promise<UpstreamAnswer>;

const NO_BODY: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

export const fetchTransport =
  // Looked up per call: a detached `fetch` is an illegal invocation on some runtimes.
    (fetch: typeof globalThis.fetch = (input, init) => globalThis.fetch(input, init)): UpstreamTransport =>
    async ({ url, method, headers, body, signal }) => {
      const response = await fetch(url, { method, headers, body, signal });
      return {
        status: response.status,
        header: (name) => response.headers.get(name),
        text: () => response.text(),
        body: () => response.body ?? NO_BODY,
      };
    };
