/** scripts/bundle-threads.mjs */
export const THREAD_MODULES: readonly string[];
export function bundleThreads(): Promise<void>;
