import { describe, expect, it } from 'vitest';
import { type Digest, digestOf } from './digest.js';
import { InvalidImageError, SkiffError } from './errors.js';
import {
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  MediaType,
  chainIDs,
  encodeConfig,
  encodeIndex,
  encodeManifest,
  isWasmPlatform,
  parseConfig,
  parseIndex,
  parseManifest,
  selectManifest,
} from './oci.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const D1 = digestOf(enc('one'));
const D2 = digestOf(enc('two'));
const D3 = digestOf(enc('three'));

const manifest = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: D1, size: 10 },
  layers: [
    { mediaType: MediaType.ociLayerGzip, digest: D2, size: 20 },
    { mediaType: MediaType.ociLayer, digest: D3, size: 30 },
  ],
  ...over,
});

const config = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  architecture: 'wasm',
  os: 'wasip1',
  config: { Env: ['PATH=/'], Cmd: ['/app.wasm'] },
  rootfs: { type: 'layers', diff_ids: [D2, D3] },
  ...over,
});

/** Expects `fn` to throw an error of `cls` (and `code`) whose message matches every pattern. */
function expectError(fn: () => unknown, code: string, ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(SkiffError);
  expect((err as SkiffError).code).toBe(code);
  if (code === 'INVALID_IMAGE') expect(err).toBeInstanceOf(InvalidImageError);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

describe('parseManifest', () => {
  it('parses OCI and Docker v2 manifests', () => {
    const m = parseManifest(enc(manifest()), 'm');
    expect(m.layers).toHaveLength(2);
    expect(m.config.digest).toBe(D1);
    const d = parseManifest(
      enc(
        manifest({
          mediaType: MediaType.dockerManifest,
          config: { mediaType: MediaType.dockerConfig, digest: D1, size: 1 },
          layers: [{ mediaType: MediaType.dockerLayerGzip, digest: D2, size: 2 }],
        }),
      ),
      'm',
    );
    expect(d.mediaType).toBe(MediaType.dockerManifest);
    // mediaType is optional in OCI manifests; unknown fields are ignored; null is absent
    const { mediaType: _m, ...noType } = manifest();
    expect(parseManifest(enc({ ...noType, extra: 1, annotations: null }), 'm').mediaType).toBeUndefined();
  });

  const bad: [string, unknown, string, RegExp][] = [
    ['not JSON', '{', 'INVALID_IMAGE', /not valid JSON/],
    ['not an object', '[1]', 'INVALID_IMAGE', /document must be an object \(got array\)/],
    ['schemaVersion 1', manifest({ schemaVersion: 1 }), 'INVALID_IMAGE', /schemaVersion must be 2 \(got 1\)/],
    ['schemaVersion missing', manifest({ schemaVersion: undefined }), 'INVALID_IMAGE', /schemaVersion is missing/],
    ['an index', manifest({ mediaType: MediaType.ociIndex }), 'INVALID_IMAGE', /mediaType .* is an image index, not a manifest/],
    ['schema 1', manifest({ mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }), 'UNSUPPORTED', /mediaType/],
    ['config missing', manifest({ config: undefined }), 'INVALID_IMAGE', /config is missing/],
    ['config not an object', manifest({ config: 'x' }), 'INVALID_IMAGE', /config must be an object \(got string\)/],
    ['config digest invalid', manifest({ config: { mediaType: MediaType.ociConfig, digest: 'sha256:abc', size: 1 } }), 'INVALID_IMAGE', /config\.digest "sha256:abc" is not a valid digest/],
    ['config digest missing', manifest({ config: { mediaType: MediaType.ociConfig, size: 1 } }), 'INVALID_IMAGE', /config\.digest is missing/],
    ['config size string', manifest({ config: { mediaType: MediaType.ociConfig, digest: D1, size: '1' } }), 'INVALID_IMAGE', /config\.size must be a non-negative integer/],
    ['config of an artifact', manifest({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: D1, size: 1 } }), 'UNSUPPORTED', /config\.mediaType/],
    ['layers missing', manifest({ layers: undefined }), 'INVALID_IMAGE', /layers is missing/],
    ['layers not an array', manifest({ layers: {} }), 'INVALID_IMAGE', /layers must be an array \(got object\)/],
    ['negative size', manifest({ layers: [{ mediaType: MediaType.ociLayer, digest: D2, size: -3 }] }), 'INVALID_IMAGE', /layers\[0\]\.size must be a non-negative integer \(got -3\)/],
    ['fractional size', manifest({ layers: [{ mediaType: MediaType.ociLayer, digest: D2, size: 1.5 }] }), 'INVALID_IMAGE', /layers\[0\]\.size/],
    ['media type missing', manifest({ layers: [{ digest: D2, size: 3 }] }), 'INVALID_IMAGE', /layers\[0\]\.mediaType is missing/],
    ['unknown layer type', manifest({ layers: [{ mediaType: 'application/x-foo', digest: D2, size: 3 }] }), 'UNSUPPORTED', /layers\[0\]\.mediaType "application\/x-foo"/],
    ['sha512 digest', manifest({ layers: [{ mediaType: MediaType.ociLayer, digest: `sha512:${'a'.repeat(128)}`, size: 3 }] }), 'UNSUPPORTED', /layers\[0\]\.digest .*only sha256/],
    ['annotation not a string', manifest({ annotations: { a: 1 } }), 'INVALID_IMAGE', /annotations\["a"\] must be a string/],
    ['layer urls not strings', manifest({ layers: [{ mediaType: MediaType.ociLayer, digest: D2, size: 3, urls: [1] }] }), 'INVALID_IMAGE', /layers\[0\]\.urls\[0\] must be a string/],
  ];
  for (const [what, doc, code, pattern] of bad) {
    it(`refuses ${what}, naming the source and the field`, () => {
      expectError(() => parseManifest(enc(doc), 'manifest sha256:feed'), code, /^manifest sha256:feed: /, pattern);
    });
  }

  it('refuses bytes that are not UTF-8', () => {
    expectError(() => parseManifest(new Uint8Array([0xff, 0xfe]), 'm'), 'INVALID_IMAGE', /not valid UTF-8/);
  });
});

describe('parseIndex', () => {
  const index = (manifests: unknown, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests,
    ...over,
  });

  it('parses an index with platforms and annotations, and a Docker manifest list', () => {
    const i = parseIndex(
      enc(
        index([
          { mediaType: MediaType.ociManifest, digest: D1, size: 1, platform: { architecture: 'wasm', os: 'wasip1' } },
          { mediaType: MediaType.ociManifest, digest: D2, size: 2, annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
        ]),
      ),
      'idx',
    );
    expect(i.manifests[0]?.platform).toEqual({ architecture: 'wasm', os: 'wasip1' });
    expect(parseIndex(enc(index([], { mediaType: MediaType.dockerManifestList })), 'idx').manifests).toEqual([]);
  });

  it('names the field of malformed entries', () => {
    expectError(() => parseIndex(enc(index(undefined)), 'idx'), 'INVALID_IMAGE', /^idx: manifests is missing/);
    expectError(
      () => parseIndex(enc(index([{ mediaType: MediaType.ociManifest, digest: D1, size: 1, platform: { os: 'wasi' } }])), 'idx'),
      'INVALID_IMAGE',
      /manifests\[0\]\.platform\.architecture is missing/,
    );
    expectError(() => parseIndex(enc(index([{ mediaType: MediaType.ociManifest, digest: 'nope', size: 1 }])), 'idx'), 'INVALID_IMAGE', /manifests\[0\]\.digest "nope"/);
    expectError(() => parseIndex(enc(index([], { schemaVersion: 3 })), 'idx'), 'INVALID_IMAGE', /schemaVersion must be 2/);
    expectError(() => parseIndex(enc(index([], { mediaType: MediaType.ociManifest })), 'idx'), 'INVALID_IMAGE', /is an image manifest, not an index/);
  });
});

describe('parseConfig', () => {
  it('parses a Docker config with nulls and extra fields', () => {
    const c = parseConfig(
      enc({
        architecture: 'wasm',
        os: 'wasip1',
        docker_version: '27.0',
        config: {
          Hostname: '',
          Env: ['A=1'],
          Entrypoint: null,
          Cmd: ['/app.wasm'],
          Volumes: null,
          Labels: { a: 'b' },
          ExposedPorts: { '80/tcp': {} },
          OnBuild: null,
        },
        rootfs: { type: 'layers', diff_ids: [D1] },
        history: [{ created: '2024-01-01T00:00:00Z', created_by: 'COPY', empty_layer: false }],
      }),
      'cfg',
    );
    expect(c.config).toEqual({ Env: ['A=1'], Cmd: ['/app.wasm'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } });
    expect(c.history?.[0]?.created_by).toBe('COPY');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['architecture missing', config({ architecture: undefined }), /architecture is missing/],
    ['os a number', config({ os: 1 }), /os must be a string \(got number\)/],
    ['rootfs missing', config({ rootfs: undefined }), /rootfs is missing/],
    ['rootfs.type', config({ rootfs: { type: 'squash', diff_ids: [] } }), /rootfs\.type must be "layers"/],
    ['diff_ids missing', config({ rootfs: { type: 'layers' } }), /rootfs\.diff_ids is missing/],
    ['a bad diff_id', config({ rootfs: { type: 'layers', diff_ids: [D1, 'sha256:xyz'] } }), /rootfs\.diff_ids\[1\] "sha256:xyz" is not a valid digest/],
    ['Env not an array', config({ config: { Env: 'A=1' } }), /config\.Env must be an array \(got string\)/],
    ['Env entry', config({ config: { Env: ['A=1', 2] } }), /config\.Env\[1\] must be a string/],
    ['Entrypoint', config({ config: { Entrypoint: '/app.wasm' } }), /config\.Entrypoint must be an array/],
    ['Labels', config({ config: { Labels: { a: true } } }), /config\.Labels\["a"\] must be a string/],
    ['ExposedPorts', config({ config: { ExposedPorts: { '80/tcp': 1 } } }), /config\.ExposedPorts\["80\/tcp"\] must be an object/],
    ['WorkingDir', config({ config: { WorkingDir: [] } }), /config\.WorkingDir must be a string \(got array\)/],
    ['history entry', config({ history: [{ empty_layer: 'yes' }] }), /history\[0\]\.empty_layer must be a boolean/],
  ];
  for (const [what, doc, pattern] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      expectError(() => parseConfig(enc(doc), 'config sha256:c0'), 'INVALID_IMAGE', /^config sha256:c0: /, pattern);
    });
  }
});

describe('platform selection', () => {
  const m = (digest: Digest, platform?: { os: string; architecture: string }, annotations?: Record<string, string>): Descriptor => ({
    mediaType: MediaType.ociManifest,
    digest,
    size: 1,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  });

  it('accepts wasi/wasm and wasip1/wasm as the Wasm platform', () => {
    expect(isWasmPlatform({ os: 'wasi', architecture: 'wasm' })).toBe(true);
    expect(isWasmPlatform({ os: 'wasip1', architecture: 'wasm' })).toBe(true);
    expect(isWasmPlatform({ os: 'linux', architecture: 'wasm' })).toBe(false);
    expect(isWasmPlatform(undefined)).toBe(false);
  });

  it('chooses the Wasm manifest among several', () => {
    const all = [m(D1, { os: 'linux', architecture: 'amd64' }), m(D2, { os: 'wasip1', architecture: 'wasm' }), m(D3, { os: 'linux', architecture: 'arm64' })];
    expect(selectManifest(all)?.digest).toBe(D2);
    expect(selectManifest([m(D1, { os: 'linux', architecture: 'amd64' }), m(D3, { os: 'wasi', architecture: 'wasm' })])?.digest).toBe(D3);
  });

  it('takes a single manifest without a platform, and nothing else', () => {
    expect(selectManifest([m(D1)])?.digest).toBe(D1);
    expect(selectManifest([m(D1), m(D2)])).toBeUndefined();
    expect(selectManifest([m(D1, { os: 'linux', architecture: 'amd64' })])).toBeUndefined();
    expect(selectManifest([])).toBeUndefined();
  });

  it('ignores attestation manifests and non-manifest entries', () => {
    const att = m(D2, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' });
    expect(selectManifest([m(D1), att])?.digest).toBe(D1);
    expect(selectManifest([{ mediaType: 'application/octet-stream', digest: D3, size: 1 }, m(D1)])?.digest).toBe(D1);
  });
});

describe('chainIDs', () => {
  it('follows the image spec: chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))', () => {
    expect(chainIDs([])).toEqual([]);
    const c = chainIDs([D1, D2, D3]);
    expect(c[0]).toBe(D1);
    expect(c[1]).toBe(digestOf(enc(`${D1} ${D2}`)));
    expect(c[2]).toBe(digestOf(enc(`${c[1]} ${D3}`)));
  });
});

describe('canonical encoding', () => {
  it('writes manifests in the Go struct order, maps sorted, omitting empty fields', () => {
    const m: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: D1, size: 10 },
      layers: [{ mediaType: MediaType.ociLayer, digest: D2, size: 20, annotations: {} }],
      annotations: { z: '1', a: '<&>' },
    };
    expect(new TextDecoder().decode(encodeManifest(m))).toBe(
      `{"schemaVersion":2,"mediaType":"${MediaType.ociManifest}","config":{"mediaType":"${MediaType.ociConfig}","digest":"${D1}","size":10},` +
        `"layers":[{"mediaType":"${MediaType.ociLayer}","digest":"${D2}","size":20}],"annotations":{"a":"\\u003c\\u0026\\u003e","z":"1"}}`,
    );
    expect(parseManifest(encodeManifest(m), 'm')).toEqual({ ...m, layers: [{ mediaType: MediaType.ociLayer, digest: D2, size: 20 }] });
  });

  it('writes configs in the Go struct order and round-trips them', () => {
    const c: ImageConfig = {
      created: '2024-01-01T00:00:00Z',
      architecture: 'wasm',
      os: 'wasip1',
      config: { Labels: { b: '2', a: '1' }, Cmd: ['/app.wasm'], Env: ['A=1'], WorkingDir: '/srv' },
      rootfs: { type: 'layers', diff_ids: [D1] },
      history: [{ created_by: 'COPY app.wasm /', empty_layer: true }],
    };
    const text = new TextDecoder().decode(encodeConfig(c));
    expect(text).toBe(
      `{"created":"2024-01-01T00:00:00Z","architecture":"wasm","os":"wasip1","config":{"Env":["A=1"],"Cmd":["/app.wasm"],"WorkingDir":"/srv","Labels":{"a":"1","b":"2"}},` +
        `"rootfs":{"type":"layers","diff_ids":["${D1}"]},"history":[{"created_by":"COPY app.wasm /","empty_layer":true}]}`,
    );
    expect(parseConfig(encodeConfig(c), 'c')).toEqual(c);
    // same document, same bytes, whatever the key order of the input
    const reordered: ImageConfig = { rootfs: c.rootfs, os: 'wasip1', architecture: 'wasm', created: c.created, config: c.config, history: c.history };
    expect(encodeConfig(reordered)).toEqual(encodeConfig(c));
  });

  it('writes an empty container config as {} like Go', () => {
    const text = new TextDecoder().decode(encodeConfig({ architecture: 'wasm', os: 'wasi', rootfs: { type: 'layers', diff_ids: [] } }));
    expect(text).toBe('{"architecture":"wasm","os":"wasi","config":{},"rootfs":{"type":"layers","diff_ids":[]}}');
  });

  it('round-trips an index', () => {
    const i = {
      schemaVersion: 2 as const,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, digest: D1, size: 1, platform: { architecture: 'wasm', os: 'wasip1' } }],
    };
    expect(parseIndex(encodeIndex(i), 'i')).toEqual(i);
  });
});
