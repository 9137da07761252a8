import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Overlay } from '../../layers/overlay.js';
import { runInThread } from './testing.js';

const guest = (name: string): WebAssembly.Module => new WebAssembly.Module(readFileSync(new URL(`../../../guests/wasm/${name}.wasm`, import.meta.url)));
const golden = (name: string): string => readFileSync(new URL(`../../../guests/expected/${name}`, import.meta.url), 'utf8');

describe('Preview1 over the overlay', () => {
  it('hello prints args, env, cwd and exits with its argument', () => {
    const r = runInThread(guest('hello'), ['hello', '7', 'ünï'], { env: ['A=b', 'Ü=ö'] });
    expect(r.stdout).toBe('arg[0]=hello\narg[1]=7\narg[2]=ünï\nenv A=b\nenv Ü=ö\ncwd=/\n');
    expect(r.exitCode).toBe(7);
  });

  it('fsops in the overlay prints the transcript Linux gives', () => {
    const overlay = new Overlay([]);
    overlay.mkdir(overlay.root, 'work');
    const r = runInThread(guest('fsops'), ['fsops', '/work'], { overlay });
    expect(r.stdout).toBe(golden('fsops.txt'));
    expect(r.exitCode).toBe(0);
  });
});
