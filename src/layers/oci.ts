/**
 * The OCI image model (image-spec v1.1): descriptors, image indexes, image manifests
 * and image configs, with strict parsers for what we read, a canonical encoder for what
 * we write, platform selection and chainIDs.
 *
 * Reading: `parseIndex`, `parseManifest` and `parseConfig` take the document's bytes and
 * a `source` naming it for messages (`manifest sha256:…`, `archive index.json`). They
 * accept the OCI media types and the Docker v2 ones a `docker save` or a registry gives,
 * keep only the fields skiff knows (unknown fields are ignored, as the spec requires), and
 * throw `InvalidImageError` naming the source and the field for anything malformed, or a
 * `SkiffError` with code UNSUPPORTED for valid documents skiff cannot use (a foreign
 * layer media type, a non-sha256 digest). JSON `null` counts as absent for optional
 * fields, as Go writers emit it for nil slices and maps.
 *
 * Writing: `encodeIndex`, `encodeManifest` and `encodeConfig` produce the bytes whose
 * digest names the document. Field order is the Go struct order of
 * `opencontainers/image-spec/specs-go/v1` and map keys are sorted, with Go's escaping of
 * `<`, `>`, `&`, so the bytes equal what containerd's `json.Marshal` writes for the same
 * document. Documents we *read* are never re-encoded: their digests are their bytes'.
 */
import { LAYER_MEDIA_TYPES, type LayerCompression } from './decompress.js';
import { type Digest, digestOf, isDigest, parseDigest } from './digest.js';
import { InvalidImageError, SkiffError } from './errors.js';

// ---------------------------------------------------------------------------------------
// Media types

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  /** Not in Docker's spec but written by containerd for uncompressed Docker layers. */
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export type { LayerCompression };

/**
 * The compression of a layer media type skiff can unpack (the table is decompress.ts's),
 * or `undefined` if skiff cannot read such layers.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  return Object.hasOwn(LAYER_MEDIA_TYPES, mediaType) ? LAYER_MEDIA_TYPES[mediaType] : undefined;
}

/** The OCI layer media type for a compression: what skiff writes. */
export function ociLayerMediaType(compression: LayerCompression): string {
  return compression === 'none' ? MediaType.ociLayer : compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayerZstd;
}

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

export function isConfigMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociConfig || mediaType === MediaType.dockerConfig;
}

/** Pre-defined annotation keys skiff reads or writes. */
export const Annotation = {
  /** OCI: the name of a manifest in an image layout's index.json. */
  refName: 'org.opencontainers.image.ref.name',
  /** containerd/Docker: the full image name of an index.json entry. */
  containerdImageName: 'io.containerd.image.name',
  /** buildx: marks attestation manifests in an index (`attestation-manifest`). */
  dockerReferenceType: 'vnd.docker.reference.type',
} as const;

// ---------------------------------------------------------------------------------------
// Types (field names as the JSON documents spell them)

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** Embedded content, base64. */
  readonly data?: string;
  readonly platform?: Platform;
  readonly artifactType?: string;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The execution parameters of an image config (`config` in the JSON). */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, object>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly Volumes?: Readonly<Record<string, object>>;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly StopSignal?: string;
  readonly ArgsEscaped?: boolean;
}

export interface History {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

export interface RootFS {
  readonly type: 'layers';
  readonly diff_ids: readonly Digest[];
}

export interface ImageConfig {
  readonly created?: string;
  readonly author?: string;
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: RootFS;
  readonly history?: readonly History[];
}

// ---------------------------------------------------------------------------------------
// Parsing

/** Reads fields of one JSON document, naming the document and the field in every error. */
class Reader {
  constructor(readonly source: string) {}

  fail(field: string, reason: string): never {
    throw new InvalidImageError(this.source, `${field} ${reason}`);
  }

  json(bytes: Uint8Array): unknown {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new InvalidImageError(this.source, 'is not valid UTF-8');
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InvalidImageError(this.source, `is not valid JSON (${(e as Error).message})`);
    }
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `must be an object (got ${kind(v)})`);
    return v as Record<string, unknown>;
  }

  /** An optional field: `undefined` when absent or null. */
  optional<T>(o: Record<string, unknown>, key: string, field: string, read: (v: unknown, field: string) => T): T | undefined {
    const v = o[key];
    return v === undefined || v === null ? undefined : read(v, `${field}${field === '' ? '' : '.'}${key}`);
  }

  required<T>(o: Record<string, unknown>, key: string, field: string, read: (v: unknown, field: string) => T): T {
    const f = `${field}${field === '' ? '' : '.'}${key}`;
    const v = o[key];
    if (v === undefined || v === null) this.fail(f, 'is missing');
    return read(v, f);
  }

  string = (v: unknown, field: string): string => {
    if (typeof v !== 'string') this.fail(field, `must be a string (got ${kind(v)})`);
    return v;
  };

  boolean = (v: unknown, field: string): boolean => {
    if (typeof v !== 'boolean') this.fail(field, `must be a boolean (got ${kind(v)})`);
    return v;
  };

  strings = (v: unknown, field: string): string[] => this.array(v, field, this.string);

  array<T>(v: unknown, field: string, read: (v: unknown, field: string) => T): T[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array (got ${kind(v)})`);
    return v.map((e, i) => read(e, `${field}[${i}]`));
  }

  stringMap = (v: unknown, field: string): Record<string, string> => {
    const o = this.object(v, field);
    const out: Record<string, string> = {};
    for (const [k, e] of Object.entries(o)) out[k] = this.string(e, `${field}[${JSON.stringify(k)}]`);
    return out;
  };

  /** A map whose values are empty objects (`ExposedPorts`, `Volumes`). */
  objectMap = (v: unknown, field: string): Record<string, object> => {
    const o = this.object(v, field);
    const out: Record<string, object> = {};
    for (const [k, e] of Object.entries(o)) out[k] = e === null ? {} : this.object(e, `${field}[${JSON.stringify(k)}]`);
    return out;
  };

  size = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, `must be a non-negative integer (got ${JSON.stringify(v)})`);
    return v;
  };

  digest = (v: unknown, field: string): Digest => {
    if (isDigest(v)) return v;
    if (typeof v === 'string' && !v.startsWith('sha256:')) {
      try {
        parseDigest(v, field);
      } catch (e) {
        if ((e as SkiffError).code === 'UNSUPPORTED') throw new SkiffError('UNSUPPORTED', `${this.source}: ${(e as Error).message}`);
      }
    }
    return this.fail(field, `${JSON.stringify(v)} is not a valid digest (want sha256:<64 lowercase hex digits>)`);
  };

  schemaVersion(o: Record<string, unknown>): 2 {
    const v = o.schemaVersion;
    if (v === undefined) this.fail('schemaVersion', 'is missing');
    if (v !== 2) this.fail('schemaVersion', `must be 2 (got ${JSON.stringify(v)})`);
    return 2;
  }

  platform = (v: unknown, field: string): Platform => {
    const o = this.object(v, field);
    return stripUndefined({
      architecture: this.required(o, 'architecture', field, this.string),
      os: this.required(o, 'os', field, this.string),
      'os.version': this.optional(o, 'os.version', field, this.string),
      'os.features': this.optional(o, 'os.features', field, this.strings),
      variant: this.optional(o, 'variant', field, this.string),
    });
  };

  descriptor = (v: unknown, field: string): Descriptor => {
    const o = this.object(v, field);
    return stripUndefined({
      mediaType: this.required(o, 'mediaType', field, this.string),
      digest: this.required(o, 'digest', field, this.digest),
      size: this.required(o, 'size', field, this.size),
      urls: this.optional(o, 'urls', field, this.strings),
      annotations: this.optional(o, 'annotations', field, this.stringMap),
      data: this.optional(o, 'data', field, this.string),
      platform: this.optional(o, 'platform', field, this.platform),
      artifactType: this.optional(o, 'artifactType', field, this.string),
    });
  };
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Parses an image index (OCI index or Docker manifest list), such as a layout's index.json. */
export function parseIndex(bytes: Uint8Array, source: string): ImageIndex {
  const r: Reader = new Reader(source);
  const o = r.object(r.json(bytes), 'document');
  const schemaVersion = r.schemaVersion(o);
  const mediaType = r.optional(o, 'mediaType', '', r.string);
  if (mediaType !== undefined && !isIndexMediaType(mediaType)) {
    if (isManifestMediaType(mediaType)) r.fail('mediaType', `${JSON.stringify(mediaType)} is an image manifest, not an index`);
    throw new SkiffError('UNSUPPORTED', `${source}: mediaType ${JSON.stringify(mediaType)} is not an image index type skiff reads`);
  }
  return stripUndefined({
    schemaVersion,
    mediaType,
    artifactType: r.optional(o, 'artifactType', '', r.string),
    manifests: r.required(o, 'manifests', '', (v, f) => r.array(v, f, r.descriptor)),
    subject: r.optional(o, 'subject', '', r.descriptor),
    annotations: r.optional(o, 'annotations', '', r.stringMap),
  });
}

/** Parses an image manifest (OCI or Docker v2). Every layer must have a media type skiff can unpack. */
export function parseManifest(bytes: Uint8Array, source: string): ImageManifest {
  const r: Reader = new Reader(source);
  const o = r.object(r.json(bytes), 'document');
  const schemaVersion = r.schemaVersion(o);
  const mediaType = r.optional(o, 'mediaType', '', r.string);
  if (mediaType !== undefined && !isManifestMediaType(mediaType)) {
    if (isIndexMediaType(mediaType)) r.fail('mediaType', `${JSON.stringify(mediaType)} is an image index, not a manifest`);
    throw new SkiffError('UNSUPPORTED', `${source}: mediaType ${JSON.stringify(mediaType)} is not an image manifest type skiff reads`);
  }
  const config = r.required(o, 'config', '', r.descriptor);
  if (!isConfigMediaType(config.mediaType)) {
    throw new SkiffError(
      'UNSUPPORTED',
      `${source}: config.mediaType ${JSON.stringify(config.mediaType)} is not a container image config (want ${MediaType.ociConfig})`,
    );
  }
  const layers = r.required(o, 'layers', '', (v, f) => r.array(v, f, r.descriptor));
  layers.forEach((l, i) => {
    if (layerCompression(l.mediaType) === undefined) {
      throw new SkiffError(
        'UNSUPPORTED',
        `${source}: layers[${i}].mediaType ${JSON.stringify(l.mediaType)} is not a layer type skiff can unpack (want ${MediaType.ociLayer}, +gzip or +zstd)`,
      );
    }
  });
  return stripUndefined({
    schemaVersion,
    mediaType,
    artifactType: r.optional(o, 'artifactType', '', r.string),
    config,
    layers,
    subject: r.optional(o, 'subject', '', r.descriptor),
    annotations: r.optional(o, 'annotations', '', r.stringMap),
  });
}

/** Parses an image config (OCI or Docker; Docker's extra fields are ignored). */
export function parseConfig(bytes: Uint8Array, source: string): ImageConfig {
  const r: Reader = new Reader(source);
  const o = r.object(r.json(bytes), 'document');
  const containerConfig = (v: unknown, field: string): ContainerConfig => {
    const c = r.object(v, field);
    return stripUndefined({
      User: r.optional(c, 'User', field, r.string),
      ExposedPorts: r.optional(c, 'ExposedPorts', field, r.objectMap),
      Env: r.optional(c, 'Env', field, r.strings),
      Entrypoint: r.optional(c, 'Entrypoint', field, r.strings),
      Cmd: r.optional(c, 'Cmd', field, r.strings),
      Volumes: r.optional(c, 'Volumes', field, r.objectMap),
      WorkingDir: r.optional(c, 'WorkingDir', field, r.string),
      Labels: r.optional(c, 'Labels', field, r.stringMap),
      StopSignal: r.optional(c, 'StopSignal', field, r.string),
      ArgsEscaped: r.optional(c, 'ArgsEscaped', field, r.boolean),
    });
  };
  const rootfs = (v: unknown, field: string): RootFS => {
    const f = r.object(v, field);
    const type = r.required(f, 'type', field, r.string);
    if (type !== 'layers') r.fail(`${field}.type`, `must be "layers" (got ${JSON.stringify(type)})`);
    return { type, diff_ids: r.required(f, 'diff_ids', field, (d, df) => r.array(d, df, r.digest)) };
  };
  const history = (v: unknown, field: string): History => {
    const h = r.object(v, field);
    return stripUndefined({
      created: r.optional(h, 'created', field, r.string),
      created_by: r.optional(h, 'created_by', field, r.string),
      author: r.optional(h, 'author', field, r.string),
      comment: r.optional(h, 'comment', field, r.string),
      empty_layer: r.optional(h, 'empty_layer', field, r.boolean),
    });
  };
  return stripUndefined({
    created: r.optional(o, 'created', '', r.string),
    author: r.optional(o, 'author', '', r.string),
    architecture: r.required(o, 'architecture', '', r.string),
    os: r.required(o, 'os', '', r.string),
    'os.version': r.optional(o, 'os.version', '', r.string),
    'os.features': r.optional(o, 'os.features', '', r.strings),
    variant: r.optional(o, 'variant', '', r.string),
    config: r.optional(o, 'config', '', containerConfig),
    rootfs: r.required(o, 'rootfs', '', rootfs),
    history: r.optional(o, 'history', '', (v, f) => r.array(v, f, history)),
  });
}

// ---------------------------------------------------------------------------------------
// Platforms

/** The Wasm platforms: `wasi/wasm` and `wasip1/wasm` (Docker's name for WASI preview 1). */
export function isWasmPlatform(p: Platform | undefined): boolean {
  return p !== undefined && p.architecture === 'wasm' && (p.os === 'wasi' || p.os === 'wasip1');
}

/** `os/architecture[/variant]`, as `docker --platform` spells it. */
export function platformString(p: Platform | undefined): string {
  if (p === undefined) return 'no platform';
  return `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ''}`;
}

/**
 * Chooses the manifest (or nested index) to run from an index's entries:
 * - the first entry whose platform is Wasm (`wasi/wasm` or `wasip1/wasm`), else
 * - the only entry, if there is exactly one and it has no platform, else
 * - `undefined`: nothing here runs on skiff.
 * Entries that are not manifests or indexes, and buildx attestation manifests, are
 * never candidates.
 */
export function selectManifest(manifests: readonly Descriptor[]): Descriptor | undefined {
  const candidates = manifests.filter(
    (d) =>
      (isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType)) &&
      d.annotations?.[Annotation.dockerReferenceType] !== 'attestation-manifest',
  );
  const wasm = candidates.find((d) => isWasmPlatform(d.platform));
  if (wasm !== undefined) return wasm;
  const only = candidates[0];
  return candidates.length === 1 && only !== undefined && only.platform === undefined ? only : undefined;
}

// ---------------------------------------------------------------------------------------
// chainIDs

/**
 * The chainIDs of a layer stack (image-spec config.md "Layer ChainID"):
 * chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
 * A chainID names a stack of layers, bottom up, as a snapshotter caches it.
 */
export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  const enc = new TextEncoder();
  for (const d of diffIDs) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : digestOf(enc.encode(`${prev} ${d}`)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Canonical encoding

/**
 * A JSON object with fields in a fixed order (a Go struct). Plain JS objects are
 * encoded with sorted keys (a Go map).
 */
type Struct = Map<string, unknown>;

/** Builds a Struct from [key, value] pairs, dropping undefined values (Go's omitempty). */
function struct(fields: [string, unknown][]): Struct {
  return new Map(fields.filter(([, v]) => v !== undefined));
}

function emptyToUndefined<T extends object>(v: T | undefined): T | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0) return undefined;
  return v;
}

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

function encodeValue(v: unknown): string {
  if (v instanceof Map) {
    return `{${[...v].map(([k, e]) => `${encodeValue(k)}:${encodeValue(e)}`).join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map(encodeValue).join(',')}]`;
  if (typeof v === 'string') return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] as string);
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${encodeValue(k)}:${encodeValue((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`cannot encode ${v} as JSON`);
  return JSON.stringify(v);
}

const toBytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function platformStruct(p: Platform | undefined): Struct | undefined {
  if (p === undefined) return undefined;
  return struct([
    ['architecture', p.architecture],
    ['os', p.os],
    ['os.version', p['os.version'] === '' ? undefined : p['os.version']],
    ['os.features', emptyToUndefined(p['os.features'])],
    ['variant', p.variant === '' ? undefined : p.variant],
  ]);
}

function descriptorStruct(d: Descriptor | undefined): Struct | undefined {
  if (d === undefined) return undefined;
  return struct([
    ['mediaType', d.mediaType],
    ['digest', d.digest],
    ['size', d.size],
    ['urls', emptyToUndefined(d.urls)],
    ['annotations', emptyToUndefined(d.annotations)],
    ['data', d.data === '' ? undefined : d.data],
    ['platform', platformStruct(d.platform)],
    ['artifactType', d.artifactType === '' ? undefined : d.artifactType],
  ]);
}

/** The canonical bytes of a descriptor (for embedding or tests). */
export function encodeDescriptor(d: Descriptor): Uint8Array {
  return toBytes(encodeValue(descriptorStruct(d)));
}

export function encodeIndex(index: ImageIndex): Uint8Array {
  return toBytes(
    encodeValue(
      struct([
        ['schemaVersion', index.schemaVersion],
        ['mediaType', index.mediaType],
        ['artifactType', index.artifactType],
        ['manifests', index.manifests.map(descriptorStruct)],
        ['subject', descriptorStruct(index.subject)],
        ['annotations', emptyToUndefined(index.annotations)],
      ]),
    ),
  );
}

export function encodeManifest(m: ImageManifest): Uint8Array {
  return toBytes(
    encodeValue(
      struct([
        ['schemaVersion', m.schemaVersion],
        ['mediaType', m.mediaType],
        ['artifactType', m.artifactType],
        ['config', descriptorStruct(m.config)],
        ['layers', m.layers.map(descriptorStruct)],
        ['subject', descriptorStruct(m.subject)],
        ['annotations', emptyToUndefined(m.annotations)],
      ]),
    ),
  );
}

export function encodeConfig(c: ImageConfig): Uint8Array {
  const cc = c.config ?? {};
  const str = (s: string | undefined): string | undefined => (s === '' ? undefined : s);
  return toBytes(
    encodeValue(
      struct([
        ['created', str(c.created)],
        ['author', str(c.author)],
        ['architecture', c.architecture],
        ['os', c.os],
        ['os.version', str(c['os.version'])],
        ['os.features', emptyToUndefined(c['os.features'])],
        ['variant', str(c.variant)],
        [
          'config',
          struct([
            ['User', str(cc.User)],
            ['ExposedPorts', emptyToUndefined(cc.ExposedPorts)],
            ['Env', emptyToUndefined(cc.Env)],
            ['Entrypoint', emptyToUndefined(cc.Entrypoint)],
            ['Cmd', emptyToUndefined(cc.Cmd)],
            ['Volumes', emptyToUndefined(cc.Volumes)],
            ['WorkingDir', str(cc.WorkingDir)],
            ['Labels', emptyToUndefined(cc.Labels)],
            ['StopSignal', str(cc.StopSignal)],
            ['ArgsEscaped', cc.ArgsEscaped === true ? true : undefined],
          ]),
        ],
        [
          'rootfs',
          struct([
            ['type', c.rootfs.type],
            ['diff_ids', c.rootfs.diff_ids],
          ]),
        ],
        [
          'history',
          emptyToUndefined(
            c.history?.map((h) =>
              struct([
                ['created', str(h.created)],
                ['created_by', str(h.created_by)],
                ['author', str(h.author)],
                ['comment', str(h.comment)],
                ['empty_layer', h.empty_layer === true ? true : undefined],
              ]),
            ),
          ),
        ],
      ]),
    ),
  );
}

/** Encodes any JSON value with sorted object keys and Go's escaping (for small files like docker's manifest.json). */
export function encodeJSON(value: unknown): Uint8Array {
  return toBytes(encodeValue(value));
}

/** The descriptor of an encoded document. */
export function descriptorFor(mediaType: string, bytes: Uint8Array, extra?: Partial<Omit<Descriptor, 'mediaType' | 'digest' | 'size'>>): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra };
}
