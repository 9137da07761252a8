/**
 * The memfs defects `memfs()` fixes, each shown on raw memfs and then fixed: without
 * them the `fsops` guest's transcript differs inside an in-memory named volume
 * (test/container-volumes.test.ts runs it there).
 */
import { Volume, createFsFromVolume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { memfs } from './volumes.js';

const raw = () => createFsFromVolume(new Volume());

describe('memfs() over raw memfs', () => {
  it('rename onto an existing name: the directory can still be removed once empty', () => {
    const setup = (fs: ReturnType<typeof raw> | ReturnType<typeof memfs>): void => {
      fs.mkdirSync('/d', { mode: 0o755 });
      fs.mkdirSync('/d/a', { mode: 0o755 });
      fs.mkdirSync('/d/b', { mode: 0o755 });
      fs.renameSync('/d/a', '/d/b');
      fs.rmdirSync('/d/b');
    };
    const r = raw();
    setup(r);
    expect(r.readdirSync('/d')).toEqual([]);
    expect(() => r.rmdirSync('/d')).toThrow(/ENOTEMPTY/); // memfs counted the replaced child twice
    const f = memfs();
    setup(f);
    expect(f.readdirSync('/d')).toEqual([]);
    f.rmdirSync('/d');
    expect(() => f.lstatSync('/d', { bigint: true })).toThrow(/ENOENT/);
  });

  it('rename of a file over a file keeps the target directory consistent too', () => {
    const f = memfs();
    f.mkdirSync('/d', { mode: 0o755 });
    for (const n of ['x', 'y']) f.closeSync(f.openSync(`/d/${n}`, f.constants.O_CREAT | f.constants.O_RDWR, 0o644));
    f.renameSync('/d/x', '/d/y');
    expect(f.readdirSync('/d')).toEqual(['y']);
    f.unlinkSync('/d/y');
    f.rmdirSync('/d');
  });

  it('lstat of a symlink reports the length of its target, as Linux does', () => {
    const r = raw();
    r.symlinkSync('target/é', '/l');
    expect(r.lstatSync('/l', { bigint: true })?.size).toBe(0n);
    const f = memfs();
    f.symlinkSync('target/é', '/l');
    const st = f.lstatSync('/l', { bigint: true });
    expect(st?.size).toBe(9n); // bytes, not characters
    expect(st?.isSymbolicLink()).toBe(true);
  });
});
