/**
 * skiff's public API. Everything a library user imports comes from here:
 * `import { Sandbox } from 'skiff'`.
 */
export { Sandbox, type RunOptions, type RunResult } from './sandbox/sandbox.js';
