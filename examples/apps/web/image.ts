/**
 * The `web` example image: the `http` guest (guests/c/http.c) as a server layer over a
 * layer of static files, with its hit counter in a volume at /data. An ordinary OCI image:
 * `node dist/examples/apps/web/build.js` writes it as `web.tar` for `skiff load`.
 */
import { readFile, readdir } from 'node:fs/promises';
import { createImage, type Image, type ImageStore } from 'skiff';

// This file runs compiled (dist/examples/apps/web/image.js) or as source (tests).
const compiled = import.meta.url.includes('/dist/examples/');
const here = new URL(compiled ? '../../../../examples/apps/web/' : './', import.meta.url);
const guests = new URL(compiled ? '../../../../guests/wasm/' : '../../../guests/wasm/', import.meta.url);

/** `version`: the text of /www/version (default `1`), so two builds differ and a rollout shows. */
export async function webImage(store: ImageStore, ref = 'web:latest', options: { version?: string } = {}): Promise<Image> {
  const www: Record<string, Uint8Array> = {};
  for (const name of await readdir(new URL('www/', here))) www[`www/${name}`] = await readFile(new URL(`www/${name}`, here));
  www['www/version'] = new TextEncoder().encode(`${options.version ?? '1'}\n`);
  return createImage(store, {
    ref,
    layers: [www, { 'server.wasm': { content: await readFile(new URL('http.wasm', guests)), mode: 0o755 }, 'data/': { dir: true } }],
    createdBy: ['COPY www /www', 'COPY http.wasm /server.wasm'],
    config: {
      Entrypoint: ['/server.wasm'],
      Env: ['DOCROOT=/www', 'HITS_FILE=/data/hits'],
      ExposedPorts: { '80/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { 'org.opencontainers.image.title': 'skiff web example' },
    },
  });
}
