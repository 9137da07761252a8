/*
 * What the freestanding WASI 0.2 guests share (connect.c, echo.c, grow.c, notes.c): memcpy (there is
 * no libc), the cabi_realloc the host allocates lists and strings with (a bump
 * allocator), the return area results are written to, and stdout writes in chunks
 * blocking-write-and-flush accepts. Each guest includes it once.
 */
#include <stddef.h>
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("wasi:cli/environment@0.2.0", "get-arguments") void env_get_arguments(int32_t ret);
IMPORT("wasi:cli/stdout@0.2.0", "get-stdout") int32_t get_stdout(void);
IMPORT("wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush")
void out_write_flush(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT("wasi:io/streams@0.2.0", "[method]input-stream.blocking-read")
void in_blocking_read(int32_t self, int64_t len, int32_t ret);
IMPORT("wasi:io/streams@0.2.0", "[resource-drop]input-stream") void in_drop(int32_t self);
IMPORT("wasi:io/streams@0.2.0", "[resource-drop]output-stream") void out_drop(int32_t self);

/* clang lowers struct copies and __builtin_memcpy to memcpy; there is no libc. */
void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

/* cabi_realloc: a bump allocator; the host allocates the argument list and read buffers here. */
static unsigned char heap[256 * 1024];
static size_t heap_used;

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
    size_t at = (heap_used + align - 1) & ~(align - 1);
    if (at + size > sizeof heap) __builtin_trap();
    unsigned char *p = heap + at;
    heap_used = at + size;
    if (old != NULL) memcpy(p, old, old_size < size ? old_size : size);
    return p;
}

static int32_t stdout_stream;
/* Return areas: results written by the host, 8-aligned. */
static uint64_t ret_area[4];
#define RET ((int32_t)(uintptr_t)ret_area)
#define RET_U8(off) (((unsigned char *)ret_area)[off])
#define RET_I32(off) (*(int32_t *)((unsigned char *)ret_area + (off)))

struct str { const char *ptr; size_t len; };

static size_t len_of(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* blocking-write-and-flush takes at most 4096 bytes a call (wasi-io; wasmtime enforces it). */
static int write_all(int32_t stream, const unsigned char *p, size_t n) {
    while (n > 0) {
        size_t chunk = n < 4096 ? n : 4096;
        out_write_flush(stream, (int32_t)(uintptr_t)p, (int32_t)chunk, RET);
        if (RET_U8(0) != 0) return -1;
        p += chunk;
        n -= chunk;
    }
    return 0;
}

static void write_out(const void *p, size_t n) { write_all(stdout_stream, p, n); }

static void print(const char *s) { write_out(s, len_of(s)); }

/* Prints "STEP: NAME" for an error code of `names` (an enum's cases in the WIT's order); returns 1. */
__attribute__((unused)) static int fail_with(const char *step, unsigned code, const char *const *names, size_t count) {
    print(step);
    print(": ");
    print(code < count ? names[code] : "?");
    print("\n");
    return 1;
}

/* A decimal number in [min, max]; 0 on success. */
__attribute__((unused)) static int parse_u32(struct str s, uint32_t min, uint32_t max, uint32_t *out) {
    uint32_t v = 0;
    if (s.len == 0 || s.len > 9) return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return -1;
        v = v * 10 + (uint32_t)(s.ptr[i] - '0');
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

__attribute__((unused)) static void print_number(size_t n) {
    char buf[24];
    size_t i = sizeof buf;
    buf[--i] = 0;
    do buf[--i] = (char)('0' + n % 10); while ((n /= 10) > 0 && i > 0);
    print(buf + i);
}

