// The web app's `lazy-modules.ts`: an ES module bundle imports what the workflow bundle requires at
// first use (see there).
import * as loadedFeelin from 'feelin';
import * as loadedLuxon from 'luxon';
import { boundRangeIteration } from './feel-range-bound';

boundRangeIteration(loadedFeelin.FeelRange);

export function feelin(): typeof loadedFeelin {
  return loadedFeelin;
}

export function luxon(): typeof loadedLuxon {
  return loadedLuxon;
}
