/* files OP ARGS... [OP ARGS...]...: runs small file operations in order, one line of
 * output each, for tests of volumes shared between containers.
 *
 *   write PATH TEXT    create or truncate PATH, write TEXT   `write PATH: ok`
 *   append PATH TEXT   append TEXT (O_APPEND, created if missing)  `append PATH: ok`
 *   cat PATH           `cat PATH: "CONTENT"` (non-printable bytes as \xNN; at most 4 KiB)
 *   ls DIR             `ls DIR: a b c` (sorted, without . and ..)
 *   mkdir PATH         `mkdir PATH: ok`
 *   rm PATH            unlink                                 `rm PATH: ok`
 *   wait PATH MS       until PATH exists (checked every ms)   `wait PATH: ok`, or `timeout`
 *   sleep MS           `sleep MS: ok`
 *   spin               sleeps 5 ms, prints `spinning`, then computes forever without a
 *                      syscall (the sleep lets a host that batches output send the
 *                      lines before it: skiff sends a write at once if the last send
 *                      was 4 ms ago or more)
 *
 * A failed operation prints its errno name (`cat /x: ENOENT`) and the program goes on.
 * Exit status: 0 when every operation succeeded, 1 otherwise, 2 on a bad operation. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void result(const char *op, const char *path, int ok) {
    if (ok) {
        printf("%s %s: ok\n", op, path);
    } else {
        printf("%s %s: %s\n", op, path, en(errno));
        failures++;
    }
}

static int writes(const char *path, const char *text, int flags) {
    int fd = open(path, flags, 0644);
    if (fd < 0) return 0;
    size_t n = strlen(text), done = 0;
    while (done < n) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return 0;
        }
        done += (size_t)w;
    }
    return close(fd) == 0;
}

static void cat(const char *path) {
    char buf[4096];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    int e = errno;
    if (fd >= 0) close(fd);
    if (n < 0) {
        errno = e;
        result("cat", path, 0);
        return;
    }
    printf("cat %s: \"", path);
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7f) putchar(c);
        else printf("\\x%02x", c);
    }
    printf("\"\n");
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void ls(const char *path) {
    DIR *d = opendir(path);
    if (d == NULL) {
        result("ls", path, 0);
        return;
    }
    char *names[512];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 512) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof names[0], cmp);
    printf("ls %s:", path);
    for (size_t i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static volatile unsigned spin_state;

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc;) {
        const char *op = argv[i];
        static const char *const ONE[] = {"cat", "ls", "mkdir", "rm", "sleep"};
        int need = -1;
        if (strcmp(op, "write") == 0 || strcmp(op, "append") == 0 || strcmp(op, "wait") == 0) need = 2;
        else if (strcmp(op, "spin") == 0) need = 0;
        for (size_t k = 0; k < sizeof ONE / sizeof ONE[0]; k++)
            if (strcmp(op, ONE[k]) == 0) need = 1;
        if (need < 0) {
            fprintf(stderr, "files: unknown operation %s\n", op);
            return 2;
        }
        if (i + need >= argc) {
            fprintf(stderr, "files: %s needs %d argument(s)\n", op, need);
            return 2;
        }
        const char *a = argv[i + 1], *b = need > 1 ? argv[i + 2] : NULL;
        if (strcmp(op, "write") == 0) result("write", a, writes(a, b, O_CREAT | O_TRUNC | O_WRONLY));
        else if (strcmp(op, "append") == 0) result("append", a, writes(a, b, O_CREAT | O_APPEND | O_WRONLY));
        else if (strcmp(op, "cat") == 0) cat(a);
        else if (strcmp(op, "ls") == 0) ls(a);
        else if (strcmp(op, "mkdir") == 0) result("mkdir", a, mkdir(a, 0755) == 0);
        else if (strcmp(op, "rm") == 0) result("rm", a, unlink(a) == 0);
        else if (strcmp(op, "sleep") == 0) {
            sleep_ms(atol(a));
            result("sleep", a, 1);
        } else if (strcmp(op, "wait") == 0) {
            long left = atol(b);
            while (access(a, F_OK) != 0 && left-- > 0) sleep_ms(1);
            if (access(a, F_OK) == 0) {
                result("wait", a, 1);
            } else {
                printf("wait %s: timeout\n", a);
                failures++;
            }
        } else if (strcmp(op, "spin") == 0) {
            sleep_ms(5);
            printf("spinning\n");
            for (;;) spin_state = spin_state * 1103515245u + 12345u;
        }
        i += 1 + need;
    }
    return failures == 0 ? 0 : 1;
}
