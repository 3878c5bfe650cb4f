import { en } from 'zod/locales';
import { config, type core, pipe, transform, type ZodMiniTransform } from 'zod/mini';

/**
 * zod for src/: zod/mini, tree-shakable, so the Lambda bundle carries 32 KB of it where classic zod
 * put in 444 KB and about 75 ms of cold-start import (docs/lambda.md). Import it as
 * `import * as z from './zod-mini.ts'` and only read properties off `z`: re-exporting or passing the
 * namespace itself would make the bundler keep all of zod/mini, every locale included.
 */
export * from 'zod/mini';

// zod/mini loads no locale, so every issue it raises would read "Invalid input". Classic zod loads
// English on its own; loading it here keeps the messages the 400s and config errors always carried.
// src/ imports zod through this file only, so no schema parses before this has run.
config(en());

/** Classic zod's `z.preprocess`, which zod/mini lacks: the same pipe from a transform into `schema`. */
export const preprocess = <T extends core.$ZodType>(fn: (value: unknown) => unknown, schema: T) =>
  pipe<ZodMiniTransform, T>(transform(fn), schema);
