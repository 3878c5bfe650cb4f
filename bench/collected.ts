import type { Aborts, OpenStreams } from './long-streams.ts';
import type { Kind, Measured, RelayName, TargetName } from './scenarios.ts';

/** Every repetition of every scenario, as run.ts collects them. */
export type Results = {
  load: Record<Kind, Record<TargetName, Measured[]>>;
  serial: Record<'stream' | 'json', Record<TargetName, Measured[]>>;
  memory: Record<RelayName, OpenStreams[]>;
  aborts: Record<TargetName, Aborts[]>;
};

const byTarget = <T>(): Record<TargetName, T[]> => ({ gateway: [], reference: [], direct: [] });
export const emptyResults = (): Results => ({
  load: { stream: byTarget(), json: byTarget(), v1: byTarget(), responses: byTarget() },
  serial: { stream: byTarget(), json: byTarget() },
  memory: { gateway: [], reference: [] },
  aborts: byTarget(),
});

export type Sizes = {
  reps: number;
  requests: number;
  concurrency: number;
  serialRequests: number;
  openStreams: number;
  aborts: number;
  abortAfterMs: number;
};
