import { describe, expect, it } from 'vitest';
import { LayoutContentStore, MemoryContentStore, writeBlob } from './content-store.js';
import { MemoryFiles } from './files.js';
import { contentStoreSuite, filesSuite } from './testing/content-store-suite.js';

contentStoreSuite('memory', () => new MemoryContentStore());
contentStoreSuite(
  'layout over MemoryFiles',
  () => LayoutContentStore.open(new MemoryFiles()),
  (s) => s.files.list('ingest'),
);
filesSuite('MemoryFiles', () => new MemoryFiles());

describe('LayoutContentStore', () => {
  it('is an OCI image layout: oci-layout file and blobs/sha256/<hex>', async () => {
    const files = new MemoryFiles();
    const s = await LayoutContentStore.open(files);
    const info = await writeBlob(s, new TextEncoder().encode('blob'));
    expect(new TextDecoder().decode(await files.readFile('oci-layout'))).toBe('{"imageLayoutVersion":"1.0.0"}');
    expect(await files.readFile(`blobs/sha256/${info.digest.slice(7)}`)).toEqual(new TextEncoder().encode('blob'));
    // reopening keeps the layout and the blobs
    const again = await LayoutContentStore.open(files);
    expect(await again.list()).toEqual([info]);
  });

  it('refuses a foreign layout version and ignores files that are not blobs', async () => {
    const files = new MemoryFiles();
    await files.writeFile('oci-layout', new TextEncoder().encode('{"imageLayoutVersion":"2.0.0"}'));
    await expect(LayoutContentStore.open(files)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await files.writeFile('oci-layout', new TextEncoder().encode('nope'));
    await expect(LayoutContentStore.open(files)).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
    await files.writeFile('blobs/sha256/not-a-digest', new Uint8Array(1));
    expect(await new LayoutContentStore(files).list()).toEqual([]);
  });
});
