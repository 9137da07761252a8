/* flood [TOTAL [CHUNK]]: writes to stdout as fast as it can, TOTAL bytes (default and
 * 0: forever) in writes of CHUNK bytes (default 65536), then prints `flood done N` to
 * stderr (N = bytes written) and exits 0.  Each chunk is the same text: 64-byte
 * lines `flood NNNNNNNNNN ....\n` numbered from 0 (a CHUNK that is not a multiple of
 * 64 ends in the middle of a line).
 * Exit 1 when a write fails (the error goes to stderr), 2 on bad arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long parse(const char *s, const char *what) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "flood: bad %s \"%s\"\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    unsigned long long total = argc > 1 ? parse(argv[1], "TOTAL") : 0;
    unsigned long long chunk = argc > 2 ? parse(argv[2], "CHUNK") : 65536;
    if (chunk == 0 || chunk > (64u << 20)) {
        fprintf(stderr, "flood: bad CHUNK \"%s\"\n", argv[2]);
        return 2;
    }
    char *buf = malloc(chunk);
    if (buf == NULL) {
        fprintf(stderr, "flood: out of memory\n");
        return 1;
    }
    /* 64-byte lines: "flood " + 10-digit line number + padding + "\n" */
    unsigned long long line = 0;
    for (unsigned long long i = 0; i < chunk; i += 64, line++) {
        char l[65];
        snprintf(l, sizeof l, "flood %010llu %.46s\n", line % 10000000000ull, "..............................................");
        memcpy(buf + i, l, chunk - i < 64 ? chunk - i : 64);
    }
    unsigned long long written = 0;
    while (total == 0 || written < total) {
        size_t want = (size_t)(total == 0 || total - written > chunk ? chunk : total - written);
        size_t off = 0;
        while (off < want) {
            ssize_t n = write(1, buf + off, want - off);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                fprintf(stderr, "flood: write after %llu bytes: %s\n", written + off, strerror(errno));
                return 1;
            }
            off += (size_t)n;
        }
        written += want;
    }
    fprintf(stderr, "flood done %llu\n", written);
    return 0;
}
