import type {} from 'aws-lambda';

type ResponseStream = awslambda.HttpResponseStream;

// RFC 9110 §7.6.1: they describe one hop, and Lambda's front end runs its own connection to the client.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** What `HttpResponseStream.from` sends ahead of the body: status, headers, cookies. */
export function preludeOf(response: Response) {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie' && !HOP_BY_HOP.has(name)) headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  return { statusCode: response.status, headers, ...(cookies.length ? { cookies } : {}) };
}

/**
 * Aborts when the runtime shows the response can no longer reach anyone: the response stream
 * errors or closes before we end it. On AWS today neither happens when a client hangs up (the
 * runtime streams on into the void), but a failed write to the Runtime API does surface here.
 */
export function watchResponseStream(stream: ResponseStream) {
  const gone = new AbortController();
  let ending = false;
  const onGone = () => {
    if (!ending) gone.abort(new Error('The response stream closed before the response ended'));
  };
  stream.on('error', onGone);
  stream.on('close', onGone);
  return {
    signal: gone.signal,
    /** From here on a `close` is the normal end, not a client leaving. */
    ending() {
      ending = true;
    },
  };
}

type SendOptions = {
  response: Response;
  stream: ResponseStream;
  watch: ReturnType<typeof watchResponseStream>;
  /** The bytes to send when the body fails after the prelude went out (an SSE error frame). */
  onBodyError: (error: unknown, contentType: string | null) => Uint8Array | undefined;
};

/**
 * Sends `response` down Lambda's response stream and resolves once the stream has ended. Pulls
 * the body one chunk at a time, so a slow Runtime API slows the upstream read; if the stream goes
 * away, cancels the body, which aborts the upstream request.
 */
export async function sendResponse({ response, stream, watch, onBodyError }: SendOptions): Promise<void> {
  const out = awslambda.HttpResponseStream.from(stream, preludeOf(response));
  const { signal } = watch;
  // The prelude goes out on the first write: a body-less response (a 204 preflight) still needs one.
  if (!response.body) {
    await write(out, new Uint8Array(0), signal);
    return end(out, watch);
  }
  const reader = response.body.getReader();
  let cancelling: Promise<void> | undefined;
  const cancel = () => {
    cancelling ??= reader.cancel(signal.reason).catch(() => {});
  };
  signal.addEventListener('abort', cancel, { once: true });
  let delivered = true;
  try {
    while (delivered) {
      const { done, value } = await reader.read();
      if (done) break;
      delivered = await write(out, value, signal);
    }
  } catch (error) {
    // Headers are gone already: the error can only travel inside the body.
    const last = signal.aborted ? undefined : onBodyError(error, response.headers.get('content-type'));
    if (last) await write(out, last, signal);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  if (!delivered || signal.aborted) cancel();
  end(out, watch);
  // A cancelled body still finishes its own work (the stream's usage record and log line), and
  // the runtime may freeze the process as soon as the handler settles.
  await cancelling;
}

/** Resolves true once `chunk` is handed to the socket, false if the stream is gone. */
function write(out: ResponseStream, chunk: Uint8Array, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || out.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    out.write(chunk, (error) => {
      signal.removeEventListener('abort', onAbort);
      resolve(!error);
    });
  });
}

function end(out: ResponseStream, watch: ReturnType<typeof watchResponseStream>) {
  watch.ending();
  if (!out.destroyed && !out.writableEnded) out.end();
}
