/* manyfiles DIR N SIZE: a syscall-heavy run over many small files, for benchmarks.
 *
 * Works in DIR/manyfiles.d (DIR is made if missing; manyfiles.d must not exist) with
 * 16 subdirectories d00..d15. File i (0 <= i < N) is dKK/fNNNNNNN with KK = i % 16 and
 * holds SIZE bytes that depend only on i. The phases, each over every file in order:
 *   create  open(O_CREAT|O_EXCL|O_WRONLY), write SIZE bytes, close
 *   stat    stat(): a regular file of SIZE bytes
 *   read    open(O_RDONLY), read to EOF, close; the bytes must be what was written
 *   rename  every even i: dKK/fNNNNNNN -> d(KK+1)%16/rNNNNNNN
 *   list    opendir/readdir/closedir of each subdirectory (`.` and `..` skipped): the
 *           entry count, and a hash of the names that does not depend on their order
 *   unlink  unlink each file under its current name, then rmdir the subdirectories
 *           and manyfiles.d
 * It prints one line per phase with counts and a checksum, then `checksum X` over all
 * of them. The output depends only on N and SIZE (not on the runtime, the order of
 * directory entries, inode numbers or clocks). Exit 0 when every call succeeded and
 * every check held; 1 otherwise (the first failures are described on stderr, and the
 * output ends with `errors N`); 2 on bad arguments or when manyfiles.d cannot be made.
 *
 * With MANYFILES_TIMES set in the environment it also prints each phase's duration
 * (CLOCK_MONOTONIC) to stderr, as `time PHASE MS`.
 *
 * The paths are formatted by hand (no printf per file), so the guest's own work is
 * small next to the WASI calls it makes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NDIRS 16
#define MAX_N 10000000L
#define MAX_SIZE (1L << 20)

static long errors = 0;

static void failed(const char *what, const char *path, int err) {
    if (errors < 10) fprintf(stderr, "manyfiles: %s %s: %s\n", what, path, err ? strerror(err) : "check failed");
    errors++;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

/* The content of file i: a xorshift64 stream seeded by i. */
static void content(unsigned char *buf, long size, long i) {
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
    for (long j = 0; j < size; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[j] = (unsigned char)(x >> 24);
    }
}

static char path[4096];
static size_t base_len; /* length of "DIR/manyfiles.d/" */

/* path = base + "dKK/" + kind + 7 digits of i. */
static const char *file_path(long dir, char kind, long i) {
    char *p = path + base_len;
    *p++ = 'd';
    *p++ = (char)('0' + dir / 10);
    *p++ = (char)('0' + dir % 10);
    *p++ = '/';
    *p++ = kind;
    for (int k = 6; k >= 0; k--) {
        p[k] = (char)('0' + i % 10);
        i /= 10;
    }
    p[7] = '\0';
    return path;
}

static const char *dir_path(long dir) {
    char *p = path + base_len;
    *p++ = 'd';
    *p++ = (char)('0' + dir / 10);
    *p++ = (char)('0' + dir % 10);
    *p = '\0';
    return path;
}

/* Where file i is after the rename phase. */
static const char *current_path(long i) {
    return i % 2 == 0 ? file_path((i % NDIRS + 1) % NDIRS, 'r', i) : file_path(i % NDIRS, 'f', i);
}

static long parse(const char *s, const char *what, long max) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
        fprintf(stderr, "manyfiles: bad %s \"%s\" (0..%ld)\n", what, s, max);
        exit(2);
    }
    return v;
}

static int timing;
static struct timespec t0;

static void phase_done(const char *name) {
    if (!timing) return;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "time %s %.1f\n", name, ms);
    t0 = t1;
}

static void write_file(const char *p, const unsigned char *buf, long size) {
    int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) {
        failed("create", p, errno);
        return;
    }
    long off = 0;
    while (off < size) {
        ssize_t n = write(fd, buf + off, (size_t)(size - off));
        if (n <= 0) {
            failed("write", p, n < 0 ? errno : EIO);
            break;
        }
        off += n;
    }
    if (close(fd) != 0) failed("close", p, errno);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: manyfiles DIR N SIZE\n");
        return 2;
    }
    const char *dir = argv[1];
    long n = parse(argv[2], "N", MAX_N);
    long size = parse(argv[3], "SIZE", MAX_SIZE);
    timing = getenv("MANYFILES_TIMES") != NULL;
    if (strlen(dir) > sizeof path - 64) {
        fprintf(stderr, "manyfiles: DIR too long\n");
        return 2;
    }
    unsigned char *expect = malloc((size_t)size + 1);
    unsigned char *got = malloc((size_t)size + 1);
    if (expect == NULL || got == NULL) {
        fprintf(stderr, "manyfiles: out of memory\n");
        return 2;
    }
    if (timing) clock_gettime(CLOCK_MONOTONIC, &t0);

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "manyfiles: mkdir %s: %s\n", dir, strerror(errno));
        return 2;
    }
    base_len = (size_t)snprintf(path, sizeof path, "%s/manyfiles.d", dir);
    if (mkdir(path, 0755) != 0) {
        fprintf(stderr, "manyfiles: mkdir %s: %s\n", path, strerror(errno));
        return 2;
    }
    path[base_len++] = '/';
    for (long d = 0; d < NDIRS; d++)
        if (mkdir(dir_path(d), 0755) != 0) failed("mkdir", path, errno);
    printf("manyfiles N=%ld SIZE=%ld DIRS=%d\n", n, size, NDIRS);

    /* create */
    long long bytes = 0;
    for (long i = 0; i < n; i++) {
        content(expect, size, i);
        write_file(file_path(i % NDIRS, 'f', i), expect, size);
        bytes += size;
    }
    printf("create %ld files %lld bytes\n", n, bytes);
    phase_done("create");

    /* stat */
    long stated = 0;
    bytes = 0;
    for (long i = 0; i < n; i++) {
        struct stat st;
        const char *p = file_path(i % NDIRS, 'f', i);
        if (stat(p, &st) != 0) {
            failed("stat", p, errno);
            continue;
        }
        if (!S_ISREG(st.st_mode) || st.st_size != size) failed("stat (type or size)", p, 0);
        stated++;
        bytes += st.st_size;
    }
    printf("stat %ld files %lld bytes\n", stated, bytes);
    phase_done("stat");

    /* read */
    long readn = 0;
    uint64_t sum = FNV_INIT;
    bytes = 0;
    for (long i = 0; i < n; i++) {
        const char *p = file_path(i % NDIRS, 'f', i);
        int fd = open(p, O_RDONLY);
        if (fd < 0) {
            failed("open", p, errno);
            continue;
        }
        long have = 0;
        for (;;) {
            ssize_t r = read(fd, got + have, (size_t)(size + 1 - have));
            if (r < 0) {
                failed("read", p, errno);
                break;
            }
            if (r == 0) break;
            have += r;
            if (have > size) break;
        }
        close(fd);
        content(expect, size, i);
        if (have != size || memcmp(got, expect, (size_t)size) != 0) failed("read (content)", p, 0);
        sum = fnv(sum, got, (size_t)(have < size ? have : size));
        bytes += have;
        readn++;
    }
    printf("read %ld files %lld bytes checksum %016llx\n", readn, bytes, (unsigned long long)sum);
    phase_done("read");

    /* rename */
    long renamed = 0;
    for (long i = 0; i < n; i += 2) {
        char from[4096];
        strcpy(from, file_path(i % NDIRS, 'f', i));
        const char *to = file_path((i % NDIRS + 1) % NDIRS, 'r', i);
        if (rename(from, to) != 0) failed("rename", from, errno);
        else renamed++;
    }
    printf("rename %ld files\n", renamed);
    phase_done("rename");

    /* list */
    long entries = 0;
    uint64_t names = 0;
    for (long d = 0; d < NDIRS; d++) {
        DIR *dp = opendir(dir_path(d));
        if (dp == NULL) {
            failed("opendir", path, errno);
            continue;
        }
        struct dirent *e;
        errno = 0;
        while ((e = readdir(dp)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            entries++;
            names += fnv(FNV_INIT, (const unsigned char *)e->d_name, strlen(e->d_name));
        }
        if (errno != 0) failed("readdir", path, errno);
        closedir(dp);
    }
    if (entries != n) failed("list (entry count)", dir, 0);
    printf("list %d dirs %ld entries names %016llx\n", NDIRS, entries, (unsigned long long)names);
    phase_done("list");

    /* unlink */
    long unlinked = 0;
    for (long i = 0; i < n; i++) {
        const char *p = current_path(i);
        if (unlink(p) != 0) failed("unlink", p, errno);
        else unlinked++;
    }
    long removed = 0;
    for (long d = 0; d < NDIRS; d++) {
        if (rmdir(dir_path(d)) != 0) failed("rmdir", path, errno);
        else removed++;
    }
    path[base_len - 1] = '\0';
    if (rmdir(path) != 0) failed("rmdir", path, errno);
    printf("unlink %ld files %ld dirs\n", unlinked, removed);
    phase_done("unlink");

    uint64_t total = FNV_INIT;
    long long counts[] = {n, size, stated, readn, renamed, entries, unlinked, removed};
    total = fnv(total, (const unsigned char *)counts, sizeof counts);
    total = fnv(total, (const unsigned char *)&sum, sizeof sum);
    total = fnv(total, (const unsigned char *)&names, sizeof names);
    printf("checksum %016llx\n", (unsigned long long)total);
    if (errors > 0) {
        printf("errors %ld\n", errors);
        return 1;
    }
    return 0;
}
