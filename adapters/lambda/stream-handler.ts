import type { APIGatewayProxyEvent, LambdaFunctionURLEvent, StreamifyHandler } from 'aws-lambda';
import type { ExecutionContext } from 'hono';
import { GatewayError, invalidRequest, toGatewayError } from '../../src/errors.ts';
import { describeError, type Logger } from '../../src/logger.ts';
import { gatewayFrames } from '../../src/streaming/gateway-frames.ts';
import { requestFromFunctionUrlEvent } from './function-url-request.ts';
import { requestFromRestApiEvent } from './rest-api-request.ts';
import { sendResponse, watchResponseStream } from './stream-response.ts';

/** How long before the function's timeout `deadline` aborts: time to end open streams and log them. */
export const DEADLINE_MARGIN_MS = 1_000;

/** A Function URL event, or a REST API proxy event (a REST API with `responseTransferMode: STREAM`). */
export type StreamingEvent = LambdaFunctionURLEvent | APIGatewayProxyEvent;

export const isRestApiEvent = (event: StreamingEvent): event is APIGatewayProxyEvent => 'httpMethod' in event;

type Invocation = {
  event: StreamingEvent;
  executionContext: ExecutionContext;
  /** Aborts DEADLINE_MARGIN_MS before Lambda stops the function. */
  deadline: AbortSignal;
};

/**
 * A Function URL handler for Lambda response streaming, in place of hono/aws-lambda's
 * `streamHandle`, whose gaps it closes: the Request carries a signal that aborts when the response
 * stream fails; the prelude never carries hop-by-hop headers and always goes out, so the status
 * and content type reach the client; a body that fails after the prelude ends with an SSE error
 * event, not plain text; and the handler settles only after the stream ended and the work handed
 * to `waitUntil` ran, since the runtime freezes the process as soon as it settles.
 */
export function streamingHandler(options: {
  fetch: (request: Request, invocation: Invocation) => Response | Promise<Response>;
  log: Logger;
}): StreamifyHandler<StreamingEvent, void> {
  const { fetch, log } = options;

  const respond = async (event: StreamingEvent, signal: AbortSignal, invocation: Invocation) => {
    let request: Request;
    try {
      request = isRestApiEvent(event)
        ? requestFromRestApiEvent(event, signal)
        : requestFromFunctionUrlEvent(event, signal);
    } catch (error) {
      log.warn('bad_event', describeError(error));
      return errorResponse(invalidRequest('The request could not be read'));
    }
    try {
      return await fetch(request, invocation);
    } catch (error) {
      log.error('unhandled_error', describeError(error));
      return errorResponse(toGatewayError(error));
    }
  };

  const onBodyError = (error: unknown, contentType: string | null) => {
    log.error('response_body_failed', describeError(error));
    // `event: error` with OpenAI's error body: gateway clients read the event, OpenAI's SDKs the body.
    return contentType?.startsWith('text/event-stream')
      ? encoder.encode(gatewayFrames.error(toGatewayError(error)))
      : undefined;
  };

  return streamify(async (event, responseStream, context) => {
    const watch = watchResponseStream(responseStream);
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(functionTimeout()),
      context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
    );
    // The runtime freezes the process once this handler settles: work handed to waitUntil runs first.
    const work: Promise<unknown>[] = [];
    const executionContext: ExecutionContext = {
      waitUntil: (promise) => void work.push(promise),
      passThroughOnException: () => {},
      props: {},
    };
    try {
      const response = await respond(event, watch.signal, {
        event,
        executionContext,
        deadline: deadline.signal,
      });
      await sendResponse({ response, stream: responseStream, watch, onBodyError });
    } finally {
      await settle(work, deadline.signal);
      clearTimeout(timer);
    }
  });
}

/** Waits for the work handed to waitUntil (and work it adds), but not past the deadline. */
async function settle(work: Promise<unknown>[], deadline: AbortSignal) {
  const timeUp = new Promise<void>((resolve) => {
    if (deadline.aborted) resolve();
    else deadline.addEventListener('abort', () => resolve(), { once: true });
  });
  while (work.length && !deadline.aborted) await Promise.race([Promise.allSettled(work.splice(0)), timeUp]);
}

const encoder = new TextEncoder();

const errorResponse = (error: GatewayError) =>
  Response.json(error.toBody(), { status: error.status, headers: error.headers });

function streamify<Event>(fn: StreamifyHandler<Event, void>): StreamifyHandler<Event, void> {
  if (typeof awslambda === 'undefined') {
    throw new Error('The Lambda handler runs in the AWS Lambda Node.js runtime, which defines `awslambda`');
  }
  return awslambda.streamifyResponse(fn);
}

const functionTimeout = () =>
  new GatewayError({
    status: 504,
    type: 'timeout_error',
    code: 'function_timeout',
    message:
      "The stream reached the Lambda function's time limit; ask for a shorter answer or continue in a new request",
  });
