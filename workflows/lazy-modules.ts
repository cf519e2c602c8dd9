// feelin (with lezer and the Temporal polyfill under it) and luxon are most of the workflow bundle,
// and a reusable V8 context runs the factory of every module a workflow requires once per workflow.
// Required at first use instead of imported, they cost nothing to a workflow whose expressions the
// shortcuts answer and that sets no timer. The web app builds `lazy-modules.browser.ts` in this
// module's place (designer/vite.config.mts): an ES module bundle has no `require`.
import type * as Feelin from 'feelin';
import type * as Luxon from 'luxon';
import { boundRangeIteration } from './feel-range-bound';

/* eslint-disable @typescript-eslint/no-require-imports -- required at first use, on purpose (above) */

/** feelin, with range iteration bounded. webpack's module cache keeps it after the first call. */
export function feelin(): typeof Feelin {
  const loaded = require('feelin') as typeof Feelin;
  boundRangeIteration(loaded.FeelRange);
  return loaded;
}

export function luxon(): typeof Luxon {
  return require('luxon') as typeof Luxon;
}
