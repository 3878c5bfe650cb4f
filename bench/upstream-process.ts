import { type Scenario, startFakeUpstream } from '../test/support/fake-upstream.ts';
import { processUsage, serveRpc } from './child-rpc.ts';

/**
 * The fake OpenAI upstream in its own process, driven by `bench/run.ts` over IPC:
 * it sets the scenario per phase and collects what the upstream saw of each request.
 */

/** What the bench needs of a recorded request: which one it was, and whether and when it was aborted. */
export type SeenRequest = {
  marker: string;
  startedAt: number;
  aborted: boolean;
  abortedAt: number | null;
  chunksSent: number;
};

const upstream = await startFakeUpstream({ fast: true });

serveRpc(
  {
    setDefault: (scenario: Scenario) => upstream.setDefault(scenario),
    usage: () => processUsage(),
    /** Hands over the requests recorded so far and forgets them, so long runs do not pile them up. */
    takeRequests: (): SeenRequest[] => {
      const taken = upstream.requests.splice(0);
      return taken.map((request) => {
        const messages = (request.body?.messages ?? []) as { content?: unknown }[];
        const last = messages.at(-1)?.content;
        return {
          marker: typeof last === 'string' ? last : '',
          startedAt: request.startedAt,
          aborted: request.aborted,
          abortedAt: request.abortedAt ?? null,
          chunksSent: request.chunksSent,
        };
      });
    },
    shutdown: async () => {
      await upstream.close();
      setImmediate(() => process.exit(0));
    },
  },
  { baseURL: upstream.baseURL },
);
