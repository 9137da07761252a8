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

static int parse_number(struct str s, uint32_t *out) {
    uint32_t v = 0;
    if (s.len == 0 || s.len > 6) return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return -1;
        v = v * 10 + (uint32_t)(s.ptr[i] - '0');
    }
    *out = v;
    return 0;
}

static void print_number(size_t n) {
    char buf[24];
    size_t i = sizeof buf;
    buf[--i] = 0;
    do buf[--i] = (char)('0' + n % 10); while ((n /= 10) > 0 && i > 0);
    print(buf + i);
}

static int run(void) {
    stdout_stream = get_stdout();
    env_get_arguments(RET);
    struct str *argv = (struct str *)(uintptr_t)RET_I32(0);
    size_t argc = (size_t)RET_I32(4);
    uint32_t stop = 4096;
    if (argc > 2 || (argc == 2 && parse_number(argv[1], &stop) != 0)) {
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
