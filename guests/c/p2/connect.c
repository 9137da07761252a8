/*
 * connect: a WASI 0.2 command component (no libc) that opens one TCP connection
 * through wasi:sockets, the way a wasm32-wasip2 program's connect() does.
 *
 *   connect HOST PORT [MESSAGE]
 *
 * HOST is an IPv4 address (dotted quad) or a name, looked up with wasi:sockets'
 * ip-name-lookup (the first IPv4 address it gives is used). It connects to ADDR:PORT, writes MESSAGE
 * (with "\n" as escape for a newline and "\r" for a carriage return), shuts down its
 * sending side, then copies everything it receives to stdout until the peer closes.
 * Exit status 0 after a clean close; 1 with "connect: <error-code>" (or another
 * step's name) on stdout when a step fails.
 *
 * Built freestanding (clang --target=wasm32, no wasi-libc): wasi-libc in Debian
 * predates WASI 0.2, so the canonical ABI calls are declared here by hand from the
 * WIT in guests/wit/sockets.wit, with the component-model naming that wit-bindgen's
 * C output uses (import module "wasi:...@0.2.0", export "wasi:cli/run@0.2.0#run").
 */
#include "p2.h"
#include "sockets.h"

IMPORT("wasi:io/poll@0.2.0", "[method]pollable.block") void pollable_block(int32_t self);
IMPORT("wasi:io/poll@0.2.0", "[resource-drop]pollable") void pollable_drop(int32_t self);
IMPORT("wasi:sockets/instance-network@0.2.0", "instance-network") int32_t instance_network(void);
IMPORT("wasi:sockets/network@0.2.0", "[resource-drop]network") void network_drop(int32_t self);
IMPORT("wasi:sockets/tcp-create-socket@0.2.0", "create-tcp-socket")
void create_tcp_socket(int32_t family, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.start-connect")
void tcp_start_connect(int32_t self, int32_t network, int32_t tag, int32_t port, int32_t a0, int32_t a1,
                       int32_t a2, int32_t a3, int32_t p6, int32_t p7, int32_t p8, int32_t p9, int32_t p10,
                       int32_t p11, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.finish-connect") void tcp_finish_connect(int32_t self, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.subscribe") int32_t tcp_subscribe(int32_t self);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.shutdown") void tcp_shutdown(int32_t self, int32_t how, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[resource-drop]tcp-socket") void tcp_drop(int32_t self);
IMPORT("wasi:sockets/ip-name-lookup@0.2.0", "resolve-addresses")
void resolve_addresses(int32_t network, int32_t name, int32_t name_len, int32_t ret);
IMPORT("wasi:sockets/ip-name-lookup@0.2.0", "[method]resolve-address-stream.resolve-next-address")
void resolve_next_address(int32_t self, int32_t ret);
IMPORT("wasi:sockets/ip-name-lookup@0.2.0", "[method]resolve-address-stream.subscribe") int32_t resolve_subscribe(int32_t self);
IMPORT("wasi:sockets/ip-name-lookup@0.2.0", "[resource-drop]resolve-address-stream") void resolve_drop(int32_t self);


/* Parses "a.b.c.d"; 0 on success. */
static int parse_ipv4(struct str s, int32_t out[4]) {
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        int32_t v = 0;
        size_t digits = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && digits < 3) v = v * 10 + (s.ptr[i++] - '0'), digits++;
        if (digits == 0 || v > 255) return -1;
        out[part] = v;
        if (part < 3) {
            if (i >= s.len || s.ptr[i] != '.') return -1;
            i++;
        }
    }
    return i == s.len ? 0 : -1;
}

/* The message with "\n" and "\r" escapes turned into bytes, into buf; returns its length. */
static size_t unescape(struct str s, char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s.len && n < cap; i++) {
        if (s.ptr[i] == '\\' && i + 1 < s.len && (s.ptr[i + 1] == 'n' || s.ptr[i + 1] == 'r')) {
            buf[n++] = s.ptr[++i] == 'n' ? '\n' : '\r';
        } else {
            buf[n++] = s.ptr[i];
        }
    }
    return n;
}

/* The first IPv4 address of `name` (ip-name-lookup); 0 on success, else the error code + 1. */
static int lookup(int32_t network, struct str name, int32_t out[4]) {
    resolve_addresses(network, (int32_t)(uintptr_t)name.ptr, (int32_t)name.len, RET);
    if (RET_U8(0) != 0) return RET_U8(4) + 1;
    int32_t stream = RET_I32(4);
    int result = 18 + 1; /* name-unresolvable: no IPv4 address among the answers */
    for (;;) {
        /* result<option<ip-address>, error-code>: tag @0; ok: option tag @2, ip-address tag @4, ipv4 bytes @6..9; err: code @2 */
        resolve_next_address(stream, RET);
        if (RET_U8(0) != 0) {
            if (RET_U8(2) != ERROR_WOULD_BLOCK) {
                result = RET_U8(2) + 1;
                break;
            }
            int32_t ready = resolve_subscribe(stream);
            pollable_block(ready);
            pollable_drop(ready);
            continue;
        }
        if (RET_U8(2) == 0) break; /* none: no more addresses */
        if (RET_U8(4) == 0) {
            for (int i = 0; i < 4; i++) out[i] = RET_U8(6 + i);
            result = 0;
            break;
        }
    }
    resolve_drop(stream);
    return result;
}

static int run(void) {
    stdout_stream = get_stdout();
    env_get_arguments(RET);
    struct str *argv = (struct str *)(uintptr_t)RET_I32(0);
    size_t argc = (size_t)RET_I32(4);
    int32_t ip[4];
    uint32_t port;
    if (argc < 3 || argv[1].len == 0 || parse_u32(argv[2], 1, 65535, &port) != 0) {
        print("usage: connect HOST PORT [MESSAGE]\n");
        return 2;
    }

    int32_t network = instance_network();
    if (parse_ipv4(argv[1], ip) != 0) {
        int e = lookup(network, argv[1], ip);
        if (e != 0) return fail("resolve", (unsigned)(e - 1));
    }
    create_tcp_socket(0 /* ipv4 */, RET);
    if (RET_U8(0) != 0) return fail("create-tcp-socket", RET_U8(4));
    int32_t sock = RET_I32(4);

    tcp_start_connect(sock, network, 0 /* ipv4 */, (int32_t)port, ip[0], ip[1], ip[2], ip[3], 0, 0, 0, 0, 0, 0, RET);
    if (RET_U8(0) != 0) return fail("start-connect", RET_U8(1));
    int32_t in, out;
    for (;;) {
        tcp_finish_connect(sock, RET);
        if (RET_U8(0) == 0) {
            in = RET_I32(4);
            out = RET_I32(8);
            break;
        }
        if (RET_U8(4) != ERROR_WOULD_BLOCK) return fail("connect", RET_U8(4));
        int32_t ready = tcp_subscribe(sock);
        pollable_block(ready);
        pollable_drop(ready);
    }

    if (argc > 3) {
        static char message[4096];
        size_t n = unescape(argv[3], message, sizeof message);
        if (write_all(out, (const unsigned char *)message, n) != 0) {
            print("write: closed\n");
            return 1;
        }
    }
    tcp_shutdown(sock, 1 /* send */, RET);
    if (RET_U8(0) != 0) return fail("shutdown", RET_U8(1));

    for (;;) {
        size_t mark = heap_used;
        in_blocking_read(in, 16384, RET);
        if (RET_U8(0) != 0) {
            /* stream-error: 1 is closed (the peer's FIN), 0 last-operation-failed. */
            if (RET_U8(4) != 1) {
                print("read: failed\n");
                return 1;
            }
            break;
        }
        write_out((const void *)(uintptr_t)RET_I32(4), (size_t)RET_I32(8));
        heap_used = mark;
    }
    in_drop(in);
    out_drop(out);
    tcp_drop(sock);
    network_drop(network);
    return 0;
}

/* wasi:cli/run: result<_, _> flattens to one i32, 0 for ok. The exit status of an
 * err is 1 (wasmtime's); a usage error also reports 1, after printing its line. */
__attribute__((export_name("wasi:cli/run@0.2.0#run"))) int32_t run_export(void) {
    return run() == 0 ? 0 : 1;
}
