/** The browser platform (see ../platform.ts): Web Workers; timers never keep a page alive. */
import type { Platform } from '../platform.js';
import { browserThreads } from './threads.js';

export const browserPlatform: Platform = {
  name: 'browser',
  threads: browserThreads,
  later(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
