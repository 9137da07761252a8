import { packTar, unpackTar } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { MemoryContentStore, writeBlob } from './content-store.js';
import { digestOf } from './digest.js';
import { InvalidImageError } from './errors.js';
import { layoutEntryName, readArchive, writeArchive } from './layout.js';
import { type Descriptor, MediaType, descriptorFor, encodeConfig, encodeManifest } from './oci.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

async function fixture(): Promise<{ blobs: MemoryContentStore; manifest: Descriptor; config: Descriptor; layer: Descriptor }> {
  const blobs = new MemoryContentStore();
  const tar = await packTar([{ header: { name: 'f', type: 'file', size: 1 }, body: 'x' }]);
  const layer = descriptorFor(MediaType.ociLayer, tar);
  const configBytes = encodeConfig({ architecture: 'wasm', os: 'wasip1', rootfs: { type: 'layers', diff_ids: [layer.digest] } });
  const config = descriptorFor(MediaType.ociConfig, configBytes);
  const manifestBytes = encodeManifest({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] });
  const manifest = descriptorFor(MediaType.ociManifest, manifestBytes);
  for (const b of [tar, configBytes, manifestBytes]) await writeBlob(blobs, b);
  return { blobs, manifest, config, layer };
}

describe('layoutEntryName', () => {
  const d: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf(enc('m')), size: 1 };
  const named = (annotations: Record<string, string>): Descriptor => ({ ...d, annotations });

  it('prefers io.containerd.image.name, then a full ref.name, then baseName + a bare tag', () => {
    expect(layoutEntryName(named({ 'io.containerd.image.name': 'docker.io/library/a:1', 'org.opencontainers.image.ref.name': '1' }), 's', 'm')).toBe(
      'docker.io/library/a:1',
    );
    expect(layoutEntryName(named({ 'org.opencontainers.image.ref.name': 'team/web:2' }), 's', 'm')).toBe('docker.io/team/web:2');
    expect(layoutEntryName(named({ 'org.opencontainers.image.ref.name': 'latest' }), 's', 'm')).toBeUndefined();
    expect(layoutEntryName(named({ 'org.opencontainers.image.ref.name': 'latest' }), 's', 'm', 'web')).toBe('docker.io/library/web:latest');
    expect(layoutEntryName(d, 's', 'm', 'web')).toBeUndefined();
  });

  it('names the annotation of an invalid name', () => {
    expect(() => layoutEntryName(named({ 'org.opencontainers.image.ref.name': 'Web:1' }), 'x index.json', 'manifests[3]')).toThrow(InvalidImageError);
    expect(() => layoutEntryName(named({ 'org.opencontainers.image.ref.name': 'Web:1' }), 'x index.json', 'manifests[3]')).toThrow(
      /^x index\.json: manifests\[3\]\.annotations\["org\.opencontainers\.image\.ref\.name"\]: invalid image reference "Web:1"/,
    );
  });
});

describe('writeArchive', () => {
  it('writes an OCI layout tar: oci-layout, index.json with both names, blobs', async () => {
    const { blobs, manifest, config, layer } = await fixture();
    const tar = await writeArchive([{ refs: ['docker.io/library/web:latest'], manifest, config, layers: [layer] }], blobs, 'oci');
    const files = new Map((await unpackTar(tar)).map((e) => [e.header.name, e.data]));
    expect([...files.keys()].sort()).toEqual(
      ['blobs/', 'blobs/sha256/', ...[manifest, config, layer].map((x) => `blobs/sha256/${x.digest.slice(7)}`), 'index.json', 'oci-layout'].sort(),
    );
    expect(text(files.get('oci-layout'))).toBe('{"imageLayoutVersion":"1.0.0"}');
    expect(JSON.parse(text(files.get('index.json')))).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        {
          ...manifest,
          annotations: { 'io.containerd.image.name': 'docker.io/library/web:latest', 'org.opencontainers.image.ref.name': 'web:latest' },
        },
      ],
    });
  });

  it('writes a docker save archive: manifest.json with familiar RepoTags and blob paths', async () => {
    const { blobs, manifest, config, layer } = await fixture();
    const tar = await writeArchive(
      [
        { refs: ['docker.io/library/web:latest', 'localhost:5000/web:1'], manifest, config, layers: [layer] },
        { refs: [], manifest, config, layers: [layer] },
      ],
      blobs,
      'docker',
    );
    const files = new Map((await unpackTar(tar)).map((e) => [e.header.name, e.data]));
    expect(files.has('index.json')).toBe(false);
    expect(files.has(`blobs/sha256/${manifest.digest.slice(7)}`)).toBe(false);
    expect(JSON.parse(text(files.get('manifest.json')))).toEqual([
      { Config: `blobs/sha256/${config.digest.slice(7)}`, RepoTags: ['web:latest', 'localhost:5000/web:1'], Layers: [`blobs/sha256/${layer.digest.slice(7)}`] },
      { Config: `blobs/sha256/${config.digest.slice(7)}`, RepoTags: null, Layers: [`blobs/sha256/${layer.digest.slice(7)}`] },
    ]);
  });
});

describe('readArchive', () => {
  it('prefers the OCI layout when a Docker ≥ 25 archive has both formats', async () => {
    const { blobs, manifest, config, layer } = await fixture();
    const oci = await unpackTar(await writeArchive([{ refs: ['docker.io/library/web:latest'], manifest, config, layers: [layer] }], blobs, 'oci'));
    const dockerManifest = enc(JSON.stringify([{ Config: `blobs/sha256/${config.digest.slice(7)}`, RepoTags: ['other:1'], Layers: [] }]));
    const both = await packTar([...oci, { header: { name: 'manifest.json', type: 'file', size: dockerManifest.length }, body: dockerManifest }]);
    const src = await readArchive(both);
    expect(src.format).toBe('oci');
    expect(src.images).toEqual([{ ref: 'docker.io/library/web:latest', candidates: [expect.objectContaining({ digest: manifest.digest })] }]);
  });

  it('refuses a blobs/sha256 path whose content has another digest', async () => {
    const m = enc(JSON.stringify([{ Config: `blobs/sha256/${'0'.repeat(64)}`, RepoTags: null, Layers: [] }]));
    const tar = await packTar([
      { header: { name: `blobs/sha256/${'0'.repeat(64)}`, type: 'file', size: 2 }, body: '{}' },
      { header: { name: 'manifest.json', type: 'file', size: m.length }, body: m },
    ]);
    await expect(readArchive(tar)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('refuses a tar that is not a tar', async () => {
    await expect(readArchive(enc('definitely not a tar archive, just text '.repeat(20)))).rejects.toBeInstanceOf(InvalidImageError);
  });
});
