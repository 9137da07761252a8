/*
 * echo: a WASI 0.2 command component (no libc) that serves TCP through wasi:sockets,
 * the way a wasm32-wasip2 program's bind/listen/accept does.
 *
 *   echo PORT [COUNT]
 *
 * It binds 0.0.0.0:PORT (in skiff: one of the container's declared ports), listens, and
 * serves COUNT connections one after another (default: forever): it reads until the
 * client shuts down its sending side, answers "echo: " and what it read, closes, and
 * prints "served N bytes" on stdout. Exit status 0 after COUNT connections; 1 with
 * "STEP: <error-code>" when a step fails.
 *
 * Built freestanding like connect.c; its world is `echo` in guests/wit/sockets.wit.
 */
#include "p2.h"
#include "sockets.h"

IMPORT("wasi:io/poll@0.2.0", "[method]pollable.block") void pollable_block(int32_t self);
IMPORT("wasi:io/poll@0.2.0", "[resource-drop]pollable") void pollable_drop(int32_t self);
IMPORT("wasi:sockets/instance-network@0.2.0", "instance-network") int32_t instance_network(void);
IMPORT("wasi:sockets/tcp-create-socket@0.2.0", "create-tcp-socket") void create_tcp_socket(int32_t family, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.start-bind")
void tcp_start_bind(int32_t self, int32_t network, int32_t tag, int32_t port, int32_t a0, int32_t a1, int32_t a2,
                    int32_t a3, int32_t p6, int32_t p7, int32_t p8, int32_t p9, int32_t p10, int32_t p11, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.finish-bind") void tcp_finish_bind(int32_t self, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.start-listen") void tcp_start_listen(int32_t self, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.finish-listen") void tcp_finish_listen(int32_t self, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.accept") void tcp_accept(int32_t self, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.subscribe") int32_t tcp_subscribe(int32_t self);
IMPORT("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.shutdown") void tcp_shutdown(int32_t self, int32_t how, int32_t ret);
IMPORT("wasi:sockets/tcp@0.2.0", "[resource-drop]tcp-socket") void tcp_drop(int32_t self);


static unsigned char data[64 * 1024];

static int run(void) {
    stdout_stream = get_stdout();
    env_get_arguments(RET);
    struct str *argv = (struct str *)(uintptr_t)RET_I32(0);
    size_t argc = (size_t)RET_I32(4);
    uint32_t port, count = 0;
    if (argc < 2 || argc > 3 || parse_u32(argv[1], 1, 65535, &port) != 0 || (argc == 3 && parse_u32(argv[2], 1, 1000000, &count) != 0)) {
        print("usage: echo PORT [COUNT]\n");
        return 1;
    }
    int32_t network = instance_network();
    create_tcp_socket(0 /* ipv4 */, RET);
    if (RET_U8(0) != 0) return fail("create-tcp-socket", RET_U8(4));
    int32_t listener = RET_I32(4);
    tcp_start_bind(listener, network, 0, (int32_t)port, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, RET);
    if (RET_U8(0) != 0) return fail("bind", RET_U8(1));
    tcp_finish_bind(listener, RET);
    if (RET_U8(0) != 0) return fail("bind", RET_U8(1));
    tcp_start_listen(listener, RET);
    if (RET_U8(0) != 0) return fail("listen", RET_U8(1));
    tcp_finish_listen(listener, RET);
    if (RET_U8(0) != 0) return fail("listen", RET_U8(1));

    for (uint32_t served = 0; count == 0 || served < count; served++) {
        /* result<tuple<tcp-socket, input-stream, output-stream>, error-code>: handles @4, @8, @12; error @4 */
        tcp_accept(listener, RET);
        if (RET_U8(0) != 0) {
            if (RET_U8(4) != ERROR_WOULD_BLOCK) return fail("accept", RET_U8(4));
            int32_t ready = tcp_subscribe(listener);
            pollable_block(ready);
            pollable_drop(ready);
            served--;
            continue;
        }
        int32_t conn = RET_I32(4), in = RET_I32(8), out = RET_I32(12);
        size_t n = 0;
        for (;;) {
            size_t mark = heap_used;
            in_blocking_read(in, sizeof data - n, RET);
            if (RET_U8(0) != 0) break; /* closed: the client's end */
            size_t got = (size_t)RET_I32(8);
            memcpy(data + n, (const void *)(uintptr_t)RET_I32(4), got);
            n += got;
            heap_used = mark;
            if (n == sizeof data) break;
        }
        write_all(out, (const unsigned char *)"echo: ", 6);
        write_all(out, data, n);
        tcp_shutdown(conn, 1 /* send */, RET);
        in_drop(in);
        out_drop(out);
        tcp_drop(conn);
        print("served ");
        print_number(n);
        print(" bytes\n");
    }
    tcp_drop(listener);
    return 0;
}

__attribute__((export_name("wasi:cli/run@0.2.0#run"))) int32_t run_export(void) {
    return run() == 0 ? 0 : 1;
}
