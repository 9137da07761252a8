#!/usr/bin/env node
/**
 * The `skiff` executable (package bin): wires the process to `run` (program.ts).
 *
 * Exit statuses (one scheme for every command; docker's 125 for its own errors is not
 * used):
 *   0  success.
 *   1  the operation failed: a typed error (`SkiffError`: bad image, no such image,
 *      digest mismatch…), a refused operation (`CliError`), or an OS error on a file;
 *      printed as `skiff: <message>` on stderr, without a stack trace. Commands that take
 *      several arguments (`rmi a b`) report each failure and go on, then exit 1. An
 *      unexpected exception (a bug) also exits 1, with its stack.
 *   2  usage error: unknown command or option, missing or extra argument, invalid
 *      option value; commander's message on stderr, then a pointer to `--help`.
 * `skiff run` exits with the guest's own status instead, and with docker run's 125, 126
 * and 127 for its own failures (run.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Input, Output, Signal } from './io.js';
import { run } from './program.js';

/** The version in skiff's package.json, found upward from this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'skiff' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep going up
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

function output(stream: NodeJS.WriteStream): Output {
  return {
    isTTY: stream.isTTY === true,
    get columns() {
      return stream.columns;
    },
    write: (data) => new Promise<void>((done, fail) => stream.write(data, (err) => (err ? fail(err) : done()))),
  };
}

const stdin: Input = {
  isTTY: process.stdin.isTTY === true,
  async readAll() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  },
};

// A reader that goes away (`skiff save web | head -c 100`) is not an error worth a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(1);
    throw e;
  });
}

/** While subscribed, SIGINT and SIGTERM go to `handler` instead of ending the process. */
function onSignal(handler: (signal: Signal) => void): () => void {
  const signals: Signal[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

process.exitCode = await run(
  process.argv.slice(2),
  { stdin, stdout: output(process.stdout), stderr: output(process.stderr), env: process.env, cwd: process.cwd(), onSignal },
  { version: packageVersion() },
);
