/* http: a small non-blocking HTTP/1.1 static file server for WASI preview 1.
 *
 * The listening socket is inherited, never created: fd 3 by default (the
 * convention of wasmtime --tcplisten), or the fd in env LISTEN_FD.  One thread,
 * one poll() loop over the listener and every connection; all sockets are
 * non-blocking, so a slow client or one that never reads only occupies its own
 * slot.  Keep-alive is the HTTP/1.1 default, `Connection: close` and HTTP/1.0
 * are honoured, pipelined requests are answered in order.
 *
 * GET and HEAD serve files under env DOCROOT (default /www); `/` and any path
 * ending in `/` serve index.html; a `..` segment is 400; missing files 404;
 * other methods 405; unparsable requests 400 (and the connection is closed).
 * Every answered request adds one to the decimal counter in env HITS_FILE
 * (default /data/hits) — when that file cannot be opened the request is not
 * counted — and every response carries `X-Hits: N`, the count after it
 * (0 when not counting).  GET /hits answers the count as text.  When env
 * HOSTNAME is set (Kubernetes sets it to the pod's name), every response also
 * carries `X-Served-By: HOSTNAME`, so a client can see which replica answered.
 *
 * Prints `listening on fd N` on stdout at start, nothing per request; errors
 * go to stderr.  Runs until killed; exits 1 if accept() fails with anything
 * but EAGAIN/EINTR/ECONNABORTED (e.g. the listener is gone), 2 on bad setup. */
#define _GNU_SOURCE /* accept4 on Linux; wasi-libc declares it anyway */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define MAX_CONNS 256
#define IN_SIZE 8192
#define OUT_HIGH (256 * 1024) /* stop answering pipelined requests while this much is unsent */
#define IDLE_MS 30000  /* an idle keep-alive or stalled connection is dropped */
#define DRAIN_MS 2000  /* after `Connection: close`: read and discard, then close */

struct conn {
    int fd;
    int closing;  /* close once the output is flushed */
    int draining; /* output flushed and write side shut: discard input until EOF */
    long long last;
    size_t inlen;
    char in[IN_SIZE];
    char *out;
    size_t outlen, outoff, outcap;
};

static struct conn *conns[MAX_CONNS];
static int nconns;
static const char *docroot;
static const char *hits_file;
static const char *served_by; /* env HOSTNAME, or NULL */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

static void drop(int i) {
    struct conn *c = conns[i];
    close(c->fd);
    free(c->out);
    free(c);
    conns[i] = conns[--nconns];
}

static int append(struct conn *c, const char *data, size_t len) {
    if (c->outlen + len > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + len) cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL) return -1;
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, data, len);
    c->outlen += len;
    return 0;
}

/* Adds one to the counter in HITS_FILE and returns the new count; 0 when the
 * file cannot be opened (e.g. its directory does not exist). */
static unsigned long count_hit(void) {
    int fd = open(hits_file, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return 0;
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    unsigned long hits = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) hits = hits * 10 + (unsigned long)(buf[i] - '0');
    hits++;
    int len = snprintf(buf, sizeof buf, "%lu\n", hits);
    if (pwrite(fd, buf, (size_t)len, 0) != len || ftruncate(fd, len) != 0)
        fprintf(stderr, "http: writing %s: %s\n", hits_file, strerror(errno));
    close(fd);
    return hits;
}

static const char *content_type(const char *path) {
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
        {".svg", "image/svg+xml"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

/* Appends one complete response. BODY may be NULL with LEN > 0 for HEAD. */
static int respond(struct conn *c, int status, unsigned long hits, const char *type, const char *extra,
                   const char *body, size_t len, int send_body) {
    const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed" : "Internal Server Error";
    char head[768];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nServer: skiff-http\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Hits: %lu\r\n%s%s%s%sConnection: %s\r\n\r\n",
                     status, reason, type, len, hits, served_by ? "X-Served-By: " : "", served_by ? served_by : "",
                     served_by ? "\r\n" : "", extra, c->closing ? "close" : "keep-alive");
    if (n < 0 || (size_t)n >= sizeof head) return -1;
    if (append(c, head, (size_t)n) != 0) return -1;
    return send_body && len > 0 ? append(c, body, len) : 0;
}

static int respond_text(struct conn *c, int status, unsigned long hits, const char *text, int send_body) {
    const char *extra = status == 405 ? "Allow: GET, HEAD\r\n" : "";
    return respond(c, status, hits, "text/plain; charset=utf-8", extra, text, strlen(text), send_body);
}

/* Decodes %XX in place; 0 if the path is acceptable (absolute, no NUL, no `..` segment). */
static int clean_path(char *p) {
    char *w = p;
    for (char *r = p; *r; r++) {
        if (*r == '%' && r[1] && r[2]) {
            char hex[3] = {r[1], r[2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end != '\0' || v == 0) return -1;
            *w++ = (char)v;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    if (p[0] != '/') return -1;
    for (char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
        if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0')) return -1;
    return 0;
}

static int serve_file(struct conn *c, const char *path, unsigned long hits, int send_body) {
    char full[4096];
    size_t plen = strlen(path);
    snprintf(full, sizeof full, "%s%s%s", docroot, path, path[plen - 1] == '/' ? "index.html" : "");
    int fd = open(full, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return respond_text(c, 404, hits, "not found\n", send_body);
    }
    size_t size = (size_t)st.st_size;
    char *body = NULL;
    if (send_body && size > 0) {
        body = malloc(size);
        size_t got = 0;
        while (body != NULL && got < size) {
            ssize_t n = read(fd, body + got, size - got);
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (body == NULL || got < size) {
            fprintf(stderr, "http: reading %s: %s\n", full, body ? strerror(errno) : "out of memory");
            free(body);
            close(fd);
            c->closing = 1;
            return respond_text(c, 500, hits, "internal error\n", send_body);
        }
    }
    close(fd);
    int rc = respond(c, 200, hits, content_type(full), "", body, size, send_body);
    free(body);
    return rc;
}

/* Answers the complete requests in the input buffer (pipelined ones too, while
 * less than OUT_HIGH bytes wait to be sent).  Returns -1 to drop the connection. */
static int handle_requests(struct conn *c) {
    while (!c->closing && c->outlen - c->outoff < OUT_HIGH) {
        char *end = NULL;
        for (size_t i = 3; i < c->inlen && end == NULL; i++)
            if (memcmp(c->in + i - 3, "\r\n\r\n", 4) == 0) end = c->in + i + 1;
        if (end == NULL) {
            if (c->inlen == IN_SIZE) {
                c->closing = 1;
                return respond_text(c, 400, count_hit(), "request too large\n", 1);
            }
            return 0;
        }
        size_t reqlen = (size_t)(end - c->in);
        end[-2] = '\0';  /* the request line and headers are now one C string */

        char *save = NULL;
        char *line = strtok_r(c->in, "\r\n", &save);
        char *method = line ? strtok(line, " ") : NULL;
        char *target = method ? strtok(NULL, " ") : NULL;
        char *version = target ? strtok(NULL, " ") : NULL;
        int bad = version == NULL || strtok(NULL, " ") != NULL || strncmp(version, "HTTP/1.", 7) != 0 ||
                  (version[7] != '0' && version[7] != '1') || version[8] != '\0';
        int keep_alive = !bad && version[7] == '1';
        int has_body = 0;
        for (char *h; !bad && (h = strtok_r(NULL, "\r\n", &save)) != NULL;) {
            char *colon = strchr(h, ':');
            if (colon == NULL) { bad = 1; break; }
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            if (strcasecmp(h, "Connection") == 0) {
                if (strcasecmp(v, "close") == 0) keep_alive = 0;
                else if (strcasecmp(v, "keep-alive") == 0) keep_alive = 1;
            } else if ((strcasecmp(h, "Content-Length") == 0 && strcmp(v, "0") != 0) ||
                       strcasecmp(h, "Transfer-Encoding") == 0) {
                has_body = 1; /* not read: answer, then close */
            }
        }
        if (!keep_alive || has_body || bad) c->closing = 1;

        int rc;
        unsigned long hits = count_hit();
        int is_get = !bad && strcmp(method, "GET") == 0, is_head = !bad && strcmp(method, "HEAD") == 0;
        if (bad) rc = respond_text(c, 400, hits, "bad request\n", 1);
        else if (!is_get && !is_head) rc = respond_text(c, 405, hits, "method not allowed\n", 1);
        else {
            char *q = strchr(target, '?');
            if (q != NULL) *q = '\0';
            if (clean_path(target) != 0) {
                rc = respond_text(c, 400, hits, "bad path\n", is_get);
            } else if (strcmp(target, "/hits") == 0) {
                char count[32];
                snprintf(count, sizeof count, "%lu\n", hits);
                rc = respond_text(c, 200, hits, count, is_get);
            } else {
                rc = serve_file(c, target, hits, is_get);
            }
        }
        if (rc != 0) return -1;
        memmove(c->in, c->in + reqlen, c->inlen - reqlen);
        c->inlen -= reqlen;
    }
    return 0;
}

/* Sends what it can.  Returns -1 to drop the connection. */
static int flush(struct conn *c) {
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n > 0) c->outoff += (size_t)n;
        else if (n < 0 && would_block(errno)) return 0;
        else return -1;
    }
    c->outoff = c->outlen = 0;
    if (c->closing && !c->draining) {
        shutdown(c->fd, SHUT_WR);
        c->draining = 1;
    }
    return 0;
}

/* Answers what is buffered, sends what it can, reads what is there, until the
 * socket would block.  Returns -1 to drop the connection. */
static int progress(struct conn *c) {
    for (;;) {
        if (handle_requests(c) != 0 || flush(c) != 0) return -1;
        if (c->outoff < c->outlen) return 0; /* wait until writable */
        if (c->inlen == IN_SIZE && !c->draining) continue; /* full of requests held back by OUT_HIGH */
        ssize_t n;
        if (c->draining) {
            char junk[4096];
            n = recv(c->fd, junk, sizeof junk, 0);
        } else {
            n = recv(c->fd, c->in + c->inlen, IN_SIZE - c->inlen, 0);
            if (n > 0) c->inlen += (size_t)n;
        }
        if (n < 0) return would_block(errno) ? 0 : -1;
        if (n == 0) return -1; /* peer closed: an incomplete request is dropped */
    }
}

static void accept_all(int lfd) {
    while (nconns < MAX_CONNS) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK);
        if (fd < 0) {
            if (would_block(errno) || errno == ECONNABORTED) return;
            fprintf(stderr, "http: accept on fd %d: %s\n", lfd, strerror(errno));
            exit(1);
        }
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            return;
        }
        c->fd = fd;
        c->last = now_ms();
        conns[nconns++] = c;
    }
}

int main(void) {
    const char *env = getenv("LISTEN_FD");
    int lfd = env ? atoi(env) : 3;
    docroot = getenv("DOCROOT") ? getenv("DOCROOT") : "/www";
    hits_file = getenv("HITS_FILE") ? getenv("HITS_FILE") : "/data/hits";
    served_by = getenv("HOSTNAME");
    if (served_by && (served_by[0] == 0 || strlen(served_by) > 253 || strpbrk(served_by, "\r\n"))) served_by = NULL;

    int flags = fcntl(lfd, F_GETFL);
    if (flags < 0 || fcntl(lfd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fprintf(stderr, "http: listening fd %d: %s\n", lfd, strerror(errno));
        return 2;
    }
    printf("listening on fd %d\n", lfd);
    fflush(stdout);

    static struct pollfd pfds[MAX_CONNS + 1];
    static struct conn *polled[MAX_CONNS + 1];
    for (;;) {
        int n = 0;
        if (nconns < MAX_CONNS) {
            pfds[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
            polled[n++] = NULL;
        }
        for (int i = 0; i < nconns; i++) {
            struct conn *c = conns[i];
            pfds[n] = (struct pollfd){.fd = c->fd, .events = c->outoff < c->outlen ? POLLOUT : POLLIN};
            polled[n++] = c;
        }
        if (poll(pfds, (nfds_t)n, nconns ? 1000 : -1) < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "http: poll: %s\n", strerror(errno));
            return 1;
        }
        long long now = now_ms();
        for (int k = 0; k < n; k++) {
            if (pfds[k].revents == 0) continue;
            struct conn *c = polled[k];
            if (c == NULL) {
                accept_all(lfd);
                continue;
            }
            int i = 0;
            while (i < nconns && conns[i] != c) i++;
            c->last = now;
            if ((pfds[k].revents & POLLNVAL) || progress(c) != 0) drop(i);
        }
        for (int i = nconns - 1; i >= 0; i--)
            if (now - conns[i]->last > (conns[i]->draining ? DRAIN_MS : IDLE_MS)) drop(i);
    }
}
