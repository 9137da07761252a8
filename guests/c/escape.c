/* escape MOUNT SECRET [HOSTLINKS [MARKER]]: tries every way out of a bind mount to a
 * host file placed next to it.  MOUNT is the mount's path inside the guest (e.g.
 * /mnt); SECRET is the file's name on the host, in the parent of the bind dir;
 * HOSTLINKS is a comma-separated list of symlinks that the host put in the bind dir
 * beforehand (e.g. pointing at the secret), "" for none; MARKER is a string in the
 * secret's content (default TOP-SECRET).
 *
 * Each attempt prints `attempt NAME: BLOCKED (ERRNO)` or `attempt NAME: OPENED
 * "<first 16 bytes>"` (a listing prints its sorted names instead of bytes); a step
 * that prepares an attempt (making a symlink, a link, a rename) prints an indented
 * line with its own result.  A rename that moves something out of the mount prints
 * `attempt NAME: MOVED`.  The program first checks that a file of its own in the
 * mount can be written and read back (`control: ok`).  It removes what it created.
 *
 * Exit status: 0 when no attempt read MARKER and nothing was moved out, 3 otherwise,
 * 2 on bad arguments or when the control fails. */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>
#include "errnames.h"

static const char *mount, *secret, *marker = "TOP-SECRET";
static int breaches;

/* A + B in a new string (never freed: the program is short-lived). */
static const char *path2(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *p = malloc(n);
    if (p == NULL) abort();
    snprintf(p, n, "%s%s", a, b);
    return p;
}

static const char *quote16(const char *buf, size_t n) {
    static char out[128];
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && i < 16; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '"' || c == '\\') o += (size_t)snprintf(out + o, 8, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f) out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* Reads up to 4 KiB from FD, prints OPENED with the first 16 bytes, notes the marker. */
static void opened_fd(const char *name, int fd) {
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
        printf("attempt %s: OPENED (read: %s)\n", name, en(errno));
        return;
    }
    buf[n] = '\0';
    if (memmem(buf, (size_t)n, marker, strlen(marker)) != NULL) breaches++;
    printf("attempt %s: OPENED %s\n", name, quote16(buf, (size_t)n));
}

/* open(PATH) read-only through libc and report. */
static void try_open(const char *name, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("attempt %s: BLOCKED (%s)\n", name, en(errno));
        return;
    }
    opened_fd(name, fd);
    close(fd);
}

static void step(const char *what, int rc) { printf("  %s: %s\n", what, rc == 0 ? "ok" : en(errno)); }

/* The WASI fd of the preopen named MOUNT, or -1. */
static int mount_preopen(void) {
    for (__wasi_fd_t fd = 3; fd < 256; fd++) {
        __wasi_prestat_t ps;
        char name[1024];
        if (__wasi_fd_prestat_get(fd, &ps) != 0) break;
        if (ps.u.dir.pr_name_len >= sizeof name) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) != 0) continue;
        name[ps.u.dir.pr_name_len] = '\0';
        if (strcmp(name, mount) == 0) return (int)fd;
    }
    return -1;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists a directory fd through fd_readdir; prints the sorted names. */
static void list_dirfd(const char *name, __wasi_fd_t dfd) {
    uint8_t buf[8192];
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_fd_readdir(dfd, buf, sizeof buf, 0, &used);
    if (e != 0) {
        printf("attempt %s: OPENED (fd_readdir: %s)\n", name, en(e));
        return;
    }
    char *names[128];
    size_t count = 0, off = 0;
    while (off + sizeof(__wasi_dirent_t) <= used && count < 128) {
        __wasi_dirent_t d;
        memcpy(&d, buf + off, sizeof d);
        if (off + sizeof d + d.d_namlen > used) break;
        names[count] = strndup((const char *)buf + off + sizeof d, d.d_namlen);
        count++;
        off += sizeof d + d.d_namlen;
    }
    qsort(names, count, sizeof names[0], cmp);
    printf("attempt %s: OPENED [", name);
    for (size_t i = 0; i < count; i++) {
        printf("%s%s", i ? " " : "", names[i]);
        if (strcmp(names[i], secret) == 0) breaches++; /* seeing the secret's name is a breach too */
        free(names[i]);
    }
    printf("]\n");
}

static void raw_open_file(const char *name, __wasi_fd_t dir, __wasi_lookupflags_t lf, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(dir, lf, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
    if (e != 0) {
        printf("attempt %s: BLOCKED (%s)\n", name, en(e));
        return;
    }
    opened_fd(name, (int)fd);
    (void)__wasi_fd_close(fd);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: escape MOUNT SECRET [HOSTLINKS [MARKER]]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    mount = argv[1];
    secret = argv[2];
    const char *hostlinks = argc > 3 ? argv[3] : "";
    if (argc > 4 && argv[4][0] != '\0') marker = argv[4];
    const char *m = mount;
    const char *up = path2("../", secret);

    /* control: a file of our own in the mount */
    const char *ctl = path2(m, "/escape-control.txt");
    int fd = open(ctl, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    char buf[64];
    ssize_t n = -1;
    if (fd >= 0) {
        n = write(fd, "inside", 6);
        close(fd);
        fd = open(ctl, O_RDONLY);
        n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        if (fd >= 0) close(fd);
    }
    unlink(ctl);
    if (n != 6 || memcmp(buf, "inside", 6) != 0) {
        printf("control: %s\n", en(errno));
        return 2;
    }
    printf("control: ok\n");

    /* paths with .. */
    try_open("dotdot", path2(m, path2("/", up)));
    try_open("dotdot2", path2(m, path2("/../", up)));
    char chain[1024] = "";
    for (int i = 0; i < 40; i++) strcat(chain, "../");
    try_open("chain", path2(m, path2("/", path2(chain, secret))));
    try_open("root-dotdot", path2("/../", secret));
    try_open("root-chain", path2("/", path2(chain, secret)));
    try_open("root", path2("/", secret));
    mkdir(path2(m, "/sub"), 0755);
    try_open("sub-dotdot", path2(m, path2("/sub/../", up)));
    try_open("dot-dotdot", path2(m, path2("/./", up)));
    step("chdir MOUNT", chdir(m));
    try_open("cwd-dotdot", up);
    try_open("cwd-chain", path2(chain, secret));
    step("chdir MOUNT/..", chdir(path2(m, "/..")));
    try_open("cwd-after-chdir-up", secret);
    chdir("/");

    /* symlinks made by the guest */
    step("symlink ../SECRET MOUNT/l1", symlink(up, path2(m, "/l1")));
    try_open("symlink-rel", path2(m, "/l1"));
    step("symlink /SECRET MOUNT/l2", symlink(path2("/", secret), path2(m, "/l2")));
    try_open("symlink-abs", path2(m, "/l2"));
    step("symlink /../SECRET MOUNT/l3", symlink(path2("/../", secret), path2(m, "/l3")));
    try_open("symlink-abs-dotdot", path2(m, "/l3"));
    step("symlink .. MOUNT/l4", symlink("..", path2(m, "/l4")));
    try_open("symlink-dir", path2(m, path2("/l4/", secret)));
    step("symlink /.. MOUNT/l5", symlink("/..", path2(m, "/l5")));
    try_open("symlink-dir-abs", path2(m, path2("/l5/", secret)));
    step("symlink sub/../../SECRET MOUNT/l6", symlink(path2("sub/../", up), path2(m, "/l6")));
    try_open("symlink-rel-via-sub", path2(m, "/l6"));
    step("symlink l7b MOUNT/l7a, l7b -> ../SECRET", symlink("l7b", path2(m, "/l7a")) | symlink(up, path2(m, "/l7b")));
    try_open("symlink-chain", path2(m, "/l7a"));

    /* symlinks made by the host */
    char links[1024];
    snprintf(links, sizeof links, "%s", hostlinks);
    for (char *tok = strtok(links, ","); tok != NULL; tok = strtok(NULL, ",")) {
        char name[300];
        snprintf(name, sizeof name, "host-symlink %s", tok);
        try_open(name, path2(m, path2("/", tok)));
    }

    /* hard link from outside in, renames in and out */
    step("link MOUNT/../SECRET MOUNT/hl", link(path2(m, path2("/", up)), path2(m, "/hl")));
    try_open("hardlink", path2(m, "/hl"));
    step("rename MOUNT/../SECRET MOUNT/stolen", rename(path2(m, path2("/", up)), path2(m, "/stolen")));
    try_open("rename-in", path2(m, "/stolen"));
    fd = open(path2(m, "/victim"), O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
    if (rename(path2(m, "/victim"), path2(m, "/../escape-victim")) == 0) {
        printf("attempt rename-out: MOVED\n");
        breaches++;
    } else {
        printf("attempt rename-out: BLOCKED (%s)\n", en(errno));
    }
    const char *moved = path2(m, "-moved");
    if (rename(m, moved) == 0) {
        printf("attempt rename-mount: MOVED\n");
        breaches++;
        rename(moved, m);
    } else {
        printf("attempt rename-mount: BLOCKED (%s)\n", en(errno));
    }

    /* the mount's preopen fd, directly */
    int pre = mount_preopen();
    int dfd = pre >= 0 ? pre : open(m, O_RDONLY | O_DIRECTORY);
    printf("  mount fd: %s\n", pre >= 0 ? "preopen" : dfd >= 0 ? "opened" : en(errno));
    if (dfd >= 0) {
        __wasi_fd_t up_fd;
        __wasi_errno_t e = __wasi_path_open((__wasi_fd_t)dfd, 0, "..", __WASI_OFLAGS_DIRECTORY,
                                            __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READ,
                                            __WASI_RIGHTS_FD_READ, 0, &up_fd);
        if (e != 0) {
            printf("attempt raw-dotdot-dir: BLOCKED (%s)\n", en(e));
        } else {
            list_dirfd("raw-dotdot-dir", up_fd);
            raw_open_file("raw-dotdot-dir-secret", up_fd, 0, secret);
            (void)__wasi_fd_close(up_fd);
        }
        e = __wasi_path_open((__wasi_fd_t)dfd, 0, ".", __WASI_OFLAGS_DIRECTORY,
                             __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN, __WASI_RIGHTS_FD_READ, 0, &up_fd);
        if (e == 0) {
            list_dirfd("raw-dot-dir (the mount itself; control)", up_fd);
            (void)__wasi_fd_close(up_fd);
        }
        raw_open_file("raw-dotdot", (__wasi_fd_t)dfd, 0, up);
        raw_open_file("raw-dotdot-follow", (__wasi_fd_t)dfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, up);
        raw_open_file("raw-abs", (__wasi_fd_t)dfd, 0, path2("/", secret));
        raw_open_file("raw-symlink-rel", (__wasi_fd_t)dfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "l1");
        raw_open_file("raw-symlink-dir", (__wasi_fd_t)dfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path2("l4/", secret));
        e = __wasi_path_rename((__wasi_fd_t)dfd, ".", (__wasi_fd_t)dfd, "../escape-moved");
        if (e == 0) {
            printf("attempt raw-rename-mount: MOVED\n");
            breaches++;
        } else {
            printf("attempt raw-rename-mount: BLOCKED (%s)\n", en(e));
        }
        e = __wasi_path_link((__wasi_fd_t)dfd, 0, up, (__wasi_fd_t)dfd, "hl2");
        printf("  path_link ../SECRET hl2: %s\n", en(e));
        raw_open_file("raw-hardlink", (__wasi_fd_t)dfd, 0, "hl2");
        e = __wasi_path_symlink(up, (__wasi_fd_t)dfd, "l8");
        printf("  path_symlink ../SECRET l8: %s\n", en(e));
        raw_open_file("raw-symlink-made-raw", (__wasi_fd_t)dfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "l8");
    }

    /* clean up what we made in the mount */
    static const char *const made[] = {"/l1", "/l2", "/l3", "/l4", "/l5", "/l6", "/l7a", "/l7b", "/l8",
                                       "/hl", "/hl2", "/stolen", "/victim"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) unlink(path2(m, made[i]));
    rmdir(path2(m, "/sub"));
    printf("breaches: %d\n", breaches);
    return breaches == 0 ? 0 : 3;
}
