/* wasicalls DIR [EXIT [ARGS...]]: calls WASI preview 1 directly (through
 * <wasi/api.h>, not through libc's file functions) and prints one line per
 * call or case, `<call> <case>: <ERRNO> [values]`, with WASI's errno names
 * (SUCCESS, NOENT, NOTCAPABLE, ...).  DIR must be a preopened directory (its
 * guest name as given to the runtime); the program works in DIR/wasicalls.d,
 * removes it at the end, and finally calls proc_exit(EXIT) (default 0).  Any
 * further ARGS are only printed back (args_get with UTF-8 text).
 *
 * wasicalls DIR --one CASE: runs one call that ends or breaks the process on
 * some runtime (see BAD_CASES) and prints `CASE: ERRNO`; `--one list` lists them.
 *
 * Printed values are only those that the WASI spec defines and that do not
 * depend on the host: no inode or device numbers, directory sizes or link
 * counts, clock readings or resolutions (only whether they are non-zero and
 * in order), and rights only for the preopen and a path_open'ed directory.
 * Durations are printed as `ok` / `not ok` against a bound.  readdir entries
 * are sorted after collection.  fdflags are printed in hex, as returned.
 *
 * Exit status: EXIT; 2 when DIR is not a preopen or wasicalls.d cannot be
 * created (e.g. it exists), or for an unknown --one case. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* proc_raise is no longer declared by wasi-libc's api.h; import it by hand. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t raw_proc_raise(int32_t sig);

static const char *const ERRNOS[] = {
    "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN", "ALREADY",
    "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED", "CONNREFUSED", "CONNRESET",
    "DEADLK", "DESTADDRREQ", "DOM", "DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH", "IDRM",
    "ILSEQ", "INPROGRESS", "INTR", "INVAL", "IO", "ISCONN", "ISDIR", "LOOP", "MFILE", "MLINK",
    "MSGSIZE", "MULTIHOP", "NAMETOOLONG", "NETDOWN", "NETRESET", "NETUNREACH", "NFILE",
    "NOBUFS", "NODEV", "NOENT", "NOEXEC", "NOLCK", "NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT",
    "NOSPC", "NOSYS", "NOTCONN", "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP",
    "NOTTY", "NXIO", "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT",
    "PROTOTYPE", "RANGE", "ROFS", "SPIPE", "SRCH", "STALE", "TIMEDOUT", "TXTBSY", "XDEV",
    "NOTCAPABLE",
};

static const char *en(unsigned e) {
    static char other[32];
    if (e < sizeof ERRNOS / sizeof ERRNOS[0]) return ERRNOS[e];
    snprintf(other, sizeof other, "errno%u", e);
    return other;
}

static const char *ftype(unsigned t) {
    static const char *const names[] = {"UNKNOWN", "BLOCK_DEVICE", "CHARACTER_DEVICE", "DIRECTORY",
                                        "REGULAR_FILE", "SOCKET_DGRAM", "SOCKET_STREAM", "SYMBOLIC_LINK"};
    static char other[32];
    if (t < 8) return names[t];
    snprintf(other, sizeof other, "filetype%u", t);
    return other;
}



__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* `desc: ERRNO` plus, on success only, the formatted values. */
__attribute__((format(printf, 3, 4))) static __wasi_errno_t res(__wasi_errno_t e, const char *desc,
                                                                  const char *fmt, ...) {
    char values[512] = "";
    if (e == 0 && fmt != NULL && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        values[0] = ' ';
        vsnprintf(values + 1, sizeof values - 1, fmt, ap);
        va_end(ap);
    }
    out("%s: %s%s", desc, en(e), values);
    return e;
}

static const char *okif(int cond) { return cond ? "ok" : "not ok"; }

/* Bytes as a quoted string, non-printables as \xNN. */
static const char *quote(const void *p, size_t n) {
    static char bufs[2][512];
    static int next;
    char *b = bufs[next++ & 1];
    const unsigned char *s = p;
    size_t o = 0;
    b[o++] = '"';
    for (size_t i = 0; i < n && o < sizeof bufs[0] - 8; i++) {
        if (s[i] == '"' || s[i] == '\\') o += (size_t)snprintf(b + o, 8, "\\%c", s[i]);
        else if (s[i] >= 0x20 && s[i] < 0x7f) b[o++] = (char)s[i];
        else o += (size_t)snprintf(b + o, 8, "\\x%02x", s[i]);
    }
    b[o++] = '"';
    b[o] = '\0';
    return b;
}

static const __wasi_rights_t FILE_RO = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |
                                       __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_ADVISE |
                                       __WASI_RIGHTS_POLL_FD_READWRITE;
static __wasi_rights_t file_rw; /* set in main */
/* What a directory fd asks for: every right up to SOCK_SHUTDOWN (bit 28) but those
 * that make node:wasi open it for writing (which fails with ISDIR), as wasi-libc does. */
static const __wasi_rights_t DIR_RIGHTS =
    (__wasi_rights_t)0x1fffffff & ~(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ALLOCATE |
                                    __WASI_RIGHTS_FD_FILESTAT_SET_SIZE);

static __wasi_fd_t P;     /* the preopen named DIR */
static __wasi_fd_t W;     /* DIR/wasicalls.d, opened with path_open */
static __wasi_fd_t SPARE; /* a second preopen, if any (0 = none) */
static const char *dirname_arg;

/* The preopen's inheriting rights: everything path_open asks for is limited to
 * them, as wasi-libc does.  (Not those of the directory fd at hand: wasmtime
 * reports inheriting rights without FD_WRITE for a path_open'ed directory.) */
static __wasi_rights_t inheritable = ~(__wasi_rights_t)0;

static __wasi_errno_t op(__wasi_fd_t dir, __wasi_lookupflags_t lf, const char *path, __wasi_oflags_t of,
                         __wasi_rights_t rights, __wasi_fdflags_t ff, __wasi_fd_t *fd) {
    return __wasi_path_open(dir, lf, path, of, rights & inheritable, inheritable, ff, fd);
}

static void closefd(__wasi_fd_t fd) { (void)__wasi_fd_close(fd); }

static __wasi_errno_t writes(__wasi_fd_t fd, const char *s, __wasi_size_t *n) {
    __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
    return __wasi_fd_write(fd, &iov, 1, n);
}

/* Creates NAME in W with CONTENT (replacing it). */
static void mkfile(const char *name, const char *content) {
    __wasi_fd_t fd;
    __wasi_size_t n;
    __wasi_errno_t e = op(W, 0, name, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, file_rw, 0, &fd);
    if (e == 0) {
        if (content[0]) e = writes(fd, content, &n);
        closefd(fd);
    }
    if (e != 0) out("setup %s: %s", name, en(e));
}

/* The whole content of NAME in W, quoted, or the errno name. */
static const char *content(const char *name) {
    static char buf[256];
    __wasi_fd_t fd;
    __wasi_errno_t e = op(W, 0, name, 0, FILE_RO, 0, &fd);
    if (e != 0) return en(e);
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n = 0;
    e = __wasi_fd_read(fd, &iov, 1, &n);
    closefd(fd);
    return e == 0 ? quote(buf, n) : en(e);
}

static __wasi_errno_t pstat(__wasi_fd_t dir, __wasi_lookupflags_t lf, const char *name, __wasi_filestat_t *st) {
    return __wasi_path_filestat_get(dir, lf, name, st);
}

/* `TYPE` or `REGULAR_FILE size=N nlink=N` or `SYMBOLIC_LINK size=N`, or the errno name. */
static const char *describe(__wasi_errno_t e, const __wasi_filestat_t *st) {
    static char buf[128];
    if (e != 0) return en(e);
    if (st->filetype == __WASI_FILETYPE_REGULAR_FILE)
        snprintf(buf, sizeof buf, "REGULAR_FILE size=%llu nlink=%llu", (unsigned long long)st->size,
                 (unsigned long long)st->nlink);
    else if (st->filetype == __WASI_FILETYPE_SYMBOLIC_LINK)
        snprintf(buf, sizeof buf, "SYMBOLIC_LINK size=%llu", (unsigned long long)st->size);
    else snprintf(buf, sizeof buf, "%s", ftype(st->filetype));
    return buf;
}

static const char *what(const char *name, __wasi_lookupflags_t lf) {
    __wasi_filestat_t st;
    return describe(pstat(W, lf, name, &st), &st);
}

static uint64_t now(__wasi_clockid_t id) {
    uint64_t t = 0;
    if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
    return t;
}

/* ------------------------------------------------------------------------- */

static void t_args(void) {
    __wasi_size_t argc = 0, bufsz = 0;
    res(__wasi_args_sizes_get(&argc, &bufsz), "args_sizes_get", "argc=%u buf=%u", (unsigned)argc, (unsigned)bufsz);
    char **argv = calloc(argc + 1, sizeof *argv);
    char *buf = calloc(bufsz + 1, 1);
    __wasi_errno_t e = __wasi_args_get((uint8_t **)argv, (uint8_t *)buf);
    size_t total = 0;
    if (e == 0)
        for (__wasi_size_t i = 0; i < argc; i++) total += strlen(argv[i]) + 1;
    res(e, "args_get", "sizes match: %s", okif(total == bufsz));
    if (e == 0)
        for (__wasi_size_t i = 1; i < argc; i++) out("  arg[%u] %zu bytes: %s", (unsigned)i, strlen(argv[i]), argv[i]);
    free(argv);
    free(buf);

    __wasi_size_t envc = 0;
    bufsz = 0;
    res(__wasi_environ_sizes_get(&envc, &bufsz), "environ_sizes_get", "count=%u buf=%u", (unsigned)envc, (unsigned)bufsz);
    char **env = calloc(envc + 1, sizeof *env);
    buf = calloc(bufsz + 1, 1);
    e = __wasi_environ_get((uint8_t **)env, (uint8_t *)buf);
    total = 0;
    if (e == 0)
        for (__wasi_size_t i = 0; i < envc; i++) total += strlen(env[i]) + 1;
    res(e, "environ_get", "sizes match: %s", okif(total == bufsz));
    if (e == 0)
        for (__wasi_size_t i = 0; i < envc; i++) out("  env[%u] %zu bytes: %s", (unsigned)i, strlen(env[i]), env[i]);
    free(env);
    free(buf);
}

static void t_clocks(void) {
    static const char *const names[] = {"REALTIME", "MONOTONIC", "PROCESS_CPUTIME_ID", "THREAD_CPUTIME_ID"};
    char desc[64];
    for (__wasi_clockid_t id = 0; id < 4; id++) {
        uint64_t r = 0;
        __wasi_errno_t e = __wasi_clock_res_get(id, &r);
        snprintf(desc, sizeof desc, "clock_res_get %s", names[id]);
        res(e, desc, "%s", r > 0 ? "nonzero" : "zero");
    }
    for (__wasi_clockid_t id = 0; id < 4; id++) {
        uint64_t t = 0;
        __wasi_errno_t e = __wasi_clock_time_get(id, 1, &t);
        snprintf(desc, sizeof desc, "clock_time_get %s", names[id]);
        res(e, desc, "%s", t > 0 ? "nonzero" : "zero");
    }
    /* 2020-01-01 .. 2100-01-01 in ns. */
    uint64_t rt = now(__WASI_CLOCKID_REALTIME);
    out("clock_time_get REALTIME within 2020..2100: %s", okif(rt > 1577836800ull * 1000000000ull &&
                                                                 rt < 4102444800ull * 1000000000ull));
    uint64_t m1 = now(__WASI_CLOCKID_MONOTONIC), m2 = now(__WASI_CLOCKID_MONOTONIC);
    out("clock_time_get MONOTONIC twice, non-decreasing: %s", okif(m1 > 0 && m2 >= m1));
    uint64_t c1 = 0, c2 = 0;
    __wasi_errno_t e = __wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &c1);
    volatile uint64_t x = 1;
    for (int i = 0; i < 3000000; i++) x = x * 6364136223846793005ull + 1;
    if (e == 0) e = __wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &c2);
    res(e, "clock_time_get PROCESS_CPUTIME_ID grows with work", "%s", okif(c2 > c1));
}

static void t_prestat(void) {
    SPARE = 0;
    P = 0;
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
        char desc[64];
        snprintf(desc, sizeof desc, "fd_prestat_get %u", fd);
        if (e == __WASI_ERRNO_BADF) {
            res(e, desc, NULL);
            break;
        }
        res(e, desc, "tag=%u name_len=%u", ps.tag, (unsigned)ps.u.dir.pr_name_len);
        if (e != 0) break;
        size_t len = ps.u.dir.pr_name_len;
        char name[512];
        memset(name, '#', sizeof name);
        if (len > 400) break;
        snprintf(desc, sizeof desc, "fd_prestat_dir_name %u len=%zu", fd, len);
        e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len);
        res(e, desc, "%s", quote(name, len));
        name[len] = '\0';
        if (e == 0 && strcmp(name, dirname_arg) == 0 && P == 0) P = fd;
        else if (e == 0 && SPARE == 0) SPARE = fd;
        memset(name, '#', sizeof name);
        snprintf(desc, sizeof desc, "fd_prestat_dir_name %u len=%zu (one short)", fd, len - 1);
        res(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len - 1), desc, "%s", quote(name, len - 1));
        memset(name, '#', sizeof name);
        snprintf(desc, sizeof desc, "fd_prestat_dir_name %u len=%zu (4 more)", fd, len + 4);
        res(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len + 4), desc, "%s", quote(name, len + 4));
    }
    __wasi_prestat_t ps;
    res(__wasi_fd_prestat_get(0, &ps), "fd_prestat_get 0 (stdin)", "tag=%u", ps.tag);
    res(__wasi_fd_prestat_get(1000, &ps), "fd_prestat_get 1000 (not open)", "tag=%u", ps.tag);
}

static void t_path_open(void) {
    __wasi_fd_t fd;
    __wasi_fdstat_t fs;
    __wasi_errno_t e;
    char desc[160];

    /* setup */
    res(op(W, 0, "f", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, file_rw, 0, &fd), "path_open f CREAT|EXCL (new)", NULL);
    __wasi_size_t n = 0;
    res(writes(fd, "hello world", &n), "fd_write f \"hello world\"", "%u", (unsigned)n);
    closefd(fd);
    res(__wasi_path_create_directory(W, "d"), "path_create_directory d", NULL);
    res(__wasi_path_create_directory(W, "d"), "path_create_directory d (exists)", NULL);
    res(__wasi_path_create_directory(W, "f"), "path_create_directory f (a file)", NULL);
    res(__wasi_path_create_directory(W, "nodir/x"), "path_create_directory nodir/x", NULL);
    res(__wasi_path_create_directory(W, "e"), "path_create_directory e", NULL);
    mkfile("d/inner", "in d");
    res(__wasi_path_symlink("f", W, "lnk"), "path_symlink f -> lnk", NULL);
    res(__wasi_path_symlink("d", W, "dlnk"), "path_symlink d -> dlnk", NULL);
    res(__wasi_path_symlink("missing", W, "dangling"), "path_symlink missing -> dangling", NULL);

    struct {
        const char *path;
        __wasi_lookupflags_t lf;
        __wasi_oflags_t of;
        __wasi_rights_t rights;
        __wasi_fdflags_t ff;
        const char *desc;
    } cases[] = {
        {"f", 0, 0, FILE_RO, 0, "f read-only"},
        {"f", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, file_rw, 0, "f CREAT|EXCL (exists)"},
        {"f", 0, __WASI_OFLAGS_CREAT, file_rw, 0, "f CREAT (exists)"},
        {"f", 0, __WASI_OFLAGS_EXCL, file_rw, 0, "f EXCL without CREAT"},
        {"newdir", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "newdir CREAT|DIRECTORY"},
        {"d", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "d CREAT|DIRECTORY (existing dir)"},
        {"f", 0, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "f DIRECTORY"},
        {"d", 0, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "d DIRECTORY"},
        {"d", 0, 0, FILE_RO, 0, "d read-only, no DIRECTORY"},
        {"d", 0, 0, FILE_RO | __WASI_RIGHTS_FD_WRITE, 0, "d with FD_WRITE"},
        {"d", 0, __WASI_OFLAGS_TRUNC, file_rw, 0, "d TRUNC"},
        {"d", 0, __WASI_OFLAGS_CREAT, file_rw, 0, "d CREAT"},
        {"lnk", 0, 0, FILE_RO, 0, "lnk without SYMLINK_FOLLOW"},
        {"lnk", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, FILE_RO, 0, "lnk SYMLINK_FOLLOW"},
        {"lnk", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "lnk SYMLINK_FOLLOW DIRECTORY"},
        {"dlnk", 0, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "dlnk DIRECTORY without SYMLINK_FOLLOW"},
        {"dlnk", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, "dlnk DIRECTORY SYMLINK_FOLLOW"},
        {"dlnk/", 0, 0, FILE_RO, 0, "dlnk/ without SYMLINK_FOLLOW"},
        {"dlnk/inner", 0, 0, FILE_RO, 0, "dlnk/inner without SYMLINK_FOLLOW (link in the middle)"},
        {"dangling", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, FILE_RO, 0, "dangling SYMLINK_FOLLOW"},
        {"dangling", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, file_rw, 0, "dangling CREAT|EXCL"},
        {"f/", 0, 0, FILE_RO, 0, "f/ (trailing slash on a file)"},
        {"f/", 0, __WASI_OFLAGS_CREAT, file_rw, 0, "f/ CREAT"},
        {"new/", 0, __WASI_OFLAGS_CREAT, file_rw, 0, "new/ CREAT (trailing slash, missing)"},
        {"d/", 0, 0, FILE_RO, 0, "d/"},
        {"d/.", 0, 0, FILE_RO, 0, "d/."},
        {"d/../f", 0, 0, FILE_RO, 0, "d/../f"},
        {"./f", 0, 0, FILE_RO, 0, "./f"},
        {"d//inner", 0, 0, FILE_RO, 0, "d//inner"},
        {"f/x", 0, 0, FILE_RO, 0, "f/x (file as a directory)"},
        {"nodir/x", 0, 0, FILE_RO, 0, "nodir/x"},
        {"missing", 0, 0, FILE_RO, 0, "missing"},
        {".", 0, 0, FILE_RO, 0, "."},
        {"", 0, 0, FILE_RO, 0, "\"\" (empty path)"},
        {"..", 0, 0, FILE_RO, 0, ".. (from wasicalls.d, a path_open'ed dir)"},
        {"d/../..", 0, 0, FILE_RO, 0, "d/../.."},
        {"../wasicalls.d/f", 0, 0, FILE_RO, 0, "../wasicalls.d/f (out and back in)"},
        {"/f", 0, 0, FILE_RO, 0, "/f (absolute)"},
        {"/", 0, 0, FILE_RO, 0, "/ (absolute)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(desc, sizeof desc, "path_open %s", cases[i].desc);
        e = op(W, cases[i].lf, cases[i].path, cases[i].of, cases[i].rights, cases[i].ff, &fd);
        if (e == 0) {
            __wasi_errno_t e2 = __wasi_fd_fdstat_get(fd, &fs);
            res(e, desc, "%s", e2 == 0 ? ftype(fs.fs_filetype) : en(e2));
            closefd(fd);
        } else {
            res(e, desc, NULL);
        }
    }
    out("  newdir after CREAT|DIRECTORY: %s", what("newdir", 0));
    out("  missing after dangling CREAT|EXCL: %s", what("missing", 0));
    out("  new after new/ CREAT: %s", what("new", 0));
    out("  f after f/ CREAT: %s", what("f", 0));
    (void)__wasi_path_remove_directory(W, "newdir");
    (void)__wasi_path_unlink_file(W, "new");
    (void)__wasi_path_unlink_file(W, "missing");

    /* an absolute path naming the preopen itself */
    char abs[512];
    snprintf(abs, sizeof abs, "%s/wasicalls.d/f", dirname_arg);
    e = op(W, 0, abs, 0, FILE_RO, 0, &fd);
    res(e, "path_open DIR/wasicalls.d/f (absolute, through the preopen's name)", NULL);
    if (e == 0) closefd(fd);
    e = op(P, 0, "..", 0, FILE_RO, 0, &fd);
    res(e, "path_open .. from the preopen", NULL);
    if (e == 0) closefd(fd);
    e = op(P, 0, "wasicalls.d/../../x", 0, FILE_RO, 0, &fd);
    res(e, "path_open wasicalls.d/../../x from the preopen", NULL);
    if (e == 0) closefd(fd);
    e = op(P, 0, "wasicalls.d/../wasicalls.d/f", 0, FILE_RO, 0, &fd);
    res(e, "path_open wasicalls.d/../wasicalls.d/f from the preopen", NULL);
    if (e == 0) closefd(fd);
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = '\0';
    res(op(W, 0, longname, __WASI_OFLAGS_CREAT, file_rw, 0, &fd), "path_open 299-byte name CREAT", NULL);

    /* TRUNC */
    e = op(W, 0, "f", __WASI_OFLAGS_TRUNC, file_rw, 0, &fd);
    res(e, "path_open f TRUNC", NULL);
    if (e == 0) closefd(fd);
    out("  f after TRUNC: %s", what("f", 0));
    mkfile("f", "hello world");
    e = op(W, 0, "f", __WASI_OFLAGS_TRUNC, FILE_RO, 0, &fd);
    res(e, "path_open f TRUNC read-only", NULL);
    if (e == 0) closefd(fd);
    out("  f after TRUNC read-only: %s", what("f", 0));
    mkfile("f", "hello world");
}

static void t_fd_basics(void) {
    __wasi_fd_t fd, dfd;
    __wasi_errno_t e;
    char buf[64];
    __wasi_size_t n = 0;
    __wasi_filesize_t pos = 0;

    /* on a directory */
    res(op(W, 0, "d", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &dfd), "path_open d DIRECTORY (all rights)", NULL);
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    res(__wasi_fd_read(dfd, &iov, 1, &n), "fd_read on a directory", "%u", (unsigned)n);
    res(writes(dfd, "x", &n), "fd_write on a directory", "%u", (unsigned)n);
    res(__wasi_fd_seek(dfd, 0, __WASI_WHENCE_SET, &pos), "fd_seek on a directory 0 SET", "%llu", (unsigned long long)pos);
    res(__wasi_fd_seek(dfd, 0, __WASI_WHENCE_END, &pos), "fd_seek on a directory 0 END", NULL);
    res(__wasi_fd_tell(dfd, &pos), "fd_tell on a directory", "%llu", (unsigned long long)pos);
    iov.buf_len = sizeof buf;
    res(__wasi_fd_pread(dfd, &iov, 1, 0, &n), "fd_pread on a directory", "%u", (unsigned)n);
    closefd(dfd);

    /* read-only file */
    res(op(W, 0, "f", 0, FILE_RO, 0, &fd), "path_open f read-only", NULL);
    res(writes(fd, "x", &n), "fd_write to a read-only fd", "%u", (unsigned)n);
    __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
    res(__wasi_fd_pwrite(fd, &ciov, 1, 0, &n), "fd_pwrite to a read-only fd", "%u", (unsigned)n);
    char a[5], b[100];
    __wasi_iovec_t two[2] = {{(uint8_t *)a, sizeof a}, {(uint8_t *)b, sizeof b}};
    e = __wasi_fd_read(fd, two, 2, &n);
    /* A short read is allowed: wasmtime fills only the first iovec. */
    res(e, "fd_read f into 5+100 bytes", "%s", n == 11 ? "11 (both iovecs)" : n == 5 ? "5 (first iovec only)" : "?");
    __wasi_size_t total = n;
    while (e == 0 && n > 0 && total < 100) {
        e = __wasi_fd_read(fd, two, 2, &n);
        total += n;
    }
    res(e, "  fd_read until it returns 0", "total %u", (unsigned)total);
    res(__wasi_fd_read(fd, two, 2, &n), "fd_read f at EOF", "%u", (unsigned)n);
    res(__wasi_fd_read(fd, two, 0, &n), "fd_read f with no iovecs", "%u", (unsigned)n);
    res(__wasi_fd_tell(fd, &pos), "fd_tell", "%llu", (unsigned long long)pos);
    res(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), "fd_seek 0 SET", "%llu", (unsigned long long)pos);
    res(__wasi_fd_seek(fd, -3, __WASI_WHENCE_END, &pos), "fd_seek -3 END", "%llu", (unsigned long long)pos);
    res(__wasi_fd_seek(fd, 2, __WASI_WHENCE_CUR, &pos), "fd_seek 2 CUR", "%llu", (unsigned long long)pos);
    res(__wasi_fd_seek(fd, -100, __WASI_WHENCE_CUR, &pos), "fd_seek -100 CUR (negative result)", "%llu",
        (unsigned long long)pos);
    res(__wasi_fd_seek(fd, -1, __WASI_WHENCE_SET, &pos), "fd_seek -1 SET", "%llu", (unsigned long long)pos);
    res(__wasi_fd_tell(fd, &pos), "fd_tell (unchanged)", "%llu", (unsigned long long)pos);
    res(__wasi_fd_seek(fd, 100, __WASI_WHENCE_SET, &pos), "fd_seek 100 SET (past the end)", "%llu",
        (unsigned long long)pos);
    iov.buf_len = sizeof buf;
    res(__wasi_fd_read(fd, &iov, 1, &n), "fd_read past the end", "%u", (unsigned)n);
    iov.buf_len = 5;
    res(__wasi_fd_pread(fd, &iov, 1, 6, &n), "fd_pread 5@6", "%u %s", (unsigned)n, quote(buf, n));
    res(__wasi_fd_tell(fd, &pos), "fd_tell (pread leaves it)", "%llu", (unsigned long long)pos);
    iov.buf_len = sizeof buf;
    res(__wasi_fd_pread(fd, &iov, 1, 1000, &n), "fd_pread @1000 (past the end)", "%u", (unsigned)n);
    closefd(fd);

    /* read-write file */
    res(op(W, 0, "f", 0, file_rw, 0, &fd), "path_open f read-write", NULL);
    ciov.buf = (const uint8_t *)"WORLD";
    ciov.buf_len = 5;
    res(__wasi_fd_pwrite(fd, &ciov, 1, 6, &n), "fd_pwrite \"WORLD\"@6", "%u", (unsigned)n);
    res(__wasi_fd_tell(fd, &pos), "fd_tell (pwrite leaves it)", "%llu", (unsigned long long)pos);
    ciov.buf_len = 0;
    res(__wasi_fd_write(fd, &ciov, 1, &n), "fd_write 0 bytes", "%u", (unsigned)n);
    closefd(fd);
    out("  f: %s", content("f"));

    /* stdio */
    res(__wasi_fd_seek(1000, 0, __WASI_WHENCE_CUR, &pos), "fd_seek 1000 (not open)", NULL);
    res(writes(1000, "x", &n), "fd_write 1000 (not open)", NULL);
}

static void t_fdstat(void) {
    __wasi_fdstat_t fs;
    __wasi_errno_t e;
    __wasi_fd_t fd;
    char desc[96];
    for (__wasi_fd_t i = 0; i < 3; i++) {
        snprintf(desc, sizeof desc, "fd_fdstat_get %u (stdio)", i);
        e = __wasi_fd_fdstat_get(i, &fs);
        res(e, desc, "%s flags=0x%x", ftype(fs.fs_filetype), (unsigned)fs.fs_flags);
    }
    e = __wasi_fd_fdstat_get(P, &fs);
    res(e, "fd_fdstat_get preopen", "%s flags=0x%x base=0x%llx inheriting=0x%llx", ftype(fs.fs_filetype),
        (unsigned)fs.fs_flags, (unsigned long long)fs.fs_rights_base, (unsigned long long)fs.fs_rights_inheriting);
    e = __wasi_fd_fdstat_get(W, &fs);
    res(e, "fd_fdstat_get wasicalls.d (path_open'ed with all rights)", "%s flags=0x%x base=0x%llx inheriting=0x%llx",
        ftype(fs.fs_filetype), (unsigned)fs.fs_flags, (unsigned long long)fs.fs_rights_base,
        (unsigned long long)fs.fs_rights_inheriting);
    if (op(W, 0, "f", 0, FILE_RO, 0, &fd) == 0) {
        e = __wasi_fd_fdstat_get(fd, &fs);
        res(e, "fd_fdstat_get f read-only", "%s flags=0x%x FD_READ=%s FD_WRITE=%s", ftype(fs.fs_filetype),
            (unsigned)fs.fs_flags, fs.fs_rights_base & __WASI_RIGHTS_FD_READ ? "yes" : "no",
            fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE ? "yes" : "no");
        closefd(fd);
    }
    if (op(W, 0, "f", 0, file_rw, __WASI_FDFLAGS_APPEND, &fd) == 0) {
        e = __wasi_fd_fdstat_get(fd, &fs);
        res(e, "fd_fdstat_get f APPEND read-write", "%s flags=0x%x FD_READ=%s FD_WRITE=%s", ftype(fs.fs_filetype),
            (unsigned)fs.fs_flags, fs.fs_rights_base & __WASI_RIGHTS_FD_READ ? "yes" : "no",
            fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE ? "yes" : "no");
        closefd(fd);
    }
    res(__wasi_fd_fdstat_get(1000, &fs), "fd_fdstat_get 1000 (not open)", NULL);

    /* set_flags */
    __wasi_size_t n;
    __wasi_filesize_t pos;
    if (op(W, 0, "f", 0, file_rw, 0, &fd) != 0) return;
    res(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND), "fd_fdstat_set_flags APPEND", NULL);
    e = __wasi_fd_fdstat_get(fd, &fs);
    res(e, "  fd_fdstat_get", "flags=0x%x", (unsigned)fs.fs_flags);
    res(writes(fd, "!", &n), "  fd_write \"!\" at offset 0", "%u", (unsigned)n);
    res(__wasi_fd_tell(fd, &pos), "  fd_tell", "%llu", (unsigned long long)pos);
    __wasi_ciovec_t ciov = {(const uint8_t *)"<", 1};
    res(__wasi_fd_pwrite(fd, &ciov, 1, 0, &n), "  fd_pwrite \"<\"@0 with APPEND", "%u", (unsigned)n);
    res(__wasi_fd_tell(fd, &pos), "  fd_tell", "%llu", (unsigned long long)pos);
    out("  f: %s", content("f"));
    res(__wasi_fd_fdstat_set_flags(fd, 0), "fd_fdstat_set_flags 0", NULL);
    e = __wasi_fd_fdstat_get(fd, &fs);
    res(e, "  fd_fdstat_get", "flags=0x%x", (unsigned)fs.fs_flags);
    res(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), "  fd_seek 0 SET", "%llu", (unsigned long long)pos);
    res(writes(fd, "H", &n), "  fd_write \"H\"", "%u", (unsigned)n);
    out("  f: %s", content("f"));
    res(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), "fd_fdstat_set_flags NONBLOCK", NULL);
    e = __wasi_fd_fdstat_get(fd, &fs);
    res(e, "  fd_fdstat_get", "flags=0x%x", (unsigned)fs.fs_flags);
    res(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_SYNC), "fd_fdstat_set_flags SYNC", NULL);
    res(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_DSYNC), "fd_fdstat_set_flags DSYNC", NULL);
    (void)__wasi_fd_fdstat_set_flags(fd, 0);
    closefd(fd);
    res(__wasi_fd_fdstat_set_flags(W, __WASI_FDFLAGS_APPEND), "fd_fdstat_set_flags APPEND on a directory", NULL);
    (void)__wasi_fd_fdstat_set_flags(W, 0);
    mkfile("f", "hello world");

    /* set_rights */
    if (op(W, 0, "f", 0, file_rw, 0, &fd) != 0) return;
    res(__wasi_fd_fdstat_set_rights(fd, FILE_RO, 0), "fd_fdstat_set_rights to read-only", NULL);
    e = __wasi_fd_fdstat_get(fd, &fs);
    res(e, "  fd_fdstat_get", "FD_READ=%s FD_WRITE=%s", fs.fs_rights_base & __WASI_RIGHTS_FD_READ ? "yes" : "no",
        fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE ? "yes" : "no");
    res(writes(fd, "X", &n), "  fd_write after dropping FD_WRITE", "%u", (unsigned)n);
    res(__wasi_fd_fdstat_set_rights(fd, file_rw, 0), "fd_fdstat_set_rights back to read-write", NULL);
    closefd(fd);
    out("  f: %s", content("f"));
    mkfile("f", "hello world");
}

static void t_filestat(void) {
    __wasi_filestat_t st;
    __wasi_fd_t fd;
    __wasi_errno_t e;
    if (op(W, 0, "f", 0, file_rw, 0, &fd) != 0) return;
    res(__wasi_fd_filestat_get(fd, &st), "fd_filestat_get f", "%s", describe(0, &st));
    res(__wasi_path_link(W, 0, "f", W, "f.hard"), "path_link f -> f.hard", NULL);
    res(__wasi_fd_filestat_get(fd, &st), "fd_filestat_get f", "%s", describe(0, &st));
    out("path_filestat_get f.hard: %s", what("f.hard", 0));
    e = __wasi_fd_filestat_get(W, &st);
    res(e, "fd_filestat_get wasicalls.d", "%s", ftype(st.filetype));
    out("path_filestat_get lnk: %s", what("lnk", 0));
    out("path_filestat_get lnk SYMLINK_FOLLOW: %s", what("lnk", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW));
    out("path_filestat_get dangling: %s", what("dangling", 0));
    out("path_filestat_get dangling SYMLINK_FOLLOW: %s", what("dangling", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW));
    out("path_filestat_get dlnk/ (trailing slash): %s", what("dlnk/", 0));
    out("path_filestat_get f/ (trailing slash): %s", what("f/", 0));
    out("path_filestat_get \"\": %s", what("", 0));
    out("path_filestat_get .: %s", what(".", 0));
    e = __wasi_fd_filestat_get(1, &st);
    res(e, "fd_filestat_get 1 (stdout)", "%s", ftype(st.filetype));
    closefd(fd);

    /* set_size */
    __wasi_size_t n;
    __wasi_filesize_t pos;
    char buf[32];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    if (op(W, 0, "sz", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, file_rw, 0, &fd) != 0) return;
    (void)writes(fd, "abcdef", &n);
    res(__wasi_fd_filestat_set_size(fd, 10), "fd_filestat_set_size 6 -> 10", NULL);
    res(__wasi_fd_filestat_get(fd, &st), "  fd_filestat_get", "%s", describe(0, &st));
    res(__wasi_fd_pread(fd, &iov, 1, 0, &n), "  fd_pread", "%u %s", (unsigned)n, quote(buf, n));
    res(__wasi_fd_filestat_set_size(fd, 3), "fd_filestat_set_size 10 -> 3", NULL);
    res(__wasi_fd_pread(fd, &iov, 1, 0, &n), "  fd_pread", "%u %s", (unsigned)n, quote(buf, n));
    res(__wasi_fd_tell(fd, &pos), "  fd_tell (unchanged)", "%llu", (unsigned long long)pos);
    closefd(fd);
    if (op(W, 0, "sz", 0, FILE_RO, 0, &fd) == 0) {
        res(__wasi_fd_filestat_set_size(fd, 1), "fd_filestat_set_size on a read-only fd", NULL);
        closefd(fd);
    }
    res(__wasi_fd_filestat_set_size(W, 1), "fd_filestat_set_size on a directory", NULL);
    out("  sz: %s", content("sz"));

    /* set_times */
    const uint64_t A = 1000000000123456789ull, M = 1100000000987654321ull, M2 = 1200000000000000000ull,
                   M3 = 1300000000000000000ull;
    if (op(W, 0, "f", 0, file_rw, 0, &fd) != 0) return;
    e = __wasi_fd_filestat_set_times(fd, A, M, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM);
    res(e, "fd_filestat_set_times ATIM|MTIM (1000000000.123456789 s, 1100000000.987654321 s)", NULL);
    if (__wasi_fd_filestat_get(fd, &st) == 0)
        out("  atim=%llu mtim=%llu", (unsigned long long)st.atim, (unsigned long long)st.mtim);
    e = __wasi_fd_filestat_set_times(fd, 0, M2, __WASI_FSTFLAGS_MTIM);
    res(e, "fd_filestat_set_times MTIM only (1200000000 s)", NULL);
    if (__wasi_fd_filestat_get(fd, &st) == 0)
        out("  atim=%llu mtim=%llu", (unsigned long long)st.atim, (unsigned long long)st.mtim);
    uint64_t before = now(__WASI_CLOCKID_REALTIME);
    e = __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW);
    uint64_t after = now(__WASI_CLOCKID_REALTIME);
    res(e, "fd_filestat_set_times ATIM_NOW|MTIM_NOW", NULL);
    if (__wasi_fd_filestat_get(fd, &st) == 0) {
        const uint64_t s = 1000000000ull;
        out("  atim, mtim within the call's second: %s",
            okif(st.atim + s >= before && st.atim <= after + s && st.mtim + s >= before && st.mtim <= after + s));
    }
    res(__wasi_fd_filestat_set_times(fd, A, M, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
        "fd_filestat_set_times ATIM|ATIM_NOW", NULL);
    res(__wasi_fd_filestat_set_times(fd, A, M, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW),
        "fd_filestat_set_times MTIM|MTIM_NOW", NULL);
    res(__wasi_fd_filestat_set_times(fd, A, M, 0), "fd_filestat_set_times 0 (nothing)", NULL);
    closefd(fd);
    if (op(W, 0, "f", 0, FILE_RO, 0, &fd) == 0) {
        res(__wasi_fd_filestat_set_times(fd, A, M, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
            "fd_filestat_set_times on a read-only fd", NULL);
        closefd(fd);
    }
    res(__wasi_fd_filestat_set_times(W, A, M, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
        "fd_filestat_set_times on a directory", NULL);

    res(__wasi_path_filestat_set_times(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "lnk", M2, M2,
                                       __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
        "path_filestat_set_times lnk SYMLINK_FOLLOW (1200000000 s)", NULL);
    if (pstat(W, 0, "f", &st) == 0) out("  f mtim=%llu", (unsigned long long)st.mtim);
    res(__wasi_path_filestat_set_times(W, 0, "lnk", M3, M3, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
        "path_filestat_set_times lnk without SYMLINK_FOLLOW (1300000000 s)", NULL);
    if (pstat(W, 0, "f", &st) == 0) out("  f mtim=%llu", (unsigned long long)st.mtim);
    if (pstat(W, 0, "lnk", &st) == 0) out("  lnk mtim=%llu", (unsigned long long)st.mtim);
    res(__wasi_path_filestat_set_times(W, 0, "dangling", M3, M3, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
        "path_filestat_set_times dangling without SYMLINK_FOLLOW", NULL);
    res(__wasi_path_filestat_set_times(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "dangling", M3, M3,
                                       __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
        "path_filestat_set_times dangling SYMLINK_FOLLOW", NULL);
    /* MTIM|MTIM_NOW: see --one (node:wasi leaves the fd locked after it). */
    res(__wasi_path_filestat_set_times(W, 0, "missing", M3, M3, __WASI_FSTFLAGS_MTIM),
        "path_filestat_set_times missing", NULL);
    res(__wasi_path_filestat_set_times(W, 0, "d", M3, M3, __WASI_FSTFLAGS_MTIM), "path_filestat_set_times d", NULL);
    if (pstat(W, 0, "d", &st) == 0) out("  d mtim=%llu", (unsigned long long)st.mtim);
}

struct entry {
    char name[64];
    unsigned type;
};

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Reads DIRFD with a buffer of BUFLEN bytes from COOKIE, resuming from the cookie
 * of the last whole entry; prints the sorted names and types. */
static void readdir_all(__wasi_fd_t dirfd, size_t buflen, __wasi_dircookie_t cookie, const char *desc) {
    static struct entry entries[64];
    uint8_t buf[4096];
    size_t count = 0;
    int calls = 0, partial = 0, truncated_header = 0;
    __wasi_errno_t e = 0;
    __wasi_dircookie_t cookies[64];
    for (;;) {
        __wasi_size_t used = 0;
        e = __wasi_fd_readdir(dirfd, buf, (__wasi_size_t)buflen, cookie, &used);
        calls++;
        if (e != 0 || calls > 200) break;
        size_t off = 0;
        int whole = 0;
        while (off + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + off, sizeof d);
            if (off + sizeof d + d.d_namlen > used) {
                partial = 1;
                break;
            }
            if (count < 64) {
                size_t len = d.d_namlen < 63 ? d.d_namlen : 63;
                memcpy(entries[count].name, buf + off + sizeof d, len);
                entries[count].name[len] = '\0';
                entries[count].type = d.d_type;
                cookies[count] = d.d_next;
                count++;
            }
            cookie = d.d_next;
            off += sizeof d + d.d_namlen;
            whole++;
        }
        if (off < used && off + sizeof(__wasi_dirent_t) > used) truncated_header = 1;
        if (used < buflen) break;
        if (whole == 0 && buflen < 64) break; /* cannot make progress */
    }
    char list[1536] = "";
    qsort(entries, count, sizeof entries[0], entry_cmp);
    for (size_t i = 0; i < count; i++) {
        char one[96];
        snprintf(one, sizeof one, "%s%s:%s", i ? " " : "", entries[i].name, ftype(entries[i].type));
        strncat(list, one, sizeof list - strlen(list) - 1);
    }
    if (e != 0) res(e, desc, NULL);
    else out("%s: SUCCESS [%s]%s", desc, list, partial || truncated_header ? " (an entry was cut)" : "");
    (void)cookies;
}

static void t_readdir(void) {
    __wasi_fd_t rd, fd;
    __wasi_errno_t e;
    res(__wasi_path_create_directory(W, "rd"), "path_create_directory rd", NULL);
    mkfile("rd/file1", "1");
    mkfile("rd/file2", "22");
    mkfile("rd/file3", "333");
    (void)__wasi_path_create_directory(W, "rd/dir_1");
    (void)__wasi_path_symlink("file1", W, "rd/sym_1");
    if (op(W, 0, "rd", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &rd) != 0) return;
    readdir_all(rd, 4096, 0, "fd_readdir rd buf=4096");
    readdir_all(rd, 64, 0, "fd_readdir rd buf=64, resumed from cookies");
    readdir_all(rd, 30, 0, "fd_readdir rd buf=30, resumed from cookies");

    /* one call with a big buffer: the cookie after the 2nd entry, and the end cookie */
    uint8_t buf[4096];
    __wasi_size_t used = 0;
    e = __wasi_fd_readdir(rd, buf, sizeof buf, 0, &used);
    size_t off = 0, count = 0;
    __wasi_dircookie_t second = 0, last = 0;
    while (e == 0 && off + sizeof(__wasi_dirent_t) <= used) {
        __wasi_dirent_t d;
        memcpy(&d, buf + off, sizeof d);
        count++;
        if (count == 2) second = d.d_next;
        last = d.d_next;
        off += sizeof d + d.d_namlen;
    }
    __wasi_size_t used2 = 0;
    e = __wasi_fd_readdir(rd, buf, sizeof buf, second, &used2);
    size_t count2 = 0;
    off = 0;
    while (e == 0 && off + sizeof(__wasi_dirent_t) <= used2) {
        __wasi_dirent_t d;
        memcpy(&d, buf + off, sizeof d);
        count2++;
        off += sizeof d + d.d_namlen;
    }
    res(e, "fd_readdir from the cookie after the 2nd entry", "%s", okif(count >= 2 && count2 == count - 2));
    res(__wasi_fd_readdir(rd, buf, sizeof buf, last, &used2), "fd_readdir from the last entry's d_next", "used=%u",
        (unsigned)used2);
    res(__wasi_fd_readdir(rd, buf, 10, 0, &used2), "fd_readdir buf=10 (less than a header)", "used=%u", (unsigned)used2);
    res(__wasi_fd_readdir(rd, buf, 0, 0, &used2), "fd_readdir buf=0", "used=%u", (unsigned)used2);
    closefd(rd);
    if (op(W, 0, "f", 0, FILE_RO, 0, &fd) == 0) {
        res(__wasi_fd_readdir(fd, buf, sizeof buf, 0, &used2), "fd_readdir on a file", "used=%u", (unsigned)used2);
        closefd(fd);
    }
    if (op(W, 0, "e", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &fd) == 0) {
        readdir_all(fd, 4096, 0, "fd_readdir e (empty)");
        closefd(fd);
    }
}

static void t_fd_table(void) {
    __wasi_fd_t a, b, c;
    __wasi_fdstat_t fs;
    __wasi_errno_t e;
    if (op(W, 0, "f", 0, FILE_RO, 0, &a) != 0 || op(W, 0, "d", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &b) != 0)
        return;
    res(__wasi_fd_renumber(a, b), "fd_renumber file -> open dir fd", NULL);
    res(__wasi_fd_fdstat_get(a, &fs), "  fd_fdstat_get old fd", "%s", ftype(fs.fs_filetype));
    res(__wasi_fd_fdstat_get(b, &fs), "  fd_fdstat_get new fd", "%s", ftype(fs.fs_filetype));
    res(__wasi_fd_renumber(a, b), "fd_renumber closed fd -> open fd", NULL);
    res(__wasi_fd_renumber(b, 1000), "fd_renumber open fd -> 1000 (not open)", NULL);
    res(__wasi_fd_renumber(b, b), "fd_renumber fd -> itself", NULL);
    res(__wasi_fd_fdstat_get(b, &fs), "  fd_fdstat_get", "%s", ftype(fs.fs_filetype));
    if (SPARE != 0 && op(W, 0, "f", 0, FILE_RO, 0, &c) == 0) {
        __wasi_prestat_t ps;
        res(__wasi_fd_renumber(c, SPARE), "fd_renumber file -> the other preopen", NULL);
        res(__wasi_fd_prestat_get(SPARE, &ps), "  fd_prestat_get", "tag=%u", ps.tag);
        res(__wasi_fd_fdstat_get(SPARE, &fs), "  fd_fdstat_get", "%s", ftype(fs.fs_filetype));
        res(__wasi_fd_close(SPARE), "fd_close it", NULL);
        res(__wasi_fd_prestat_get(SPARE, &ps), "  fd_prestat_get", "tag=%u", ps.tag);
    }
    res(__wasi_fd_close(b), "fd_close", NULL);
    res(__wasi_fd_close(b), "fd_close again", NULL);
    res(__wasi_fd_close(1000), "fd_close 1000 (not open)", NULL);
    /* a new fd takes the lowest free number? print only whether it reused b */
    e = op(W, 0, "f", 0, FILE_RO, 0, &a);
    res(e, "path_open after closing: reuses the freed number", "%s", okif(a == b));
    if (e == 0) closefd(a);
}

static void t_misc_fd(void) {
    __wasi_fd_t fd;
    __wasi_filestat_t st;
    if (op(W, 0, "f", 0, file_rw, 0, &fd) != 0) return;
    int bad = 0;
    for (int adv = 0; adv <= 5; adv++) bad |= __wasi_fd_advise(fd, 0, 0, (__wasi_advice_t)adv) != 0;
    out("fd_advise NORMAL..NOREUSE: %s", bad ? "not all SUCCESS" : "SUCCESS");
    res(__wasi_fd_advise(W, 0, 0, __WASI_ADVICE_NORMAL), "fd_advise on a directory", NULL);
    res(__wasi_fd_sync(fd), "fd_sync file", NULL);
    res(__wasi_fd_datasync(fd), "fd_datasync file", NULL);
    res(__wasi_fd_sync(W), "fd_sync directory", NULL);
    res(__wasi_fd_datasync(W), "fd_datasync directory", NULL);
    closefd(fd);
    if (op(W, 0, "f", 0, FILE_RO, 0, &fd) == 0) {
        res(__wasi_fd_sync(fd), "fd_sync read-only file", NULL);
        res(__wasi_fd_datasync(fd), "fd_datasync read-only file", NULL);
        res(__wasi_fd_allocate(fd, 0, 100), "fd_allocate read-only file", NULL);
        closefd(fd);
    }
    if (op(W, 0, "al", __WASI_OFLAGS_CREAT, file_rw, 0, &fd) == 0) {
        res(__wasi_fd_allocate(fd, 0, 100), "fd_allocate 0+100 on an empty file", NULL);
        res(__wasi_fd_filestat_get(fd, &st), "  fd_filestat_get", "%s", describe(0, &st));
        res(__wasi_fd_allocate(fd, 10, 5), "fd_allocate 10+5", NULL);
        res(__wasi_fd_filestat_get(fd, &st), "  fd_filestat_get", "%s", describe(0, &st));
        res(__wasi_fd_allocate(fd, 0, 0), "fd_allocate 0+0", NULL);
        closefd(fd);
    }
    res(__wasi_fd_allocate(W, 0, 10), "fd_allocate on a directory", NULL);
    __wasi_fd_t s;
    res(__wasi_sock_accept(W, 0, &s), "sock_accept on a directory", NULL);
    res(__wasi_sock_shutdown(W, __WASI_SDFLAGS_WR), "sock_shutdown on a directory", NULL);
    char buf[8];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    __wasi_roflags_t rof;
    if (op(W, 0, "f", 0, FILE_RO, 0, &fd) == 0) {
        res(__wasi_sock_recv(fd, &iov, 1, 0, &n, &rof), "sock_recv on a file", NULL);
        __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
        res(__wasi_sock_send(fd, &ciov, 1, 0, &n), "sock_send on a file", NULL);
        closefd(fd);
    }
}

static void t_links(void) {
    __wasi_fd_t fd;
    res(__wasi_path_link(W, 0, "f", W, "f.hard"), "path_link f -> f.hard (exists)", NULL);
    res(__wasi_path_link(W, 0, "d", W, "d.hard"), "path_link d -> d.hard (a directory)", NULL);
    res(__wasi_path_link(W, 0, "missing", W, "m.hard"), "path_link missing -> m.hard", NULL);
    res(__wasi_path_link(W, 0, "f", W, "nodir/f"), "path_link f -> nodir/f", NULL);
    res(__wasi_path_link(W, 0, "f/", W, "f.slash"), "path_link f/ -> f.slash", NULL);
    res(__wasi_path_link(W, 0, "lnk", W, "lnk.hard"), "path_link lnk -> lnk.hard (no SYMLINK_FOLLOW)", NULL);
    out("  lnk.hard: %s", what("lnk.hard", 0));
    res(__wasi_path_link(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "lnk", W, "lnk.fhard"),
        "path_link lnk -> lnk.fhard SYMLINK_FOLLOW", NULL);
    out("  lnk.fhard: %s", what("lnk.fhard", 0));
    res(__wasi_path_link(W, 0, "f", W, "../f.out"), "path_link f -> ../f.out (out of the fd)", NULL);
    out("  f: %s", what("f", 0));

    /* rename */
    mkfile("r1", "one");
    mkfile("r2", "two");
    res(__wasi_path_rename(W, "r1", W, "r2"), "path_rename file r1 over file r2", NULL);
    out("  r1: %s, r2: %s", what("r1", 0), content("r2"));
    (void)__wasi_path_create_directory(W, "ra");
    mkfile("ra/x", "x");
    (void)__wasi_path_create_directory(W, "rb");
    (void)__wasi_path_create_directory(W, "rc");
    res(__wasi_path_rename(W, "ra", W, "rb"), "path_rename dir ra over empty dir rb", NULL);
    out("  ra: %s, rb/x: %s", what("ra", 0), content("rb/x"));
    res(__wasi_path_rename(W, "rc", W, "rb"), "path_rename dir rc over non-empty dir rb", NULL);
    res(__wasi_path_rename(W, "rb", W, "rb/sub"), "path_rename dir rb into itself (rb/sub)", NULL);
    res(__wasi_path_rename(W, "r2", W, "rc"), "path_rename file over a dir", NULL);
    res(__wasi_path_rename(W, "rc", W, "r2"), "path_rename dir over a file", NULL);
    res(__wasi_path_rename(W, "missing", W, "r3"), "path_rename missing", NULL);
    res(__wasi_path_rename(W, "r2", W, "r2"), "path_rename r2 over itself", NULL);
    res(__wasi_path_rename(W, "f", W, "f.hard"), "path_rename f over f.hard (hard links of one file)", NULL);
    out("  f: %s, f.hard: %s", what("f", 0), what("f.hard", 0));
    res(__wasi_path_rename(W, "r2/", W, "r4"), "path_rename r2/ (trailing slash on a missing file)", NULL);
    res(__wasi_path_rename(W, "rc/", W, "rd2/"), "path_rename rc/ -> rd2/ (dirs, trailing slashes)", NULL);
    res(__wasi_path_rename(W, "lnk", W, "lnk2"), "path_rename lnk -> lnk2 (a symlink)", NULL);
    out("  lnk2: %s", what("lnk2", 0));
    (void)__wasi_path_rename(W, "lnk2", W, "lnk");
    res(__wasi_path_rename(W, "rd2", W, "../rd2"), "path_rename rd2 -> ../rd2 (out of the fd)", NULL);
    if (op(W, 0, "d", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &fd) == 0) {
        res(__wasi_path_rename(W, "rd2", fd, "moved"), "path_rename rd2 -> d/moved (two dir fds)", NULL);
        out("  d/moved: %s", what("d/moved", 0));
        closefd(fd);
    }

    /* symlinks */
    res(__wasi_path_symlink("nowhere", W, "dang2"), "path_symlink nowhere -> dang2 (dangling)", NULL);
    res(__wasi_path_symlink("f", W, "dang2"), "path_symlink f -> dang2 (exists)", NULL);
    res(__wasi_path_symlink("/etc/passwd", W, "abs"), "path_symlink /etc/passwd -> abs (absolute target)", NULL);
    res(__wasi_path_symlink("../../x", W, "up"), "path_symlink ../../x -> up (escaping target)", NULL);
    res(__wasi_path_symlink("f", W, "sl/"), "path_symlink f -> sl/ (trailing slash)", NULL);
    res(__wasi_path_symlink("", W, "empty"), "path_symlink \"\" -> empty", NULL);
    __wasi_errno_t e = op(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs", 0, FILE_RO, 0, &fd);
    res(e, "path_open abs SYMLINK_FOLLOW", NULL);
    if (e == 0) closefd(fd);
    e = op(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up", 0, FILE_RO, 0, &fd);
    res(e, "path_open up SYMLINK_FOLLOW", NULL);
    if (e == 0) closefd(fd);
    char buf[64];
    __wasi_size_t n = 0;
    memset(buf, '#', sizeof buf);
    res(__wasi_path_readlink(W, "dang2", (uint8_t *)buf, sizeof buf, &n), "path_readlink dang2", "%u %s", (unsigned)n,
        quote(buf, n));
    memset(buf, '#', sizeof buf);
    res(__wasi_path_readlink(W, "dang2", (uint8_t *)buf, 3, &n), "path_readlink dang2 buf=3", "%u %s", (unsigned)n,
        quote(buf, 3));
    res(__wasi_path_readlink(W, "dang2", (uint8_t *)buf, 0, &n), "path_readlink dang2 buf=0", "%u", (unsigned)n);
    res(__wasi_path_readlink(W, "f", (uint8_t *)buf, sizeof buf, &n), "path_readlink f (not a link)", NULL);
    res(__wasi_path_readlink(W, "missing", (uint8_t *)buf, sizeof buf, &n), "path_readlink missing", NULL);
    res(__wasi_path_readlink(W, "abs", (uint8_t *)buf, sizeof buf, &n), "path_readlink abs", "%u %s", (unsigned)n,
        quote(buf, n));
    res(__wasi_path_readlink(W, "dlnk/", (uint8_t *)buf, sizeof buf, &n), "path_readlink dlnk/ (trailing slash)",
        "%u %s", (unsigned)n, quote(buf, n));
    (void)__wasi_path_unlink_file(W, "abs");
    (void)__wasi_path_unlink_file(W, "up");
    (void)__wasi_path_unlink_file(W, "empty");
    (void)__wasi_path_unlink_file(W, "sl");
}

static void t_remove(void) {
    __wasi_fd_t fd;
    res(__wasi_path_remove_directory(W, "d"), "path_remove_directory d (not empty)", NULL);
    res(__wasi_path_remove_directory(W, "f"), "path_remove_directory f (a file)", NULL);
    res(__wasi_path_remove_directory(W, "missing"), "path_remove_directory missing", NULL);
    res(__wasi_path_remove_directory(W, "dlnk"), "path_remove_directory dlnk (symlink to a dir)", NULL);
    if (op(W, 0, "e", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &fd) == 0) {
        res(__wasi_path_remove_directory(fd, "."), "path_remove_directory . (in the empty dir e)", NULL);
        res(__wasi_path_remove_directory(fd, ""), "path_remove_directory \"\" (in e)", NULL);
        closefd(fd);
    }
    out("  e: %s", what("e", 0));
    (void)__wasi_path_create_directory(W, "e");
    res(__wasi_path_remove_directory(W, "e/"), "path_remove_directory e/ (trailing slash)", NULL);
    (void)__wasi_path_create_directory(W, "e");
    res(__wasi_path_remove_directory(W, "e/."), "path_remove_directory e/.", NULL);
    (void)__wasi_path_remove_directory(W, "e");
    res(__wasi_path_unlink_file(W, "d"), "path_unlink_file d (a directory)", NULL);
    res(__wasi_path_unlink_file(W, "d/"), "path_unlink_file d/", NULL);
    res(__wasi_path_unlink_file(W, "missing"), "path_unlink_file missing", NULL);
    res(__wasi_path_unlink_file(W, "f.hard/"), "path_unlink_file f.hard/ (trailing slash on a file)", NULL);
    res(__wasi_path_unlink_file(W, "dlnk/"), "path_unlink_file dlnk/ (symlink to a dir, trailing slash)", NULL);
    res(__wasi_path_unlink_file(W, "dlnk"), "path_unlink_file dlnk (symlink to a dir)", NULL);
    out("  dlnk: %s, d: %s", what("dlnk", 0), what("d", 0));
    res(__wasi_path_unlink_file(W, "f.hard"), "path_unlink_file f.hard", NULL);
    out("  f: %s", what("f", 0));
    res(__wasi_path_unlink_file(W, "dangling"), "path_unlink_file dangling", NULL);
    res(__wasi_path_unlink_file(W, ".."), "path_unlink_file ..", NULL);
}

static const char *etype(unsigned t) {
    return t == 0 ? "CLOCK" : t == 1 ? "FD_READ" : t == 2 ? "FD_WRITE" : "?";
}

static void print_events(const char *desc, __wasi_errno_t e, const __wasi_event_t *ev, __wasi_size_t n,
                         const char *timing) {
    char list[512] = "";
    if (e == 0) {
        for (__wasi_size_t i = 0; i < n; i++) {
            char one[128];
            if (ev[i].type == __WASI_EVENTTYPE_CLOCK)
                snprintf(one, sizeof one, "%s{ud=%llu %s %s}", i ? " " : "", (unsigned long long)ev[i].userdata,
                         etype(ev[i].type), en(ev[i].error));
            else
                snprintf(one, sizeof one, "%s{ud=%llu %s %s nbytes=%llu flags=%u}", i ? " " : "",
                         (unsigned long long)ev[i].userdata, etype(ev[i].type), en(ev[i].error),
                         (unsigned long long)ev[i].fd_readwrite.nbytes, ev[i].fd_readwrite.flags);
            strncat(list, one, sizeof list - strlen(list) - 1);
        }
    }
    res(e, desc, "nevents=%u [%s] %s", (unsigned)n, list, timing);
}

static __wasi_subscription_t clocksub(uint64_t ud, __wasi_clockid_t id, uint64_t timeout, uint16_t flags) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = id;
    s.u.u.clock.timeout = timeout;
    s.u.u.clock.precision = 0;
    s.u.u.clock.flags = flags;
    return s;
}

static __wasi_subscription_t fdsub(uint64_t ud, uint8_t type, __wasi_fd_t fd) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = type;
    s.u.u.fd_read.file_descriptor = fd;
    return s;
}

static void t_poll(void) {
    const uint64_t ms = 1000000ull;
    __wasi_subscription_t subs[4];
    __wasi_event_t ev[4];
    __wasi_size_t n = 0;
    char timing[96];
    memset(ev, 0, sizeof ev);
    res(__wasi_poll_oneoff(subs, ev, 0, &n), "poll_oneoff 0 subscriptions", "nevents=%u", (unsigned)n);

    subs[0] = clocksub(11, __WASI_CLOCKID_MONOTONIC, 1 * ms, 0);
    uint64_t t0 = now(__WASI_CLOCKID_MONOTONIC);
    __wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 1, &n);
    uint64_t dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took >= 1 ms: %s", okif(dt >= 1 * ms));
    print_events("poll_oneoff MONOTONIC relative 1 ms", e, ev, n, timing);

    subs[0] = clocksub(21, __WASI_CLOCKID_MONOTONIC, 300 * ms, 0);
    subs[1] = clocksub(22, __WASI_CLOCKID_MONOTONIC, 5 * ms, 0);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    e = __wasi_poll_oneoff(subs, ev, 2, &n);
    dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took >= 5 ms: %s, < 250 ms: %s", okif(dt >= 5 * ms), okif(dt < 250 * ms));
    print_events("poll_oneoff two clocks 300 ms (ud=21) and 5 ms (ud=22)", e, ev, n, timing);

    subs[0] = clocksub(31, __WASI_CLOCKID_MONOTONIC, 0, 0);
    subs[1] = clocksub(32, __WASI_CLOCKID_MONOTONIC, 0, 0);
    e = __wasi_poll_oneoff(subs, ev, 2, &n);
    print_events("poll_oneoff two clocks of 0 ms", e, ev, n, "");

    __wasi_fd_t fd;
    mkfile("pf", "poll me");
    if (op(W, 0, "pf", 0, file_rw, 0, &fd) == 0) {
        subs[0] = clocksub(41, __WASI_CLOCKID_MONOTONIC, 2000 * ms, 0);
        subs[1] = fdsub(42, __WASI_EVENTTYPE_FD_READ, fd);
        t0 = now(__WASI_CLOCKID_MONOTONIC);
        e = __wasi_poll_oneoff(subs, ev, 2, &n);
        dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
        snprintf(timing, sizeof timing, "took < 500 ms: %s", okif(dt < 500 * ms));
        print_events("poll_oneoff clock 2 s (ud=41) + FD_READ on a file (ud=42)", e, ev, n, timing);

        subs[0] = fdsub(51, __WASI_EVENTTYPE_FD_WRITE, fd);
        e = __wasi_poll_oneoff(subs, ev, 1, &n);
        print_events("poll_oneoff FD_WRITE on a file (ud=51)", e, ev, n, "");
        closefd(fd);
    }
    subs[0] = clocksub(61, __WASI_CLOCKID_MONOTONIC, 2000 * ms, 0);
    subs[1] = fdsub(62, __WASI_EVENTTYPE_FD_READ, 1000);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    e = __wasi_poll_oneoff(subs, ev, 2, &n);
    dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took < 500 ms: %s", okif(dt < 500 * ms));
    print_events("poll_oneoff clock 2 s (ud=61) + FD_READ on fd 1000 (not open, ud=62)", e, ev, n, timing);

    uint64_t rt = now(__WASI_CLOCKID_REALTIME);
    subs[0] = clocksub(71, __WASI_CLOCKID_REALTIME, rt + 2 * ms, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    e = __wasi_poll_oneoff(subs, ev, 1, &n);
    dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took >= 1 ms: %s, < 250 ms: %s", okif(dt >= 1 * ms), okif(dt < 250 * ms));
    print_events("poll_oneoff REALTIME ABSTIME now+2 ms", e, ev, n, timing);

    /* MONOTONIC ABSTIME, each with a relative 300 ms clock as a guard: node:wasi
     * waits for an absolute monotonic time as if it were far in the future. */
    subs[0] = clocksub(81, __WASI_CLOCKID_MONOTONIC, now(__WASI_CLOCKID_MONOTONIC) + 2 * ms,
                       __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
    subs[1] = clocksub(82, __WASI_CLOCKID_MONOTONIC, 300 * ms, 0);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    e = __wasi_poll_oneoff(subs, ev, 2, &n);
    dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took >= 1 ms: %s, < 250 ms: %s", okif(dt >= 1 * ms), okif(dt < 250 * ms));
    print_events("poll_oneoff MONOTONIC ABSTIME now+2 ms (ud=81), guard 300 ms (ud=82)", e, ev, n, timing);

    subs[0] = clocksub(91, __WASI_CLOCKID_MONOTONIC, 1 * ms, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
    subs[1] = clocksub(92, __WASI_CLOCKID_MONOTONIC, 300 * ms, 0);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    e = __wasi_poll_oneoff(subs, ev, 2, &n);
    dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took < 250 ms: %s", okif(dt < 250 * ms));
    print_events("poll_oneoff MONOTONIC ABSTIME in the past (ud=91), guard 300 ms (ud=92)", e, ev, n, timing);

    subs[0] = clocksub(101, __WASI_CLOCKID_REALTIME, 2 * ms, 0);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    e = __wasi_poll_oneoff(subs, ev, 1, &n);
    dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    snprintf(timing, sizeof timing, "took >= 1 ms: %s", okif(dt >= 1 * ms));
    print_events("poll_oneoff REALTIME relative 2 ms", e, ev, n, timing);

    subs[0] = clocksub(111, __WASI_CLOCKID_PROCESS_CPUTIME_ID, 1 * ms, 0);
    e = __wasi_poll_oneoff(subs, ev, 1, &n);
    print_events("poll_oneoff PROCESS_CPUTIME_ID relative 1 ms", e, ev, n, "");
    subs[0] = clocksub(131, __WASI_CLOCKID_MONOTONIC, 0, 0);
    e = __wasi_poll_oneoff(subs, ev, 1, &n);
    print_events("poll_oneoff MONOTONIC relative 0", e, ev, n, "");
}

static void t_proc(void) {
    uint8_t a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    __wasi_errno_t e1 = __wasi_random_get(a, sizeof a);
    __wasi_errno_t e2 = __wasi_random_get(b, sizeof b);
    int nonzero = 0;
    for (size_t i = 0; i < sizeof a; i++) nonzero |= a[i] | b[i];
    res(e1, "random_get 32 bytes", NULL);
    res(e2, "random_get 32 bytes again", "non-zero: %s, different: %s", okif(nonzero),
        okif(memcmp(a, b, sizeof a) != 0));
    res(__wasi_random_get(a, 0), "random_get 0 bytes", NULL);
    res(__wasi_sched_yield(), "sched_yield", NULL);
    /* Signal 0 (none) and 22 (URG, ignored by default): node:wasi sends a real
     * signal to its own process, so nothing fatal is raised here. */
    out("proc_raise 0 (NONE): %s", en((unsigned)raw_proc_raise(0)));
    out("proc_raise 22 (URG): %s", en((unsigned)raw_proc_raise(22)));
}

static int cleanup_dir(__wasi_fd_t dir, const char *path, int depth) {
    /* removes everything under PATH (relative to DIR), then PATH */
    __wasi_fd_t fd;
    if (depth > 8) return 1;
    if (op(dir, 0, path, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &fd) != 0) return 1;
    uint8_t buf[8192];
    __wasi_size_t used = 0;
    char names[64][64];
    unsigned types[64];
    int count = 0;
    if (__wasi_fd_readdir(fd, buf, sizeof buf, 0, &used) == 0) {
        size_t off = 0;
        while (off + sizeof(__wasi_dirent_t) <= used && count < 64) {
            __wasi_dirent_t d;
            memcpy(&d, buf + off, sizeof d);
            if (off + sizeof d + d.d_namlen > used) break;
            size_t len = d.d_namlen < 63 ? d.d_namlen : 63;
            memcpy(names[count], buf + off + sizeof d, len);
            names[count][len] = '\0';
            types[count] = d.d_type;
            if (strcmp(names[count], ".") != 0 && strcmp(names[count], "..") != 0) count++;
            off += sizeof d + d.d_namlen;
        }
    }
    int bad = 0;
    for (int i = 0; i < count; i++) {
        if (types[i] == __WASI_FILETYPE_DIRECTORY) bad |= cleanup_dir(fd, names[i], depth + 1);
        else bad |= __wasi_path_unlink_file(fd, names[i]) != 0;
    }
    closefd(fd);
    bad |= __wasi_path_remove_directory(dir, path) != 0;
    return bad;
}

/* --one CASE: a call that ends or breaks the run on some runtime, so each runs in a
 * process of its own.  Most pass an argument outside its type's values (an unknown
 * enum value or flag bit): node:wasi answers INVAL (or NOSYS), wasmtime traps.
 * path_filestat_set_times with MTIM|MTIM_NOW: node:wasi answers INVAL but keeps the
 * directory fd locked, so the next call on that fd blocks forever, and node aborts
 * when it tears the WASI instance down.  proc_raise ABRT: node:wasi sends SIGABRT
 * to its own process. */
static const char *const BAD_CASES[] = {
    "clock_res_get-id-4", "clock_time_get-id-4", "fd_seek-whence-3", "fd_advise-6",
    "fd_fdstat_set_flags-0x20", "fd_filestat_set_times-0x10", "path_filestat_set_times-0x10",
    "path_filestat_set_times-MTIM|MTIM_NOW", "path_open-oflags-0x10", "path_open-lookupflags-0x2",
    "path_open-fdflags-0x20", "poll_oneoff-clock-id-4", "poll_oneoff-tag-3", "proc_raise-31",
    "proc_raise-ABRT",
};

static int bad_case(const char *name) {
    __wasi_errno_t e = 0;
    uint64_t t = 0;
    __wasi_filesize_t pos = 0;
    __wasi_fd_t fd = 0, fd2 = 0;
    int known = 0;
    for (size_t i = 0; i < sizeof BAD_CASES / sizeof BAD_CASES[0]; i++) {
        if (strcmp(name, "list") == 0) out("%s", BAD_CASES[i]);
        else known |= strcmp(name, BAD_CASES[i]) == 0;
    }
    if (strcmp(name, "list") == 0) return 0;
    if (!known) {
        out("unknown case %s", name);
        return 2;
    }
    /* a file to work on, unlinked at once (the fd stays usable) */
    if (strncmp(name, "fd_", 3) == 0) {
        e = op(P, 0, "wasicalls.bad", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, file_rw, 0, &fd);
        if (e == 0) e = __wasi_path_unlink_file(P, "wasicalls.bad");
        if (e != 0) {
            res(e, "setup wasicalls.bad", NULL);
            return 2;
        }
    }
    __wasi_subscription_t sub;
    __wasi_event_t ev;
    __wasi_size_t n = 0;
    if (strcmp(name, "clock_res_get-id-4") == 0) e = __wasi_clock_res_get(4, &t);
    else if (strcmp(name, "clock_time_get-id-4") == 0) e = __wasi_clock_time_get(4, 1, &t);
    else if (strcmp(name, "fd_seek-whence-3") == 0) e = __wasi_fd_seek(fd, 0, 3, &pos);
    else if (strcmp(name, "fd_advise-6") == 0) e = __wasi_fd_advise(fd, 0, 0, 6);
    else if (strcmp(name, "fd_fdstat_set_flags-0x20") == 0) e = __wasi_fd_fdstat_set_flags(fd, 0x20);
    else if (strcmp(name, "fd_filestat_set_times-0x10") == 0) e = __wasi_fd_filestat_set_times(fd, 0, 0, 0x10);
    else if (strcmp(name, "path_filestat_set_times-0x10") == 0)
        e = __wasi_path_filestat_set_times(P, 0, ".", 0, 0, 0x10);
    else if (strcmp(name, "path_filestat_set_times-MTIM|MTIM_NOW") == 0)
        e = __wasi_path_filestat_set_times(P, 0, ".", 0, 0, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW);
    else if (strcmp(name, "path_open-oflags-0x10") == 0) e = op(P, 0, ".", 0x10, FILE_RO, 0, &fd2);
    else if (strcmp(name, "path_open-lookupflags-0x2") == 0) e = op(P, 0x2, ".", 0, FILE_RO, 0, &fd2);
    else if (strcmp(name, "path_open-fdflags-0x20") == 0) e = op(P, 0, ".", 0, FILE_RO, 0x20, &fd2);
    else if (strcmp(name, "poll_oneoff-clock-id-4") == 0) {
        sub = clocksub(1, 4, 1000000, 0);
        e = __wasi_poll_oneoff(&sub, &ev, 1, &n);
        if (e == 0 && n == 1) e = ev.error;
    } else if (strcmp(name, "poll_oneoff-tag-3") == 0) {
        sub = clocksub(1, __WASI_CLOCKID_MONOTONIC, 1000000, 0);
        sub.u.tag = 3;
        e = __wasi_poll_oneoff(&sub, &ev, 1, &n);
        if (e == 0 && n == 1) e = ev.error;
    } else if (strcmp(name, "proc_raise-31") == 0) e = (__wasi_errno_t)raw_proc_raise(31);
    else if (strcmp(name, "proc_raise-ABRT") == 0) e = (__wasi_errno_t)raw_proc_raise(6);
    out("%s: %s", name, en(e));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: wasicalls DIR [EXIT [ARGS...]]\n");
        return 2;
    }
    file_rw = FILE_RO | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_SYNC |
              __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |
              __WASI_RIGHTS_FD_FILESTAT_SET_TIMES;
    dirname_arg = argv[1];
    if (argc > 3 && strcmp(argv[2], "--one") == 0) {
        for (__wasi_fd_t fd = 3; fd < 64 && P == 0; fd++) {
            __wasi_prestat_t ps;
            char name[512];
            if (__wasi_fd_prestat_get(fd, &ps) != 0) break;
            if (ps.u.dir.pr_name_len >= sizeof name) continue;
            if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) != 0) continue;
            name[ps.u.dir.pr_name_len] = '\0';
            if (strcmp(name, dirname_arg) == 0) P = fd;
        }
        if (P == 0) {
            out("no preopen named %s", dirname_arg);
            return 2;
        }
        __wasi_fdstat_t pfs;
        if (__wasi_fd_fdstat_get(P, &pfs) == 0) inheritable = pfs.fs_rights_inheriting;
        return bad_case(argv[3]);
    }
    unsigned exit_code = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;

    out("== args, environ");
    t_args();
    out("== clocks");
    t_clocks();
    out("== preopens");
    t_prestat();
    if (P == 0) {
        out("no preopen named %s", dirname_arg);
        fflush(stdout);
        return 2;
    }
    __wasi_fdstat_t pfs;
    if (__wasi_fd_fdstat_get(P, &pfs) == 0) inheritable = pfs.fs_rights_inheriting;
    __wasi_errno_t e = __wasi_path_create_directory(P, "wasicalls.d");
    res(e, "path_create_directory wasicalls.d", NULL);
    if (e != 0) {
        fflush(stdout);
        return 2;
    }
    e = op(P, 0, "wasicalls.d", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &W);
    res(e, "path_open wasicalls.d DIRECTORY", NULL);
    if (e != 0) return 2;

    out("== path_open");
    t_path_open();
    out("== fd_read, fd_write, fd_seek, fd_tell, fd_pread, fd_pwrite");
    t_fd_basics();
    out("== fd_fdstat_get, fd_fdstat_set_flags, fd_fdstat_set_rights");
    t_fdstat();
    out("== fd_filestat_get, fd_filestat_set_size, fd_filestat_set_times, path_filestat_*");
    t_filestat();
    out("== fd_readdir");
    t_readdir();
    out("== fd_renumber, fd_close");
    t_fd_table();
    out("== fd_advise, fd_sync, fd_datasync, fd_allocate, sock_*");
    t_misc_fd();
    out("== path_link, path_rename, path_symlink, path_readlink");
    t_links();
    out("== path_remove_directory, path_unlink_file");
    t_remove();
    out("== poll_oneoff");
    t_poll();
    out("== random_get, sched_yield, proc_raise");
    t_proc();

    closefd(W);
    int bad = cleanup_dir(P, "wasicalls.d", 0);
    out("cleanup: %s", bad ? "not ok" : "ok");
    out("proc_exit %u", exit_code);
    fflush(stdout);
    __wasi_proc_exit(exit_code);
}
