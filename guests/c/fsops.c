/* fsops: exercises every file operation in a fresh subdirectory DIR/fsops.d and
 * prints one line per operation, e.g. `open a.txt O_CREAT|O_WRONLY: ok` or
 * `unlink missing: ENOENT`.
 *
 * Only values that POSIX/WASI define are printed: file type, sizes of regular
 * files and symlinks, link counts of regular files, explicitly set timestamps
 * (seconds), data read back, errno names.  Never inode numbers, devices,
 * permission bits (WASI has none), directory sizes or link counts, or clock
 * readings.  readdir output is sorted and omits "." and "..".
 *
 * Every line carries its expected outcome in this file: a line whose outcome
 * differs gets the suffix ` (expected X)`.  Ends with `done` and exit 0 when
 * every outcome was as expected, `done: N unexpected` and exit 1 otherwise;
 * exit 2 if the work directory cannot be created.
 *
 * Builds unchanged for wasm32-wasi (wasi-libc) and for Linux (gcc). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int unexpected;
static char work[1024];

static const struct { int value; const char *name; } errnames[] = {
    {ENOENT, "ENOENT"},   {EEXIST, "EEXIST"},       {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
    {ENOTEMPTY, "ENOTEMPTY"}, {EINVAL, "EINVAL"},   {EBADF, "EBADF"},     {EACCES, "EACCES"},
    {EPERM, "EPERM"},     {ELOOP, "ELOOP"},         {EXDEV, "EXDEV"},     {EMLINK, "EMLINK"},
    {ENAMETOOLONG, "ENAMETOOLONG"}, {ENOSPC, "ENOSPC"}, {EROFS, "EROFS"}, {EBUSY, "EBUSY"},
    {EMFILE, "EMFILE"},   {ENFILE, "ENFILE"},       {ENOSYS, "ENOSYS"},   {ENOTSUP, "ENOTSUP"},
    {ESPIPE, "ESPIPE"},   {EFBIG, "EFBIG"},         {EIO, "EIO"},
#ifdef ENOTCAPABLE
    {ENOTCAPABLE, "ENOTCAPABLE"},
#endif
};

static const char *errname(int e) {
    static char other[32];
    for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
        if (errnames[i].value == e) return errnames[i].name;
    snprintf(other, sizeof other, "errno%d", e);
    return other;
}

/* Path of NAME inside the work directory; "." is the work directory itself.
 * Rotating buffers so that two paths can be used in one call. */
static const char *P(const char *name) {
    static char bufs[4][1200];
    static int next;
    char *b = bufs[next++ & 3];
    if (strcmp(name, ".") == 0) snprintf(b, sizeof bufs[0], "%s", work);
    else snprintf(b, sizeof bufs[0], "%s/%s", work, name);
    return b;
}

/* Print `DESC: GOT`, and a marker if GOT is not EXPECT. */
static void emit(const char *desc, const char *got, const char *expect) {
    if (strcmp(got, expect) == 0) {
        printf("%s: %s\n", desc, got);
    } else {
        printf("%s: %s (expected %s)\n", desc, got, expect);
        unexpected++;
    }
}

static char descbuf[512];
static const char *D(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(descbuf, sizeof descbuf, fmt, ap);
    va_end(ap);
    return descbuf;
}

/* Outcome of a call returning 0/-1. */
static void status(const char *desc, int rc, const char *expect) {
    emit(desc, rc < 0 ? errname(errno) : "ok", expect);
}

/* Outcome of a call returning a count or offset, or -1. */
static void number(const char *desc, long long rc, const char *expect) {
    char got[64];
    if (rc < 0) snprintf(got, sizeof got, "%s", errname(errno));
    else snprintf(got, sizeof got, "%lld", rc);
    emit(desc, got, expect);
}

/* Outcome of a read: `N "bytes"` with non-printable bytes as \xNN. */
static void data(const char *desc, long long n, const char *buf, const char *expect) {
    char got[512];
    if (n < 0) {
        snprintf(got, sizeof got, "%s", errname(errno));
    } else {
        int o = snprintf(got, sizeof got, "%lld \"", n);
        for (long long i = 0; i < n && o < (int)sizeof got - 8; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c == '"' || c == '\\') o += snprintf(got + o, sizeof got - o, "\\%c", c);
            else if (c >= 0x20 && c < 0x7f) got[o++] = (char)c;
            else o += snprintf(got + o, sizeof got - o, "\\x%02x", c);
        }
        snprintf(got + o, sizeof got - o, "\"");
    }
    emit(desc, got, expect);
}

/* Outcome of stat/fstat/lstat: type, and the portable fields of that type. */
static void statline(const char *desc, int rc, const struct stat *st, int times, const char *expect) {
    char got[256];
    if (rc < 0) {
        snprintf(got, sizeof got, "%s", errname(errno));
    } else if (S_ISREG(st->st_mode)) {
        int o = snprintf(got, sizeof got, "file size=%lld nlink=%lu", (long long)st->st_size,
                         (unsigned long)st->st_nlink);
        if (times)
            snprintf(got + o, sizeof got - o, " atime=%lld mtime=%lld", (long long)st->st_atim.tv_sec,
                     (long long)st->st_mtim.tv_sec);
    } else if (S_ISDIR(st->st_mode)) {
        snprintf(got, sizeof got, "dir");
    } else if (S_ISLNK(st->st_mode)) {
        snprintf(got, sizeof got, "symlink size=%lld", (long long)st->st_size);
    } else {
        snprintf(got, sizeof got, "other");
    }
    emit(desc, got, expect);
}

static void do_stat(const char *name, const char *expect) {
    struct stat st;
    int rc = stat(P(name), &st);
    statline(D("stat %s", name), rc, &st, 0, expect);
}

static void do_lstat(const char *name, const char *expect) {
    struct stat st;
    int rc = lstat(P(name), &st);
    statline(D("lstat %s", name), rc, &st, 0, expect);
}

static void do_fstat(int fd, const char *name, const char *expect) {
    struct stat st;
    int rc = fstat(fd, &st);
    statline(D("fstat %s", name), rc, &st, 0, expect);
}

static int do_open(const char *name, int flags, const char *flagnames, const char *expect) {
    int fd = open(P(name), flags, 0644);
    status(D("open %s %s", name, flagnames), fd, expect);
    return fd;
}

static void do_close(int fd, const char *name) {
    status(D("close %s", name), fd < 0 ? -1 : close(fd), "ok");
}

static void do_write(int fd, const char *name, const char *s, const char *expect) {
    number(D("write %s \"%s\"", name, s), write(fd, s, strlen(s)), expect);
}

static void do_read(int fd, const char *name, size_t len, const char *expect) {
    char buf[256];
    data(D("read %s %zu", name, len), read(fd, buf, len), buf, expect);
}

static void do_pread(int fd, const char *name, size_t len, off_t off, const char *expect) {
    char buf[256];
    data(D("pread %s %zu@%lld", name, len, (long long)off), pread(fd, buf, len, off), buf, expect);
}

static void do_pwrite(int fd, const char *name, const char *s, off_t off, const char *expect) {
    number(D("pwrite %s \"%s\"@%lld", name, s, (long long)off), pwrite(fd, s, strlen(s), off), expect);
}

static void do_lseek(int fd, const char *name, off_t off, int whence, const char *expect) {
    const char *w = whence == SEEK_SET ? "SEEK_SET" : whence == SEEK_CUR ? "SEEK_CUR" : "SEEK_END";
    number(D("lseek %s %lld %s", name, (long long)off, w), lseek(fd, off, whence), expect);
}

/* Create NAME with CONTENT (O_CREAT|O_EXCL|O_WRONLY), printing each step. */
static void make_file(const char *name, const char *content) {
    int fd = do_open(name, O_CREAT | O_EXCL | O_WRONLY, "O_CREAT|O_EXCL|O_WRONLY", "ok");
    if (*content) {
        char n[24];
        snprintf(n, sizeof n, "%zu", strlen(content));
        do_write(fd, name, content, n);
    }
    do_close(fd, name);
}

/* Whole content of NAME, opened read-only. */
static void cat(const char *name, const char *expect) {
    char buf[256];
    int fd = open(P(name), O_RDONLY);
    long long n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    data(D("cat %s", name), n, buf, expect);
    if (fd >= 0) close(fd);
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_readdir(const char *name, const char *expect) {
    char got[512] = "";
    char *names[64];
    int n = 0;
    DIR *d = opendir(P(name));
    if (d == NULL) {
        snprintf(got, sizeof got, "%s", errname(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(d)) != NULL && n < 64) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof names[0], cmp);
        int o = snprintf(got, sizeof got, "[");
        for (int i = 0; i < n; i++) {
            o += snprintf(got + o, sizeof got - o, "%s%s", i ? " " : "", names[i]);
            free(names[i]);
        }
        snprintf(got + o, sizeof got - o, "]");
    }
    emit(D("readdir %s", name), got, expect);
}

static void set_times(const char *name, int fd, time_t atime, time_t mtime) {
    struct timespec ts[2] = {{.tv_sec = atime, .tv_nsec = 0}, {.tv_sec = mtime, .tv_nsec = 0}};
    if (fd < 0)
        status(D("utimensat %s atime=%lld mtime=%lld", name, (long long)atime, (long long)mtime),
               utimensat(AT_FDCWD, P(name), ts, 0), "ok");
    else
        status(D("futimens %s atime=%lld mtime=%lld", name, (long long)atime, (long long)mtime),
               futimens(fd, ts), "ok");
}

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : ".";
    snprintf(work, sizeof work, "%s/fsops.d", base);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* mkdir and the fresh work directory */
    if (mkdir(work, 0755) != 0) {
        printf("mkdir fsops.d: %s\n", errname(errno));
        return 2;
    }
    printf("mkdir fsops.d: ok\n");
    status("mkdir fsops.d", mkdir(work, 0755), "EEXIST");
    do_stat(".", "dir");
    do_readdir(".", "[]");

    /* create, write, exclusive create */
    int fd = do_open("a.txt", O_CREAT | O_EXCL | O_WRONLY, "O_CREAT|O_EXCL|O_WRONLY", "ok");
    do_write(fd, "a.txt", "hello", "5");
    do_fstat(fd, "a.txt", "file size=5 nlink=1");
    do_close(fd, "a.txt");
    do_open("a.txt", O_CREAT | O_EXCL | O_WRONLY, "O_CREAT|O_EXCL|O_WRONLY", "EEXIST");

    /* append: writes go to the end whatever the offset */
    fd = do_open("a.txt", O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND", "ok");
    do_lseek(fd, "a.txt", 0, SEEK_SET, "0");
    do_write(fd, "a.txt", " world", "6");
    do_lseek(fd, "a.txt", 0, SEEK_CUR, "11");
    do_close(fd, "a.txt");
    do_stat("a.txt", "file size=11 nlink=1");

    /* read to EOF */
    fd = do_open("a.txt", O_RDONLY, "O_RDONLY", "ok");
    do_read(fd, "a.txt", 64, "11 \"hello world\"");
    do_read(fd, "a.txt", 64, "0 \"\"");
    do_write(fd, "a.txt", "x", "EBADF");
    do_close(fd, "a.txt");
    fd = do_open("a.txt", O_WRONLY, "O_WRONLY", "ok");
    do_read(fd, "a.txt", 64, "EBADF");
    do_close(fd, "a.txt");

    /* pread/pwrite do not move the offset */
    fd = do_open("a.txt", O_RDWR, "O_RDWR", "ok");
    do_pread(fd, "a.txt", 5, 6, "5 \"world\"");
    do_pwrite(fd, "a.txt", "WORLD", 6, "5");
    do_lseek(fd, "a.txt", 0, SEEK_CUR, "0");
    do_read(fd, "a.txt", 64, "11 \"hello WORLD\"");
    do_pread(fd, "a.txt", 64, 11, "0 \"\"");

    /* lseek SET/CUR/END; a write past the end leaves a hole that reads as zeros */
    do_lseek(fd, "a.txt", -5, SEEK_END, "6");
    do_read(fd, "a.txt", 3, "3 \"WOR\"");
    do_lseek(fd, "a.txt", 2, SEEK_SET, "2");
    do_lseek(fd, "a.txt", 3, SEEK_CUR, "5");
    do_lseek(fd, "a.txt", -1, SEEK_SET, "EINVAL");
    do_lseek(fd, "a.txt", 0, SEEK_CUR, "5");
    do_lseek(fd, "a.txt", 5, SEEK_END, "16");
    do_write(fd, "a.txt", "!", "1");
    do_fstat(fd, "a.txt", "file size=17 nlink=1");
    do_pread(fd, "a.txt", 64, 9, "8 \"LD\\x00\\x00\\x00\\x00\\x00!\"");

    /* ftruncate grows with zeros, shrinks, and a regrown tail is zeros again */
    status("ftruncate a.txt 20", ftruncate(fd, 20), "ok");
    do_fstat(fd, "a.txt", "file size=20 nlink=1");
    do_pread(fd, "a.txt", 64, 15, "5 \"\\x00!\\x00\\x00\\x00\"");
    status("ftruncate a.txt 5", ftruncate(fd, 5), "ok");
    do_fstat(fd, "a.txt", "file size=5 nlink=1");
    status("ftruncate a.txt 8", ftruncate(fd, 8), "ok");
    do_pread(fd, "a.txt", 64, 0, "8 \"hello\\x00\\x00\\x00\"");
    status("fsync a.txt", fsync(fd), "ok");
    do_close(fd, "a.txt");
    status("truncate a.txt 3", truncate(P("a.txt"), 3), "ok");
    do_stat("a.txt", "file size=3 nlink=1");
    cat("a.txt", "3 \"hel\"");

    /* mkdir, readdir, and the expected errors */
    status("mkdir d1", mkdir(P("d1"), 0755), "ok");
    status("mkdir d1/sub", mkdir(P("d1/sub"), 0755), "ok");
    make_file("d1/sub/f", "f");
    make_file("b.txt", "bee");
    do_stat("d1", "dir");
    do_readdir(".", "[a.txt b.txt d1]");
    do_readdir("d1", "[sub]");
    status("mkdir d1", mkdir(P("d1"), 0755), "EEXIST");
    do_open("missing", O_RDONLY, "O_RDONLY", "ENOENT");
    do_open("nodir/x", O_CREAT | O_WRONLY, "O_CREAT|O_WRONLY", "ENOENT");
    do_stat("missing", "ENOENT");
    status("unlink missing", unlink(P("missing")), "ENOENT");
    status("rmdir missing", rmdir(P("missing")), "ENOENT");
    do_open("a.txt/x", O_RDONLY, "O_RDONLY", "ENOTDIR");
    status("mkdir a.txt/x", mkdir(P("a.txt/x"), 0755), "ENOTDIR");
    status("rmdir a.txt", rmdir(P("a.txt")), "ENOTDIR");
    do_open("d1", O_WRONLY, "O_WRONLY", "EISDIR");
    do_open("d1", O_RDWR, "O_RDWR", "EISDIR");
    status("rmdir d1", rmdir(P("d1")), "ENOTEMPTY");
    do_open("a.txt", O_RDONLY | O_DIRECTORY, "O_RDONLY|O_DIRECTORY", "ENOTDIR");

    /* rename files */
    status("rename a.txt a2.txt", rename(P("a.txt"), P("a2.txt")), "ok");
    do_stat("a.txt", "ENOENT");
    do_stat("a2.txt", "file size=3 nlink=1");
    status("rename a2.txt b.txt", rename(P("a2.txt"), P("b.txt")), "ok");
    cat("b.txt", "3 \"hel\"");
    do_readdir(".", "[b.txt d1]");
    status("rename missing z", rename(P("missing"), P("z")), "ENOENT");
    status("rename b.txt d1", rename(P("b.txt"), P("d1")), "EISDIR");
    status("rename d1 b.txt", rename(P("d1"), P("b.txt")), "ENOTDIR");

    /* rename directories, onto an empty one, and not onto a non-empty one */
    status("rename d1 d2", rename(P("d1"), P("d2")), "ok");
    do_stat("d1", "ENOENT");
    do_stat("d2/sub/f", "file size=1 nlink=1");
    status("mkdir empty", mkdir(P("empty"), 0755), "ok");
    status("rename d2 empty", rename(P("d2"), P("empty")), "ok");
    do_stat("d2", "ENOENT");
    do_readdir("empty", "[sub]");
    status("mkdir d3", mkdir(P("d3"), 0755), "ok");
    make_file("d3/x", "");
    status("rename d3 empty", rename(P("d3"), P("empty")), "ENOTEMPTY");
    do_readdir(".", "[b.txt d3 empty]");

    /* symlinks */
    status("symlink b.txt lnk", symlink("b.txt", P("lnk")), "ok");
    {
        char buf[64];
        ssize_t n = readlink(P("lnk"), buf, sizeof buf);
        data("readlink lnk", n, buf, "5 \"b.txt\"");
        n = readlink(P("b.txt"), buf, sizeof buf);
        data("readlink b.txt", n, buf, "EINVAL");
    }
    do_lstat("lnk", "symlink size=5");
    do_stat("lnk", "file size=3 nlink=1");
    fd = do_open("lnk", O_RDONLY, "O_RDONLY", "ok");
    do_read(fd, "lnk", 64, "3 \"hel\"");
    do_close(fd, "lnk");
    fd = do_open("lnk", O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND", "ok");
    do_write(fd, "lnk", "lo", "2");
    do_close(fd, "lnk");
    cat("b.txt", "5 \"hello\"");
    status("symlink b.txt lnk", symlink("b.txt", P("lnk")), "EEXIST");
    status("symlink nowhere dangling", symlink("nowhere", P("dangling")), "ok");
    do_lstat("dangling", "symlink size=7");
    do_stat("dangling", "ENOENT");
    do_open("dangling", O_RDONLY, "O_RDONLY", "ENOENT");
    status("symlink d3 dirlnk", symlink("d3", P("dirlnk")), "ok");
    do_stat("dirlnk", "dir");
    do_stat("dirlnk/x", "file size=0 nlink=1");
    do_readdir(".", "[b.txt d3 dangling dirlnk empty lnk]");
    status("unlink lnk", unlink(P("lnk")), "ok");
    status("unlink dangling", unlink(P("dangling")), "ok");
    status("unlink dirlnk", unlink(P("dirlnk")), "ok");
    do_stat("b.txt", "file size=5 nlink=1");
    do_stat("d3", "dir");

    /* hard links share content and count links */
    make_file("h1", "shared");
    status("link h1 h2", link(P("h1"), P("h2")), "ok");
    do_stat("h1", "file size=6 nlink=2");
    do_stat("h2", "file size=6 nlink=2");
    fd = do_open("h2", O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND", "ok");
    do_write(fd, "h2", "!", "1");
    do_close(fd, "h2");
    cat("h1", "7 \"shared!\"");
    status("link h1 h2", link(P("h1"), P("h2")), "EEXIST");
    status("link missing h3", link(P("missing"), P("h3")), "ENOENT");
    status("unlink h1", unlink(P("h1")), "ok");
    do_stat("h2", "file size=7 nlink=1");
    cat("h2", "7 \"shared!\"");

    /* explicit timestamps (seconds), by path and by descriptor */
    {
        struct stat st;
        int rc;
        set_times("h2", -1, 1000000000, 1234567890);
        rc = stat(P("h2"), &st);
        statline("stat h2", rc, &st, 1, "file size=7 nlink=1 atime=1000000000 mtime=1234567890");
        fd = do_open("h2", O_RDWR, "O_RDWR", "ok");
        set_times("h2", fd, 1500000000, 1600000000);
        rc = fstat(fd, &st);
        statline("fstat h2", rc, &st, 1, "file size=7 nlink=1 atime=1500000000 mtime=1600000000");
        do_write(fd, "h2", "x", "1");
        rc = fstat(fd, &st);
        emit("write h2 updates mtime", rc == 0 && st.st_mtim.tv_sec > 1600000000 ? "yes" : "no", "yes");
        do_close(fd, "h2");
    }

    /* cleanup */
    status("unlink h2", unlink(P("h2")), "ok");
    status("unlink b.txt", unlink(P("b.txt")), "ok");
    status("unlink d3/x", unlink(P("d3/x")), "ok");
    status("rmdir d3", rmdir(P("d3")), "ok");
    status("unlink empty/sub/f", unlink(P("empty/sub/f")), "ok");
    status("rmdir empty/sub", rmdir(P("empty/sub")), "ok");
    status("rmdir empty", rmdir(P("empty")), "ok");
    do_readdir(".", "[]");
    status("rmdir fsops.d", rmdir(work), "ok");
    do_stat(".", "ENOENT");

    if (unexpected) {
        printf("done: %d unexpected\n", unexpected);
        return 1;
    }
    printf("done\n");
    return 0;
}
