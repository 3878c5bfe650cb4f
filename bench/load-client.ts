import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.ts';

/**
 * A small keep-alive HTTP load client that times what a chat UI feels: the time to the first SSE
 * `data:` event and to the end of the response. It does as little as it can per byte (no SSE
 * parsing after the first event) so that it takes the same small share of the CPU for every target.
 */

/** `headers` go with every request beside the content type and length (the gateway's client key). */
export type Endpoint = {
  url: URL;
  body: Buffer;
  sse: boolean;
  headers?: Record<string, string>;
  /**
   * What a complete stream holds (a Responses API stream ends with `response.completed`, not
   * `[DONE]`): searched in every chunk, not only the stream's tail. Unset: the tail holds `[DONE]`.
   */
  completeMarker?: string;
};

export type Sample = {
  ok: boolean;
  status: number;
  /** Request start to the last byte, ms. */
  latencyMs: number;
  /** Request start to the end of the first `data:` event, ms; null for JSON or when none came. */
  firstEventMs: number | null;
  bytes: number;
  /** Date.now() when this client aborted the request (abort scenario only). */
  abortedAt: number | null;
  error?: string;
};

export type RequestOptions = {
  agent: Agent;
  abortAfterMs?: number;
  timeoutMs?: number;
  /** Called once, when the first `data:` event has arrived (SSE only). */
  onFirstEvent?: () => void;
  /** Counts the SSE events (blank-line ends) as they arrive, for rates over a window. */
  eventCounter?: { events: number };
};

export function send(
  endpoint: Endpoint,
  { agent, abortAfterMs, timeoutMs = 30_000, onFirstEvent, eventCounter }: RequestOptions,
) {
  return new Promise<Sample>((resolve) => {
    const started = performance.now();
    const sample: Sample = {
      ok: false,
      status: 0,
      latencyMs: 0,
      firstEventMs: null,
      bytes: 0,
      abortedAt: null,
    };
    let head = endpoint.sse ? '' : null;
    let endedWithNewline = false;
    let tail = '';
    const marker = endpoint.completeMarker;
    let sawMarker = false;
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(abortTimer);
      sample.latencyMs = performance.now() - started;
      if (error) sample.error = error;
      resolve(sample);
    };
    const req = request(endpoint.url, {
      method: 'POST',
      agent,
      headers: {
        ...endpoint.headers,
        'content-type': 'application/json',
        'content-length': endpoint.body.length,
      },
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    const abortTimer =
      abortAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            sample.abortedAt = Date.now();
            req.destroy();
            settle('aborted by client');
          }, abortAfterMs);
    req.on('response', (res) => {
      sample.status = res.statusCode ?? 0;
      res.on('data', (bytes: Buffer) => {
        sample.bytes += bytes.length;
        if (head !== null) {
          head += bytes.toString('latin1');
          const at = head.indexOf('data:');
          if (at !== -1 && head.indexOf('\n\n', at) !== -1) {
            sample.firstEventMs = performance.now() - started;
            head = null;
            onFirstEvent?.();
          }
        }
        if (eventCounter) {
          if (endedWithNewline && bytes[0] === 0x0a) eventCounter.events++;
          for (let at = bytes.indexOf('\n\n'); at !== -1; at = bytes.indexOf('\n\n', at + 2))
            eventCounter.events++;
          endedWithNewline = bytes[bytes.length - 1] === 0x0a;
        }
        if (marker && !sawMarker) {
          sawMarker = (tail + bytes.toString('latin1')).includes(marker);
          tail = bytes.subarray(-marker.length).toString('latin1');
        } else if (endpoint.sse) tail = (tail + bytes.subarray(-32).toString('latin1')).slice(-32);
      });
      res.on('end', () => {
        const complete = marker ? sawMarker : tail.includes('[DONE]');
        sample.ok = sample.status === 200 && (!endpoint.sse || complete);
        settle(sample.ok ? undefined : `status ${sample.status}`);
      });
      res.on('error', (error) => settle(error.message));
    });
    req.on('error', (error) => settle(error.message));
    req.end(endpoint.body);
  });
}

export type LoadResult = {
  samples: Sample[];
  wallMs: number;
  ok: number;
  failed: number;
  /** Completed requests per second. */
  rps: number;
  p50: number;
  p99: number;
  firstEventP50: number;
  firstEventP99: number;
  /** The first failure's reason, to say why a run went wrong. */
  firstError?: string;
};

/** `requests` requests, `concurrency` at a time, over keep-alive sockets; stops at `deadlineMs`. */
export async function runLoad(
  endpoint: Endpoint,
  {
    requests,
    concurrency,
    deadlineMs = 120_000,
  }: { requests: number; concurrency: number; deadlineMs?: number },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const samples: Sample[] = [];
  let issued = 0;
  const started = performance.now();
  const deadline = started + deadlineMs;
  const worker = async () => {
    while (issued < requests && performance.now() < deadline) {
      issued++;
      samples.push(await send(endpoint, { agent }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  agent.destroy();
  return summarize(samples, wallMs);
}

export function summarize(samples: Sample[], wallMs: number): LoadResult {
  const good = samples.filter((sample) => sample.ok);
  const firstEvents = good.flatMap((sample) => (sample.firstEventMs === null ? [] : [sample.firstEventMs]));
  const latencies = good.map((sample) => sample.latencyMs);
  return {
    samples,
    wallMs,
    ok: good.length,
    failed: samples.length - good.length,
    rps: good.length / (wallMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    firstEventP50: percentile(firstEvents, 50),
    firstEventP99: percentile(firstEvents, 99),
    firstError: samples.find((sample) => !sample.ok)?.error,
  };
}
