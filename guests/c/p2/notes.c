/*
 * notes: a WASI 0.2 command component (no libc) that keeps a notes file through
 * wasi:filesystem, the way a wasm32-wasip2 program's fopen(path, "a") does.
 *
 *   notes PATH [LINE]
 *
 * PATH is relative to the first preopened directory (skiff gives a container `/`). With
 * LINE, it opens PATH (creating it), appends LINE and a newline (append-via-stream);
 * then, with or without LINE, it prints the whole file (read-via-stream from 0). Exit
 * status 0; 1 with "STEP: <error-code>" (a wasi:filesystem error code) on stdout when a
 * step fails, or "usage: notes PATH [LINE]".
 *
 * Built freestanding like connect.c; its world is guests/wit/notes.wit.
 */
#include "p2.h"

IMPORT("wasi:filesystem/preopens@0.2.0", "get-directories") void get_directories(int32_t ret);
IMPORT("wasi:filesystem/types@0.2.0", "[method]descriptor.open-at")
void open_at(int32_t self, int32_t path_flags, int32_t path, int32_t path_len, int32_t open_flags, int32_t flags, int32_t ret);
IMPORT("wasi:filesystem/types@0.2.0", "[method]descriptor.append-via-stream") void append_via_stream(int32_t self, int32_t ret);
IMPORT("wasi:filesystem/types@0.2.0", "[method]descriptor.read-via-stream") void read_via_stream(int32_t self, int64_t offset, int32_t ret);
IMPORT("wasi:filesystem/types@0.2.0", "[resource-drop]descriptor") void descriptor_drop(int32_t self);

/* wasi:filesystem/types error-code, in the WIT's order. */
static const char *const ERROR_CODES[] = {
    "access", "would-block", "already", "bad-descriptor", "busy", "deadlock", "quota", "exist",
    "file-too-large", "illegal-byte-sequence", "in-progress", "interrupted", "invalid", "io",
    "is-directory", "loop", "too-many-links", "message-size", "name-too-long", "no-device", "no-entry",
    "no-lock", "insufficient-memory", "insufficient-space", "not-directory", "not-empty",
    "not-recoverable", "unsupported", "no-tty", "no-such-device", "overflow", "not-permitted", "pipe",
    "read-only", "invalid-seek", "text-file-busy", "cross-device",
};

/* Flag bits, in the WIT's order. */
#define OPEN_CREATE 1
#define DESCRIPTOR_READ 1
#define DESCRIPTOR_WRITE 2

static int fail(const char *step, unsigned code) {
    return fail_with(step, code, ERROR_CODES, sizeof ERROR_CODES / sizeof ERROR_CODES[0]);
}

static int run(void) {
    stdout_stream = get_stdout();
    env_get_arguments(RET);
    struct str *argv = (struct str *)(uintptr_t)RET_I32(0);
    size_t argc = (size_t)RET_I32(4);
    if (argc < 2 || argc > 3 || argv[1].len == 0) {
        print("usage: notes PATH [LINE]\n");
        return 1;
    }

    /* list<tuple<descriptor, string>>: 12-byte elements, the handle first. */
    get_directories(RET);
    if (RET_I32(4) == 0) {
        print("no preopened directory\n");
        return 1;
    }
    int32_t dir = *(int32_t *)(uintptr_t)RET_I32(0);

    if (argc == 3) {
        open_at(dir, 0, (int32_t)(uintptr_t)argv[1].ptr, (int32_t)argv[1].len, OPEN_CREATE, DESCRIPTOR_READ | DESCRIPTOR_WRITE, RET);
        if (RET_U8(0) != 0) return fail("open", RET_U8(4));
        int32_t file = RET_I32(4);
        append_via_stream(file, RET);
        if (RET_U8(0) != 0) return fail("append", RET_U8(4));
        int32_t out = RET_I32(4);
        if (write_all(out, (const unsigned char *)argv[2].ptr, argv[2].len) != 0 || write_all(out, (const unsigned char *)"\n", 1) != 0) {
            print("write: failed\n");
            return 1;
        }
        out_drop(out);
        descriptor_drop(file);
    }

    open_at(dir, 0, (int32_t)(uintptr_t)argv[1].ptr, (int32_t)argv[1].len, 0, DESCRIPTOR_READ, RET);
    if (RET_U8(0) != 0) return fail("open", RET_U8(4));
    int32_t file = RET_I32(4);
    read_via_stream(file, 0, RET);
    if (RET_U8(0) != 0) return fail("read", RET_U8(4));
    int32_t in = RET_I32(4);
    for (;;) {
        size_t mark = heap_used;
        in_blocking_read(in, 16384, RET);
        if (RET_U8(0) != 0) break; /* closed: the end of the file */
        write_out((const void *)(uintptr_t)RET_I32(4), (size_t)RET_I32(8));
        heap_used = mark;
    }
    in_drop(in);
    descriptor_drop(file);
    return 0;
}

__attribute__((export_name("wasi:cli/run@0.2.0#run"))) int32_t run_export(void) {
    return run() == 0 ? 0 : 1;
}
