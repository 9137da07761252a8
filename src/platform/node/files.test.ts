import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LayoutContentStore, writeBlob } from '../../layers/content-store.js';
import { contentStoreSuite, filesSuite } from '../../layers/testing/content-store-suite.js';
import { NodeFiles } from './files.js';

const root = await mkdtemp(join(tmpdir(), 'skiff-files-'));
let n = 0;
const fresh = (): NodeFiles => new NodeFiles(join(root, `t${n++}`));
afterAll(() => rm(root, { recursive: true, force: true }));

filesSuite('NodeFiles', fresh);
contentStoreSuite(
  'layout over NodeFiles',
  () => LayoutContentStore.open(fresh()),
  (s) => s.files.list('ingest'),
);

describe('NodeFiles', () => {
  it('leaves no temp files behind after atomic writes', async () => {
    const f = fresh();
    await f.writeFile('index.json', new TextEncoder().encode('{}'));
    await f.writeFile('index.json', new TextEncoder().encode('{"a":1}'));
    expect(await readdir(f.base)).toEqual(['index.json']);
  });

  it('is a real OCI layout on disk', async () => {
    const f = fresh();
    const s = await LayoutContentStore.open(f);
    const info = await writeBlob(s, new TextEncoder().encode('on disk'));
    expect((await readdir(f.base)).sort()).toEqual(['blobs', 'ingest', 'oci-layout']);
    expect(await readdir(join(f.base, 'blobs', 'sha256'))).toEqual([info.digest.slice(7)]);
    expect(await new NodeFiles(f.base).readFile(`blobs/sha256/${info.digest.slice(7)}`)).toEqual(new TextEncoder().encode('on disk'));
  });
});

describe('ImageStore over NodeFiles', () => {
  it('persists images and refs in the directory', async () => {
    const { packTar } = await import('modern-tar');
    const { ImageStore } = await import('../../layers/image-store.js');
    const f = fresh();
    const tar = await packTar([{ header: { name: 'hello', type: 'file', size: 2 }, body: 'hi' }]);
    const img = await (await ImageStore.open(f)).put({ ref: 'web:1', config: { architecture: 'wasm', os: 'wasip1' }, layers: [{ tar }] });
    const again = await ImageStore.open(new NodeFiles(f.base));
    expect(await again.list()).toEqual([{ ref: 'web:1', digest: img.descriptor.digest }]);
    const layers = await again.layers((await again.get('web:1'))!);
    expect(layers[0]?.root.children.has('hello')).toBe(true);
    expect((await readdir(join(f.base, 'blobs', 'sha256'))).length).toBe(3);
  });
});
