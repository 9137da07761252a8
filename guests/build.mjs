#!/usr/bin/env node
// Builds the guest programs into guests/wasm/<name>.wasm, byte-identically on
// every machine with the same toolchain, whatever the checkout path.
//
//   node guests/build.mjs           build and write guests/wasm/
//   node guests/build.mjs --check   build into a temp dir; exit 1 listing every file
//                                   that differs from, or is missing in, guests/wasm/
//
// Toolchain (override with CLANG=, RUSTC=):
//   C     clang + wasm-ld + wasi-libc   clang --target=wasm32-wasi -O2, debug info stripped
//   Rust  rustc with the wasm32-wasi std (Debian: /usr/bin/rustc + libstd-rust-dev-wasm32)
//   AS    node_modules/assemblyscript + @assemblyscript/wasi-shim (npm install)
// guests/wasm/TOOLCHAIN.txt records the versions that produced the committed files.
//
// Reproducibility: compilers run from the repository root on relative paths, with
// -ffile-prefix-map / --remap-path-prefix mapping the root to ".", no debug info
// (the wasm `name` section is kept: it is deterministic and names functions in
// traps), and clang gets a PATH holding only its linker, because clang runs any
// `wasm-opt` it finds on PATH after linking (npm puts binaryen's on PATH).
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const guestsDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(guestsDir);
const wasmDir = path.join(guestsDir, 'wasm');

const C_GUESTS = ['hello', 'fsops', 'fdbomb', 'http', 'wasicalls', 'escape', 'flood', 'manyfiles', 'files'];
const RUST_GUESTS = ['membomb', 'fsops_rs'];
const AS_GUESTS = ['spin'];
/**
 * WASI 0.2 command components in C, freestanding (Debian's wasi-libc predates 0.2): each
 * guests/c/p2/NAME.c is compiled to a core module, given the world NAME of
 * guests/wit/WIT.wit (`componentEmbed`) and made a component (`componentNew`), with the
 * wasm-tools that @bytecodealliance/jco-transpile bundles. [NAME, WIT]:
 */
const P2_C_GUESTS = [
  ['connect', 'sockets'],
  ['echo', 'sockets'],
  ['notes', 'notes'],
  ['grow', 'notes'],
];

class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of a command (as given if it contains a slash), or undefined. */
function which(command) {
  if (command.includes('/')) return isExecutable(command) ? path.resolve(command) : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

function run(what, file, args, options = {}) {
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', ...options });
  if (r.error) fail(`${what}: cannot run ${file}: ${r.error.message}`);
  if (r.status !== 0) {
    fail(`${what}: ${file} exited with ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`.trimEnd());
  }
  if (r.stderr.trim()) process.stderr.write(`${what}:\n${r.stderr}`);
  return r.stdout;
}

/** PATH without node_modules/.bin entries (npm adds them when run as a script). */
function cleanPath() {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir && !dir.split(path.sep).includes('node_modules'))
    .join(path.delimiter);
}

function setupClang(scratch) {
  const given = process.env.CLANG ?? 'clang';
  const found = which(given);
  if (!found) {
    fail(`clang not found (looked for ${given}): install clang, lld and wasi-libc (Debian: apt install clang lld wasi-libc libclang-rt-14-dev-wasm32) or set CLANG=`);
  }
  const clang = realpathSync(found);
  const major = run('clang', clang, ['-dumpversion']).trim().split('.')[0];
  const candidates = [path.join(path.dirname(clang), 'wasm-ld')];
  for (const name of [`wasm-ld-${major}`, 'wasm-ld']) {
    const p = which(name);
    if (p) candidates.push(p);
  }
  const ld = candidates.find(isExecutable);
  if (!ld) fail(`wasm-ld not found next to ${clang} or on PATH: install lld (Debian: apt install lld)`);
  if (!existsSync('/usr/include/wasm32-wasi') && !process.env.CLANG) {
    process.stderr.write('note: /usr/include/wasm32-wasi missing; clang needs wasi-libc (Debian: apt install wasi-libc)\n');
  }
  // Only the linker on PATH: no wasm-opt post-pass, whatever the caller's PATH holds.
  const bin = path.join(scratch, 'clang-bin');
  mkdirSync(bin);
  for (const name of ['wasm-ld', `wasm-ld-${major}`]) symlinkSync(realpathSync(ld), path.join(bin, name));
  const version = run('clang', clang, ['--version']).split('\n')[0].trim();
  return { clang, env: { PATH: bin, LC_ALL: 'C' }, version };
}

function setupRustc() {
  const given = process.env.RUSTC ?? (isExecutable('/usr/bin/rustc') ? '/usr/bin/rustc' : 'rustc');
  const rustc = which(given);
  if (!rustc) {
    fail(`rustc not found (looked for ${given}): install rustc with the wasm32-wasi std (Debian: apt install rustc libstd-rust-dev-wasm32) or set RUSTC=`);
  }
  const env = { ...process.env, PATH: cleanPath(), LC_ALL: 'C' };
  const probe = spawnSync(rustc, ['--print', 'target-libdir', '--target', 'wasm32-wasi'], { encoding: 'utf8', env });
  const libdir = probe.status === 0 ? probe.stdout.trim() : '';
  if (!libdir || !existsSync(libdir) || !readdirSync(libdir).some((f) => f.startsWith('libstd-'))) {
    fail(`${rustc} has no wasm32-wasi target or standard library${libdir ? ` in ${libdir}` : ''} (Debian: apt install libstd-rust-dev-wasm32; rustup: rustup target add wasm32-wasi)`);
  }
  const version = run('rustc', rustc, ['--version'], { env }).trim();
  return { rustc, env, version };
}

function setupAsc() {
  let pkgJson;
  try {
    pkgJson = createRequire(path.join(root, 'package.json')).resolve('assemblyscript/package.json');
  } catch {
    fail('asc not found: node_modules/assemblyscript is missing (run npm install)');
  }
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const asc = path.join(path.dirname(pkgJson), typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.asc);
  if (!existsSync(asc)) fail(`asc not found at ${asc} (run npm install)`);
  if (!existsSync(path.join(root, 'node_modules/@assemblyscript/wasi-shim/asconfig.json'))) {
    fail('@assemblyscript/wasi-shim is missing (run npm install)');
  }
  return { asc, env: { ...process.env, PATH: cleanPath() }, version: `asc ${pkg.version}` };
}

async function setupWasmTools() {
  let entry;
  try {
    entry = createRequire(path.join(root, 'package.json')).resolve('@bytecodealliance/jco-transpile');
  } catch {
    fail('@bytecodealliance/jco-transpile is missing (run npm install)');
  }
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8'));
  const tools = await import(path.join(path.dirname(entry), 'wasm-tools.js'));
  return { tools, version: `@bytecodealliance/jco-transpile ${pkg.version} (wasm-tools)` };
}

async function buildAll(outDir) {
  const scratch = mkdtempSync(path.join(tmpdir(), 'skiff-guests-'));
  try {
    const cc = setupClang(scratch);
    const rs = setupRustc();
    const as = setupAsc();
    const wt = await setupWasmTools();
    const prefixMap = `${root}=.`;
    for (const name of C_GUESTS) {
      run(`${name}.c`, cc.clang, [
        '--target=wasm32-wasi',
        '-O2',
        '-Wall',
        '-Wextra',
        `-ffile-prefix-map=${prefixMap}`,
        '-Wl,--strip-debug',
        '-o',
        path.join(outDir, `${name}.wasm`),
        `guests/c/${name}.c`,
      ], { env: cc.env });
    }
    for (const name of RUST_GUESTS) {
      run(`${name}.rs`, rs.rustc, [
        '--target', 'wasm32-wasi',
        '--edition', '2021',
        '--crate-name', name,
        '--crate-type', 'bin',
        '-O',
        '-C', 'codegen-units=1',
        '-C', 'strip=debuginfo',
        '-C', 'debuginfo=0',
        `--remap-path-prefix=${prefixMap}`,
        '-o', path.join(outDir, `${name}.wasm`),
        `guests/rust/${name}.rs`,
      ], { env: rs.env });
    }
    for (const name of AS_GUESTS) {
      run(`${name}.ts`, process.execPath, [
        as.asc,
        `guests/as/${name}.ts`,
        '--config', 'guests/as/asconfig.json',
        '--outFile', path.join(outDir, `${name}.wasm`),
      ], { env: as.env });
    }
    for (const [name, wit] of P2_C_GUESTS) {
      const core = path.join(scratch, `${name}.core.wasm`);
      run(`p2/${name}.c`, cc.clang, [
        '--target=wasm32',
        '-nostdlib',
        '-O2',
        '-Wall',
        '-Wextra',
        `-ffile-prefix-map=${prefixMap}`,
        '-Wl,--no-entry',
        '-Wl,--strip-debug',
        '-o',
        core,
        `guests/c/p2/${name}.c`,
      ], { env: cc.env });
      let component;
      try {
        const embedded = await wt.tools.componentEmbed({ binary: readFileSync(core), witSource: readFileSync(path.join(guestsDir, 'wit', `${wit}.wit`), 'utf8'), world: name });
        component = await wt.tools.componentNew(embedded, []);
      } catch (e) {
        fail(`p2/${name}.c: making the component: ${e.message ?? e}`);
      }
      writeFileSync(path.join(outDir, `${name}.wasm`), component);
    }
    writeFileSync(path.join(outDir, 'TOOLCHAIN.txt'), `${cc.version}\n${rs.version}\n${as.version}\n${wt.version}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function outputs(dir) {
  return readdirSync(dir).filter((f) => f.endsWith('.wasm') || f === 'TOOLCHAIN.txt').sort();
}

async function main() {
  const check = process.argv.includes('--check');
  const out = mkdtempSync(path.join(tmpdir(), 'skiff-guests-out-'));
  try {
    await buildAll(out);
    if (check) {
      const problems = [];
      const built = outputs(out);
      for (const f of built) {
        const committed = path.join(wasmDir, f);
        if (!existsSync(committed)) problems.push(`missing in guests/wasm: ${f}`);
        else if (!readFileSync(committed).equals(readFileSync(path.join(out, f)))) problems.push(`differs: guests/wasm/${f}`);
      }
      const stale = existsSync(wasmDir) ? outputs(wasmDir).filter((f) => !built.includes(f)) : [];
      for (const f of stale) problems.push(`not built by guests/build.mjs: guests/wasm/${f}`);
      if (problems.length > 0) {
        console.error(`guests/build.mjs --check: ${problems.length} problem(s):`);
        for (const p of problems) console.error(`  ${p}`);
        if (existsSync(path.join(wasmDir, 'TOOLCHAIN.txt'))) {
          console.error(`committed toolchain:\n${readFileSync(path.join(wasmDir, 'TOOLCHAIN.txt'), 'utf8')}`);
          console.error(`this toolchain:\n${readFileSync(path.join(out, 'TOOLCHAIN.txt'), 'utf8')}`);
        }
        console.error('rebuild with: node guests/build.mjs');
        process.exitCode = 1;
      } else {
        console.log(`guests/build.mjs --check: ${built.length} files up to date`);
      }
    } else {
      mkdirSync(wasmDir, { recursive: true });
      for (const f of outputs(out)) {
        copyFileSync(path.join(out, f), path.join(wasmDir, f));
        chmodSync(path.join(wasmDir, f), 0o644); // linkers mark their output executable; keep modes uniform
      }
      for (const f of outputs(wasmDir).filter((f) => f.endsWith('.wasm'))) {
        console.log(`guests/wasm/${f}  ${readFileSync(path.join(wasmDir, f)).length} bytes`);
      }
      // The container thread's rehearsal module is http.wasm, embedded in the library.
      const { embedRehearsal } = await import('../scripts/embed-rehearsal.mjs');
      embedRehearsal();
    }
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`guests/build.mjs: ${e.message}`);
    process.exitCode = 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

await main();
