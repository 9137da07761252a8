/**
 * The image commands: `load`, `save`, `images`, `rmi`, `inspect`, `history`, `export`,
 * `tag`. No daemon is involved: each invocation opens the image store in
 * `$SKIFF_HOME/images` (home.ts), does its work and exits; the store's atomic index.json
 * writes keep it consistent between invocations.
 *
 * IMAGE arguments, as docker takes them: a ref (`web`, `web:1`, `team/web@sha256:…`), a
 * manifest digest (`sha256:…`), or an image ID, which is the hex of the manifest digest or
 * a unique prefix of it (`3f2a9c01b7de`, as `skiff images` prints it). A ref is tried
 * first, then an ID.
 *
 * Binary output (`save`, `export`) goes to `-o FILE` (written to a temporary file beside it,
 * then renamed, so a failure never leaves half a file), else to stdout unless stdout is a
 * terminal, which is refused as docker refuses it.
 */
import { type Command, Option } from 'commander';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { exportTree } from '../layers/changeset.js';
import type { Digest } from '../layers/digest.js';
import { NotFoundError, SkiffError } from '../layers/errors.js';
import type { Files } from '../layers/files.js';
import type { Image, ImageStore, ImageSummary } from '../layers/image-store.js';
import type { History } from '../layers/oci.js';
import { Overlay } from '../layers/overlay.js';
import { InvalidReferenceError, familiarName, parseReference } from '../layers/reference.js';
import { NodeFiles } from '../platform/node/files.js';
import { VolumeError, type VolumeManager } from '../sandbox/volumes.js';
import { ellipsis, humanSize, parseTime, shortId, table, timeAgo } from './format.js';
import { findContainer, inspectContainer } from './containers.js';
import { ContainerStore } from './container-store.js';
import { containersDir, openImageStore, openVolumes } from './home.js';
import { type CommandContext, type IO, CliError, expectedMessage } from './io.js';
import { loadBar } from './progress.js';

/** Adds the image commands to `program`. */
export function registerImageCommands(program: Command, ctx: CommandContext): void {
  program
    .command('images')
    .description('List images')
    .argument('[repository]', 'show only the images of this repository (REPOSITORY or REPOSITORY:TAG)')
    .option('-q, --quiet', 'only show image IDs')
    .option('--digests', 'show digests')
    .option('--no-trunc', "don't truncate output")
    .addOption(new Option('--format <format>', 'table, or json: one JSON object per line').choices(['table', 'json']).default('table'))
    .action((repository: string | undefined, opts: ImagesOptions) => images(ctx, repository, opts));

  program
    .command('load')
    .summary('Load images from a tar archive or stdin')
    .description('Load images from a tar archive (OCI image layout or docker save format, gzipped or not) or an OCI layout directory')
    .option('-i, --input <path>', 'read from PATH (a tar, a gzipped tar, or an OCI image layout directory) instead of stdin')
    .option('-q, --quiet', 'no progress bar, only the result lines')
    .addHelpText('after', '\nPrints "Loaded image: REF" per named image, "Loaded image ID: sha256:…" per unnamed one.')
    .action((opts: LoadOptions) => load(ctx, opts));

  program
    .command('save')
    .summary('Save images to a tar archive')
    .description('Save images to a tar archive: an OCI image layout (default) or a docker save archive, on stdout unless -o')
    .argument('<image...>', 'images to save')
    .option('-o, --output <path>', 'write to PATH instead of stdout')
    .addOption(
      new Option('--format <format>', 'oci: an OCI image layout tar; docker: a docker save archive').choices(['oci', 'docker']).default('oci'),
    )
    .action((refs: string[], opts: SaveOptions) => save(ctx, refs, opts));

  program
    .command('rmi')
    .summary('Remove images')
    .description('Remove images: an image given by ref loses that ref; one given by ID loses all its refs. Blobs no remaining image uses are deleted.')
    .argument('<image...>', 'images to remove')
    .option('-f, --force', 'remove an image given by ID even if it is referenced in several repositories, or used by a container')
    .action((refs: string[], opts: { force?: boolean }) => rmi(ctx, refs, opts));

  program
    .command('tag')
    .description('Create a tag TARGET that refers to the image SOURCE')
    .argument('<source>', 'SOURCE_IMAGE[:TAG], or an image ID')
    .argument('<target>', 'TARGET_IMAGE[:TAG]')
    .action((src: string, dst: string) => tag(ctx, src, dst));

  program
    .command('inspect')
    .summary('Show detailed information on containers, images or volumes')
    .description('Show detailed information on containers, images or volumes, as one JSON array')
    .argument('<name...>', 'containers, images or volumes to inspect (a container is tried first, then an image, then a volume)')
    .addOption(new Option('--type <type>', 'look for this kind only').choices(['container', 'image', 'volume']))
    .addHelpText(
      'after',
      `
A container has docker's container keys: Id, Created, Path, Args, State {Status,
Running, OOMKilled, Pid, ExitCode, Error, StartedAt, FinishedAt, and skiff's Reason},
Image (its image's digest), Name, LogPath, HostConfig {Memory, Binds, Tmpfs, AutoRemove,
and skiff's Timeout in ms}, Mounts, Config {Image, Cmd, Entrypoint, Env, WorkingDir,
Labels, Volumes}. A volume has docker volume inspect's keys.

An image has docker's keys: Id (the manifest digest), RepoTags, RepoDigests, Created,
Author, Config {User, Env, Entrypoint, Cmd, WorkingDir, ExposedPorts, Volumes, Labels,
StopSignal}, Architecture, Variant, Os, Size (bytes of the layer blobs) and
RootFS {Type, Layers: the diffIDs}. skiff adds the OCI documents as stored:
  Descriptor    the manifest's descriptor (mediaType, digest, size)
  Manifest      the image manifest
  ImageConfig   the image config`,
    )
    .action((refs: string[], opts: { type?: 'container' | 'image' | 'volume' }) => inspect(ctx, refs, opts));

  program
    .command('history')
    .summary('Show the history of an image')
    .description("Show the history of an image (its config's history), newest first")
    .argument('<image>', 'a ref, digest or image ID')
    .option('--no-trunc', "don't truncate output")
    .action((ref: string, opts: { trunc: boolean }) => history(ctx, ref, opts));

  program
    .command('export')
    .summary("Export an image's filesystem as a tar archive")
    .description("Export an image's filesystem (its layers merged) as one tar archive, on stdout unless -o")
    .argument('<image>', 'a ref, digest or image ID')
    .option('-o, --output <path>', 'write to PATH instead of stdout')
    .action((ref: string, opts: { output?: string }) => exportImage(ctx, ref, opts));
}

// ---------------------------------------------------------------------------------------
// images

interface ImagesOptions {
  quiet?: boolean;
  digests?: boolean;
  trunc: boolean;
  format: 'table' | 'json';
}

interface Row {
  readonly repository: string;
  readonly tag: string;
  readonly digest: Digest;
  readonly created: string | undefined;
  /** Bytes of the layer blobs; undefined if the image cannot be read. */
  readonly size: number | undefined;
}

async function images(ctx: CommandContext, repository: string | undefined, opts: ImagesOptions): Promise<void> {
  const { io } = ctx;
  const store = await openImageStore(io);
  let rows = await imageRows(store);
  if (repository !== undefined) {
    const want = parseReference(repository);
    const name = familiarName(want);
    const explicitTag = /:[^/]*$/.test(repository.split('@')[0] as string);
    rows = rows.filter((r) => r.repository === name && (!explicitTag || r.tag === want.tag));
  }
  const id = (d: Digest): string => (opts.trunc ? shortId(d) : d);
  const now = (io.now ?? Date.now)();
  if (opts.quiet === true) {
    const ids = [...new Set(rows.map((r) => id(r.digest)))];
    await io.stdout.write(ids.map((i) => `${i}\n`).join(''));
    return;
  }
  if (opts.format === 'json') {
    const lines = rows.map((r) =>
      JSON.stringify({
        ID: id(r.digest),
        Repository: r.repository,
        Tag: r.tag,
        Digest: r.digest,
        CreatedAt: r.created ?? 'N/A',
        CreatedSince: timeAgo(r.created, now),
        Size: r.size === undefined ? 'N/A' : humanSize(r.size),
      }),
    );
    await io.stdout.write(lines.map((l) => `${l}\n`).join(''));
    return;
  }
  const header = ['REPOSITORY', 'TAG', ...(opts.digests === true ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  const cells = rows.map((r) => [
    r.repository,
    r.tag,
    ...(opts.digests === true ? [r.digest] : []),
    id(r.digest),
    timeAgo(r.created, now),
    r.size === undefined ? 'N/A' : humanSize(r.size),
  ]);
  await io.stdout.write(table(header, cells));
}

/**
 * One row per ref (`<none>` for unnamed images), newest image first, as `docker images`
 * orders them. An entry the store cannot resolve (a foreign one, e.g. an index with no
 * Wasm manifest, put there by another tool) is still listed, its CREATED and SIZE `N/A`.
 */
async function imageRows(store: ImageStore): Promise<Row[]> {
  const summaries = await store.list();
  const details = new Map<Digest, { created: string | undefined; size: number | undefined }>();
  for (const s of summaries) {
    if (details.has(s.digest)) continue;
    let image: Image | undefined;
    try {
      image = await store.get(s.digest);
    } catch (e) {
      if (!(e instanceof SkiffError)) throw e;
    }
    details.set(s.digest, { created: image?.config.created, size: image === undefined ? undefined : layerBytes(image) });
  }
  const rows = summaries.map((s): Row => {
    const d = details.get(s.digest) as { created: string | undefined; size: number | undefined };
    const { repository, tag: t } = splitRef(s);
    return { repository, tag: t, digest: s.digest, created: d.created, size: d.size };
  });
  const time = (r: Row): number => parseTime(r.created) ?? -Infinity;
  return rows.sort((a, b) => time(b) - time(a)); // stable: ties keep index.json order
}

function splitRef(s: ImageSummary): { repository: string; tag: string } {
  if (s.ref === undefined) return { repository: '<none>', tag: '<none>' };
  const ref = parseReference(s.ref);
  return { repository: familiarName(ref), tag: ref.tag ?? '<none>' };
}

function layerBytes(image: Image): number {
  return image.manifest.layers.reduce((n, l) => n + l.size, 0);
}

// ---------------------------------------------------------------------------------------
// load

interface LoadOptions {
  input?: string;
  quiet?: boolean;
}

async function load(ctx: CommandContext, opts: LoadOptions): Promise<void> {
  const { io } = ctx;
  let source: Uint8Array | Files;
  let name: string;
  if (opts.input !== undefined) {
    name = opts.input;
    const path = resolve(io.cwd, opts.input);
    const st = await stat(path).catch((e: unknown) => {
      const missing = (e as { code?: unknown }).code === 'ENOENT';
      throw new CliError(`${name}: ${missing ? 'no such file or directory' : e instanceof Error ? e.message : String(e)}`, { cause: e });
    });
    source = st.isDirectory() ? new NodeFiles(path, { durable: false }) : bytesOf(await readFile(path));
  } else {
    name = 'stdin';
    if (io.stdin.isTTY) throw new CliError('load: no input: give -i FILE, or redirect an archive to stdin (skiff load < image.tar)');
    source = await io.stdin.readAll();
    if (source.length === 0) throw new CliError('load: stdin is empty: give -i FILE, or redirect an archive to stdin');
  }
  if (source instanceof Uint8Array && source[0] === 0x1f && source[1] === 0x8b) source = await gunzipArchive(source, name);

  const store = await openImageStore(io);
  const bar = opts.quiet === true ? undefined : loadBar(io.stderr);
  let loaded: ImageSummary[];
  try {
    loaded = await store.load(source, bar === undefined ? {} : { onProgress: bar.onProgress });
  } catch (e) {
    // The store names the source `archive` or `layout directory`: say which file it was.
    if (e instanceof SkiffError) throw new SkiffError(e.code, `${name}: ${e.message}`, { cause: e });
    throw e;
  } finally {
    bar?.stop();
  }
  await io.stdout.write(loaded.map((l) => (l.ref !== undefined ? `Loaded image: ${l.ref}\n` : `Loaded image ID: ${l.digest}\n`)).join(''));
}

async function gunzipArchive(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    return bytesOf(await promisify(gunzip)(bytes));
  } catch (e) {
    throw new CliError(`${name}: starts like gzip but does not decompress: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** A plain Uint8Array view of a Buffer: `slice` then copies, as the layers code expects. */
function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// ---------------------------------------------------------------------------------------
// save, export

interface SaveOptions {
  output?: string;
  format: 'oci' | 'docker';
}

async function save(ctx: CommandContext, args: readonly string[], opts: SaveOptions): Promise<void> {
  const { io } = ctx;
  checkBinaryOutput(io, opts.output, 'save');
  const store = await openImageStore(io);
  const refs: string[] = [];
  for (const arg of args) {
    const image = await requireImage(store, arg);
    refs.push(image.ref ?? image.descriptor.digest);
  }
  await writeBinary(io, await store.save(refs, { format: opts.format }), opts.output);
}

async function exportImage(ctx: CommandContext, arg: string, opts: { output?: string }): Promise<void> {
  const { io } = ctx;
  checkBinaryOutput(io, opts.output, 'export');
  const store = await openImageStore(io);
  const image = await requireImage(store, arg);
  const tar = await exportTree(new Overlay(await store.layers(image)));
  await writeBinary(io, tar, opts.output);
}

function checkBinaryOutput(io: IO, output: string | undefined, command: string): void {
  if (output === undefined && io.stdout.isTTY) {
    throw new CliError(`${command}: cowardly refusing to write a tar archive to a terminal: use -o FILE or redirect stdout`);
  }
}

/** To `output` (via a temporary file beside it, then a rename), else to stdout. */
async function writeBinary(io: IO, bytes: Uint8Array, output: string | undefined): Promise<void> {
  if (output === undefined) {
    await io.stdout.write(bytes);
    return;
  }
  const path = resolve(io.cwd, output);
  const tmp = join(dirname(path), `.${basename(path)}.skiff-${process.pid}-${Date.now().toString(36)}`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// rmi, tag

async function rmi(ctx: CommandContext, args: readonly string[], opts: { force?: boolean }): Promise<void> {
  const { io } = ctx;
  const store = await openImageStore(io);
  for (const arg of args) {
    try {
      const image = await requireImage(store, arg);
      const digest = image.descriptor.digest;
      let target: string = digest;
      if (image.ref !== undefined) {
        target = image.ref; // by ref: drop that ref only
      } else if (opts.force !== true) {
        const refs = (await store.list()).filter((s) => s.digest === digest && s.ref !== undefined).map((s) => s.ref as string);
        const repos = new Set(refs.map((r) => familiarName(parseReference(r))));
        if (repos.size > 1) {
          throw new SkiffError(
            'CONFLICT',
            `unable to delete ${arg} (must be forced with -f): the image is referenced in several repositories (${refs.join(', ')})`,
          );
        }
      }
      if (opts.force !== true) {
        // Docker's rule: an image a container was made from stays while the container does.
        const names = (await store.list()).filter((s) => s.digest === digest && s.ref !== undefined).length;
        const deletes = target === digest || names <= 1;
        const users = deletes ? (await new ContainerStore(containersDir(io)).list()).filter((c) => c.config.Image === digest) : [];
        if (users.length > 0) {
          const ids = users.map((c) => c.config.Id.slice(0, 12)).join(', ');
          throw new SkiffError('CONFLICT', `unable to delete ${arg} (must be forced with -f): the image is used by container ${ids}: remove the container first (skiff rm)`);
        }
      }
      const result = await store.remove(target);
      const deleted = [...result.deleted].sort((a, b) => Number(b === digest) - Number(a === digest)); // the image first
      await io.stdout.write([...result.untagged.map((r) => `Untagged: ${r}\n`), ...deleted.map((d) => `Deleted: ${d}\n`)].join(''));
    } catch (e) {
      const message = expectedMessage(e);
      if (message === undefined) throw e;
      await io.stderr.write(`skiff: ${message}\n`);
      ctx.fail();
    }
  }
}

async function tag(ctx: CommandContext, src: string, dst: string): Promise<void> {
  const store = await openImageStore(ctx.io);
  const image = await requireImage(store, src);
  await store.tag(image.descriptor.digest, dst);
}

// ---------------------------------------------------------------------------------------
// inspect, history

async function inspect(ctx: CommandContext, args: readonly string[], opts: { type?: 'container' | 'image' | 'volume' }): Promise<void> {
  const { io } = ctx;
  const store = await openImageStore(io);
  const out: unknown[] = [];
  const summaries = await store.list();
  const want = (type: 'container' | 'image' | 'volume'): boolean => opts.type === undefined || opts.type === type;
  let volumes: VolumeManager | undefined;
  for (const arg of args) {
    let image: Image;
    try {
      const container = want('container') ? await findContainer(io, arg) : undefined;
      if (container !== undefined) {
        out.push(inspectContainer(io, container));
        continue;
      }
      const found = want('image') ? await findImage(store, arg) : undefined;
      if (found === undefined && want('volume')) {
        volumes ??= openVolumes(io);
        const info = volumes.inspect(arg);
        if (!(info instanceof VolumeError)) {
          out.push(info);
          continue;
        }
      }
      if (found === undefined) throw new NotFoundError(`no such ${opts.type ?? 'container, image or volume'}: ${arg}`);
      image = found;
    } catch (e) {
      const message = expectedMessage(e);
      if (message === undefined) throw e;
      await io.stderr.write(`skiff: ${message}\n`);
      ctx.fail();
      continue;
    }
    const digest = image.descriptor.digest;
    const refs = summaries.filter((s) => s.digest === digest && s.ref !== undefined).map((s) => s.ref as string);
    const c = image.config;
    const cc = c.config ?? {};
    out.push({
      Id: digest,
      RepoTags: refs,
      RepoDigests: [...new Set(refs.map((r) => `${familiarName(parseReference(r))}@${digest}`))],
      Created: c.created ?? null,
      Author: c.author ?? '',
      Config: {
        User: cc.User ?? '',
        Env: cc.Env ?? null,
        Entrypoint: cc.Entrypoint ?? null,
        Cmd: cc.Cmd ?? null,
        WorkingDir: cc.WorkingDir ?? '',
        ExposedPorts: cc.ExposedPorts ?? null,
        Volumes: cc.Volumes ?? null,
        Labels: cc.Labels ?? null,
        StopSignal: cc.StopSignal ?? '',
      },
      Architecture: c.architecture,
      ...(c.variant !== undefined ? { Variant: c.variant } : {}),
      Os: c.os,
      Size: layerBytes(image),
      RootFS: { Type: c.rootfs.type, Layers: c.rootfs.diff_ids },
      Descriptor: image.descriptor,
      // The documents as stored (their bytes are what the digests name), not as parsed.
      Manifest: await storedJSON(store, digest),
      ImageConfig: await storedJSON(store, image.manifest.config.digest),
    });
  }
  await io.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
}

async function storedJSON(store: ImageStore, digest: Digest): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await store.content.read(digest)));
}

async function history(ctx: CommandContext, arg: string, opts: { trunc: boolean }): Promise<void> {
  const { io } = ctx;
  const store = await openImageStore(io);
  const image = await requireImage(store, arg);
  const now = (io.now ?? Date.now)();
  const layers = image.manifest.layers;
  // Each history entry that is not an empty layer stands for the next layer, in order.
  const entries: { h: History; size: number }[] = [];
  let next = 0;
  for (const h of image.config.history ?? []) {
    const size = h.empty_layer === true ? 0 : (layers[next++]?.size ?? 0);
    entries.push({ h, size });
  }
  for (; next < layers.length; next++) entries.push({ h: {}, size: (layers[next] as { size: number }).size });
  entries.reverse();
  const id = opts.trunc ? shortId(image.descriptor.digest) : image.descriptor.digest;
  const rows = entries.map(({ h, size }, i) => {
    const createdBy = (h.created_by ?? '').replaceAll('\t', ' ');
    return [
      i === 0 ? id : '<missing>',
      timeAgo(h.created, now),
      opts.trunc ? ellipsis(createdBy, 45) : createdBy,
      humanSize(size),
      h.comment ?? '',
    ];
  });
  await io.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
}

// ---------------------------------------------------------------------------------------
// Finding images

/** The image `arg` names (see the module comment), or `undefined`. */
export async function findImage(store: ImageStore, arg: string): Promise<Image | undefined> {
  const hex = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(arg);
  let image: Image | undefined;
  try {
    image = await store.get(arg);
  } catch (e) {
    // A 64-digit hex ID is not a valid ref: look it up as an ID.
    if (hex === null || !(e instanceof InvalidReferenceError)) throw e;
  }
  if (image !== undefined || hex === null) return image;
  const prefix = `sha256:${hex[1] as string}`;
  const matches = [...new Set((await store.list()).map((s) => s.digest))].filter((d) => d.startsWith(prefix));
  if (matches.length > 1) {
    throw new SkiffError('CONFLICT', `image ID ${arg} is ambiguous: ${matches.length} images have IDs starting with it; give more digits`);
  }
  return matches.length === 1 ? store.get(matches[0] as Digest) : undefined;
}

async function requireImage(store: ImageStore, arg: string): Promise<Image> {
  const image = await findImage(store, arg);
  if (image === undefined) throw new NotFoundError(`no such image: ${arg}`);
  return image;
}
