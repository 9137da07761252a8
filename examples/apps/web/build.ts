/** Writes the `web` example image as an OCI layout tar: `node dist/examples/apps/web/build.js [OUT]` (default web.tar). */
import { writeFile } from 'node:fs/promises';
import { ImageStore, MemoryFiles } from 'skiff';
import { webImage } from './image.js';

const out = process.argv[2] ?? 'web.tar';
const store = await ImageStore.open(new MemoryFiles());
const image = await webImage(store);
await writeFile(out, await store.save(['web:latest']));
console.log(`wrote ${out}: web:latest ${image.descriptor.digest}`);
