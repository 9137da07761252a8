/**
 * A lock between test processes on the first NodePort of the default range: a cluster
 * started with the defaults gives its first NodePort Service 30000 and listens on
 * 127.0.0.1:30000, and vitest runs two test files at once. The files whose clusters do
 * (test/cluster.test.ts, test/demo.test.ts, the README's cluster examples in
 * test/readme.test.ts) hold this lock while theirs run, so that they never listen there at
 * the same time: when two did, the second got EADDRINUSE and no NodePort (1 full run in 4
 * under load, cluster.test.ts beside the demo).
 *
 * The lock is a directory (mkdir is atomic) holding the holder's pid; a lock whose holder
 * is gone (a test process killed mid-run) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'skiff-test-node-port-30000.lock');

/** Waits for the lock (polling every 50 ms, up to `timeoutMs`); resolves with its release. */
export async function lockNodePort(timeoutMs = 120_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      let held = true;
      return () => {
        if (held) rmSync(LOCK, { recursive: true, force: true });
        held = false;
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (holderGone()) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK} still held after ${timeoutMs} ms (by pid ${readPid() ?? '?'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fn` holding the lock. */
export async function withNodePort<T>(fn: () => T | Promise<T>): Promise<T> {
  const release = await lockNodePort();
  try {
    return await fn();
  } finally {
    release();
  }
}

function readPid(): number | undefined {
  try {
    return Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

function holderGone(): boolean {
  const pid = readPid();
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) {
    // No pid yet: just made (its holder writes the pid next), unless it has been like that for long.
    try {
      return Date.now() - statSync(LOCK).mtimeMs > 10_000;
    } catch {
      return false; // released meanwhile
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
