/** Writes the `say` example image as an OCI layout tar: `node dist/examples/apps/say/build.js [OUT]` (default say.tar). */
import { writeFile } from 'node:fs/promises';
import { ImageStore, MemoryFiles } from 'skiff';
import { sayImage } from './image.js';

const out = process.argv[2] ?? 'say.tar';
const store = await ImageStore.open(new MemoryFiles());
const image = await sayImage(store);
await writeFile(out, await store.save(['say:latest']));
console.log(`wrote ${out}: say:latest ${image.descriptor.digest}`);
