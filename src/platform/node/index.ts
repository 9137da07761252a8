/** The Node platform (see ../platform.ts): worker_threads, unref'd timers, loopback host ports. */
import { readFile } from 'node:fs/promises';
import type { Platform } from '../platform.js';
import { NodeFiles } from './files.js';
import { NodeLogFiles } from './log-files.js';
import { publishPort } from './publish.js';
import { nodeThreads } from './threads.js';
import { transpileComponent } from './transpile.js';

export const nodePlatform: Platform = {
  name: 'node',
  threads: nodeThreads,
  later(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  publish: publishPort,
  readFile: async (path) => new Uint8Array(await readFile(path)),
  files: (dir) => new NodeFiles(dir),
  logFiles: (dir) => new NodeLogFiles(dir),
  transpileComponent,
};
