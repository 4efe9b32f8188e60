/*
 * edge_agent_plugin.h: the plugin ABI of edge-agent, for plugins written in C.
 *
 * The same contract as the Rust definitions in sdk/src/abi.rs (a test compiles
 * a C program against this header and compares every size, offset and
 * constant with them). In short:
 *
 *   - Export one function, EA_ENTRY (edge_agent_plugin_v1), returning a
 *     pointer to a static ea_plugin_descriptor.
 *   - Strings and byte slices are borrowed (ea_bytes: pointer + length, no
 *     NUL needed), valid only during the call that passes them. Whoever
 *     allocates frees: the host copies what it keeps, the plugin frees its own.
 *   - The host calls one instance's functions from one thread, one at a time.
 *     The host functions (ea_host_api) may be called from any thread; they
 *     never block.
 *   - Nothing unwinds across the boundary (no C++ exceptions, no longjmp out).
 *   - The library is never unloaded.
 *
 * sdk/README.md is the plugin author's guide, with a complete example.
 */
#ifndef EDGE_AGENT_PLUGIN_H
#define EDGE_AGENT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EA_ABI_MAJOR 1
#define EA_ABI_MINOR 0
/* The entry symbol carries the ABI major version. */
#define EA_ENTRY edge_agent_plugin_v1
#define EA_ENTRY_SYMBOL "edge_agent_plugin_v1"
/* "EAPL" */
#define EA_MAGIC 0x4541504Cu

/* Status: the return value of every plugin function and of emit. */
typedef int32_t ea_status;
#define EA_STATUS_OK 0
#define EA_STATUS_ERROR 1          /* failed; the message says why; the host backs off */
#define EA_STATUS_INVALID_CONFIG 2 /* create only: wrong configuration; not retried */
#define EA_STATUS_UNSUPPORTED 3    /* this plugin does not do that; not an error */
#define EA_STATUS_PANICKED 4       /* a panic was caught at the boundary (Rust SDK) */
#define EA_STATUS_REJECTED 5       /* emit: some readings were invalid and dropped */
#define EA_STATUS_FULL 6           /* emit: the host's queue was full; dropped */
#define EA_STATUS_STOPPED 7        /* emit: the instance is not running; dropped */

/* ea_reading.kind */
#define EA_VALUE_F64 0u   /* number */
#define EA_VALUE_I64 1u   /* integer */
#define EA_VALUE_BOOL 2u  /* integer != 0 */
#define EA_VALUE_STR 3u   /* bytes, UTF-8 */
#define EA_VALUE_BYTES 4u /* bytes, opaque */

/* ea_reading.flags */
#define EA_READING_URGENT 1u /* upload without waiting for the next window */

/* ea_host_api.log levels */
#define EA_LOG_ERROR 1
#define EA_LOG_WARN 2
#define EA_LOG_INFO 3
#define EA_LOG_DEBUG 4
#define EA_LOG_TRACE 5

/* Limits the host enforces per reading: beyond them a reading is dropped. */
#define EA_MAX_NAME_LEN 128
#define EA_MAX_UNIT_LEN 32
#define EA_MAX_VALUE_LEN 4096
#define EA_MAX_TAGS 16
#define EA_MAX_TAG_KEY_LEN 64
#define EA_MAX_TAG_VALUE_LEN 256

/* A borrowed byte slice; ptr may be NULL when len is 0. Text is UTF-8. */
typedef struct ea_bytes {
    const uint8_t *ptr;
    size_t len;
} ea_bytes;

/* A host-owned buffer for an error message: write at most capacity bytes of
 * UTF-8 to buf and the count to len (ea_error_set does both). */
typedef struct ea_error_buf {
    uint8_t *buf;
    size_t capacity;
    size_t len;
} ea_error_buf;

typedef struct ea_tag {
    ea_bytes key;
    ea_bytes value;
} ea_tag;

/* One reading. The value is in the field kind names. Fixed layout for ABI 1. */
typedef struct ea_reading {
    ea_bytes name;         /* 1..EA_MAX_NAME_LEN bytes of UTF-8 */
    ea_bytes unit;         /* SenML unit, empty for none */
    int64_t timestamp_ns;  /* ns since the Unix epoch (UTC); 0 = now */
    uint32_t kind;         /* EA_VALUE_* */
    uint32_t flags;        /* EA_READING_* */
    double number;         /* EA_VALUE_F64: finite */
    int64_t integer;       /* EA_VALUE_I64, EA_VALUE_BOOL */
    ea_bytes bytes;        /* EA_VALUE_STR, EA_VALUE_BYTES */
    const ea_tag *tags;    /* NULL when tag_count is 0 */
    size_t tag_count;
} ea_reading;

/* The host's functions, one table per instance, valid for the process's
 * life. Append-only: check size before using a field newer than your minor. */
typedef struct ea_host_api {
    uint32_t size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx; /* pass it back as the first argument */
    ea_status (*emit)(void *ctx, const ea_reading *readings, size_t count);
    void (*log)(void *ctx, int32_t level, const uint8_t *msg, size_t len);
    int64_t (*now_ns)(void *ctx);
} ea_host_api;

/* config_json: the instance's [plugins.config] table as a JSON object,
 * config_len bytes followed by a NUL. */
typedef ea_status (*ea_create_fn)(const ea_host_api *host, const uint8_t *config_json,
                                  size_t config_len, void **instance, ea_error_buf *err);
typedef ea_status (*ea_instance_fn)(void *instance, ea_error_buf *err);
typedef ea_status (*ea_command_fn)(void *instance, const uint8_t *command, size_t command_len,
                                   ea_error_buf *err);
typedef void (*ea_destroy_fn)(void *instance);

/* Returned by EA_ENTRY: a static, never written afterwards. Append-only:
 * size is sizeof(ea_plugin_descriptor) as the plugin was built. */
typedef struct ea_plugin_descriptor {
    uint32_t magic;     /* EA_MAGIC */
    uint16_t abi_major; /* EA_ABI_MAJOR */
    uint16_t abi_minor; /* EA_ABI_MINOR */
    uint32_t size;      /* sizeof(ea_plugin_descriptor) */
    uint32_t flags;     /* reserved, 0 */
    ea_bytes name;
    ea_bytes version;
    ea_create_fn create;   /* required */
    ea_destroy_fn destroy; /* required */
    ea_instance_fn poll;   /* NULL for a push-only sensor */
    ea_instance_fn start;  /* NULL for a poll-only sensor */
    ea_instance_fn stop;   /* NULL for a poll-only sensor */
    ea_command_fn command; /* NULL without downlink commands */
} ea_plugin_descriptor;

/* The entry point every plugin defines. */
const ea_plugin_descriptor *EA_ENTRY(void);

/* An ea_bytes over a NUL-terminated string (not counting the NUL). */
static inline ea_bytes ea_str(const char *s) {
    ea_bytes b = {(const uint8_t *)s, s ? strlen(s) : 0};
    return b;
}

/* Writes msg into err, cut to its capacity. */
static inline void ea_error_set(ea_error_buf *err, const char *msg) {
    size_t n;
    if (!err || !err->buf || !msg) {
        return;
    }
    n = strlen(msg);
    if (n > err->capacity) {
        n = err->capacity;
        /* Cut before a UTF-8 continuation byte, never inside a character. */
        while (n > 0 && ((unsigned char)msg[n] & 0xC0u) == 0x80u) {
            n--;
        }
    }
    memcpy(err->buf, msg, n);
    err->len = n;
}

#ifdef __cplusplus
}
#endif

#endif /* EDGE_AGENT_PLUGIN_H */
