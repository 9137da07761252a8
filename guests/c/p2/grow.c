/*
 * grow: a WASI 0.2 command component (no libc) that grows its memory 1 MiB at a time
 * until memory.grow fails, prints "refused at N MiB", and then traps (unreachable), as a
 * program that aborts when malloc returns NULL does. Under a memory limit this is the
 * component counterpart of the Rust `membomb`: the limit refuses the growth, and the trap
 * at the limit is an out-of-memory end.
 *
 *   grow [MIB]    stop (exit 0) after MIB MiB if the growth was never refused
 *
 * Built freestanding like connect.c; its world is `grow` in guests/wit/notes.wit.
 */
#include "p2.h"

static int run(void) {
    stdout_stream = get_stdout();
    env_get_arguments(RET);
    struct str *argv = (struct str *)(uintptr_t)RET_I32(0);
    size_t argc = (size_t)RET_I32(4);
    uint32_t stop = 4096;
    if (argc > 2 || (argc == 2 && parse_u32(argv[1], 0, 1000000, &stop) != 0)) {
        print("usage: grow [MIB]\n");
        return 1;
    }
    for (uint32_t grown = 0; grown < stop; grown++) {
        if (__builtin_wasm_memory_grow(0, 16) == (size_t)-1) {
            print("refused at ");
            print_number(__builtin_wasm_memory_size(0) / 16);
            print(" MiB\n");
            __builtin_trap();
        }
    }
    print("grew ");
    print_number(stop);
    print(" MiB\n");
    return 0;
}

__attribute__((export_name("wasi:cli/run@0.2.0#run"))) int32_t run_export(void) {
    return run() == 0 ? 0 : 1;
}
