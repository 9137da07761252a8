#!/usr/bin/env python3
"""Runs a guest module under wasmtime's own WASI preview 1, the way `wasmtime run` does.

    python3 guests/wasmtime-run.py [--dir HOST[::GUEST]]... [--env K=V]... [--argv0 NAME] MODULE.wasm [ARGS...]

It needs the `wasmtime` Python package (wasmtime-py; not a dependency of skiff: install it
into a throwaway venv). Its C API links the guest with `wasmtime_wasi::p1` (WasiP1Ctx), the
same preview 1 implementation as the `wasmtime` CLI, with preopens mutable as in
`wasmtime run --dir`. argv[0] is the module's path as given, as with the CLI, or NAME. stdin, stdout and
stderr are this process's. The exit status is the guest's `proc_exit` code, or 134 after
a trap (the CLI's status for a trap, 128 + SIGABRT), with the trap printed to stderr.
Used to write down wasmtime's side of guests/expected/*.wasmtime.txt.
"""

import sys

import wasmtime


def main(argv: list[str]) -> int:
    dirs: list[tuple[str, str]] = []
    env: list[tuple[str, str]] = []
    argv0 = None
    i = 0
    while i < len(argv) and argv[i].startswith('--'):
        if argv[i] == '--dir':
            host, _, guest = argv[i + 1].partition('::')
            dirs.append((host, guest or host))
        elif argv[i] == '--argv0':
            argv0 = argv[i + 1]
        elif argv[i] == '--env':
            key, _, value = argv[i + 1].partition('=')
            env.append((key, value))
        else:
            print(f'wasmtime-run: unknown option {argv[i]}', file=sys.stderr)
            return 2
        i += 2
    if i >= len(argv):
        print(__doc__, file=sys.stderr)
        return 2
    module_path, args = argv[i], argv[i + 1:]

    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, module_path)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = [module_path if argv0 is None else argv0, *args]
    config.env = env
    for host, guest in dirs:
        config.preopen_dir(host, guest)
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    store.set_wasi(config)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)['_start']
    try:
        start(store)  # type: ignore[operator]
    except wasmtime.ExitTrap as e:
        return e.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        sys.stdout.flush()
        print(f'trap: {e}', file=sys.stderr)
        return 134
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
