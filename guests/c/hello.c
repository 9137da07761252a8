/* hello: prints its arguments, its environment and its working directory.
 * Exit status: argv[1] if it is all digits and <= 255, else 0. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

static int exit_code_from(const char *s) {
    if (s == NULL || *s == '\0') return 0;
    int v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
        if (v > 255) return 0;
    }
    return v;
}

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
    for (char **e = environ; e != NULL && *e != NULL; e++) printf("env %s\n", *e);
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) != NULL) printf("cwd=%s\n", cwd);
    else printf("cwd=?\n");
    fflush(stdout);
    return argc > 1 ? exit_code_from(argv[1]) : 0;
}
