/* fdbomb DIR [MAX]: opens DIR/fdbomb.tmp (created) again and again without
 * closing anything, until open() fails or MAX descriptors (default 1000000)
 * are open.  Prints `opened N`, then `refused: <ERRNO>` (exit 0) or
 * `reached max N` (exit 1).  Exit 2 on bad arguments or if the first open
 * fails for another reason than a descriptor limit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *errname(int e) {
    static char other[32];
    switch (e) {
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOTDIR: return "ENOTDIR";
    case EROFS: return "EROFS";
    default:
        snprintf(other, sizeof other, "errno%d", e);
        return other;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fdbomb DIR [MAX]\n");
        return 2;
    }
    long max = 1000000;
    if (argc > 2) {
        char *end;
        max = strtol(argv[2], &end, 10);
        if (*end != '\0' || max < 1) {
            fprintf(stderr, "fdbomb: bad MAX %s\n", argv[2]);
            return 2;
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/fdbomb.tmp", argv[1]);

    long opened = 0;
    int err = 0;
    while (opened < max) {
        int fd = open(path, O_CREAT | O_RDONLY, 0644);
        if (fd < 0) {
            err = errno;
            break;
        }
        opened++;
    }
    unlink(path);
    printf("opened %ld\n", opened);
    if (opened >= max) {
        printf("reached max %ld\n", max);
        return 1;
    }
    printf("refused: %s\n", errname(err));
    if (opened == 0 || (err != EMFILE && err != ENFILE && err != ENOMEM && err != ENOSPC)) return 2;
    return 0;
}
