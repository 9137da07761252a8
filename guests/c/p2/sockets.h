/*
 * What the wasi:sockets guests share (connect.c, echo.c): the error-code names and how a
 * failed step is reported. Include after p2.h.
 */

/* wasi:sockets/network error-code, in the WIT's order. */
static const char *const ERROR_CODES[] = {
    "unknown", "access-denied", "not-supported", "invalid-argument", "out-of-memory", "timeout",
    "concurrency-conflict", "not-in-progress", "would-block", "invalid-state", "new-socket-limit",
    "address-not-bindable", "address-in-use", "remote-unreachable", "connection-refused",
    "connection-reset", "connection-aborted", "datagram-too-large", "name-unresolvable",
    "temporary-resolver-failure", "permanent-resolver-failure",
};
#define ERROR_WOULD_BLOCK 8

static int fail(const char *step, unsigned code) {
    return fail_with(step, code, ERROR_CODES, sizeof ERROR_CODES / sizeof ERROR_CODES[0]);
}
