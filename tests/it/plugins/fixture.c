/*
 * A plugin written in C against sdk/include/edge_agent_plugin.h, for the
 * loader's tests. One source, varied by -D switches so that each broken
 * variant differs from the good one in exactly one way:
 *
 *   ENTRY=<symbol>      the exported entry function (default edge_agent_plugin_v1)
 *   NO_ENTRY            export no entry function at all
 *   DESC_ABI_MAJOR=<n>  the descriptor's abi_major (default EA_ABI_MAJOR)
 *   DESC_MAGIC=<n>      the descriptor's magic (default EA_MAGIC)
 *   DESC_SIZE=<n>       the descriptor's size (default its sizeof)
 *   PLUGIN_NAME="..."   the descriptor's name (default "C Fixture")
 *   MARKER_PATH="..."   a constructor creates this file when the library is
 *                       loaded: the proof of whether dlopen ran it. A
 *                       compile-time path rather than an environment
 *                       variable, because the tests run in parallel threads
 *                       of one process, where setenv races with getenv.
 */
#include <stdio.h>
#include <string.h>

#include "edge_agent_plugin.h"

#ifndef ENTRY
#define ENTRY edge_agent_plugin_v1
#endif
#ifndef DESC_ABI_MAJOR
#define DESC_ABI_MAJOR EA_ABI_MAJOR
#endif
#ifndef DESC_MAGIC
#define DESC_MAGIC EA_MAGIC
#endif
#ifndef DESC_SIZE
#define DESC_SIZE sizeof(ea_plugin_descriptor)
#endif
#ifndef PLUGIN_NAME
#define PLUGIN_NAME "C Fixture"
#endif

#ifdef MARKER_PATH
__attribute__((constructor)) static void mark_loaded(void) {
    FILE *marker = fopen(MARKER_PATH, "w");
    if (marker) {
        fputs("loaded\n", marker);
        fclose(marker);
    }
}
#endif

static ea_status fixture_create(const ea_host_api *host, const uint8_t *config_json,
                                size_t config_len, void **instance, ea_error_buf *err) {
    (void)config_json;
    (void)config_len;
    (void)err;
    *instance = (void *)host;
    return EA_STATUS_OK;
}

static void fixture_destroy(void *instance) { (void)instance; }

/* Emits one reading per poll: fixture/counter = 42. */
static ea_status fixture_poll(void *instance, ea_error_buf *err) {
    const ea_host_api *host = instance;
    ea_reading reading;
    (void)err;
    memset(&reading, 0, sizeof reading);
    reading.name = ea_str("fixture/counter");
    reading.kind = EA_VALUE_I64;
    reading.integer = 42;
    return host->emit(host->ctx, &reading, 1);
}

static const char plugin_name[] = PLUGIN_NAME;
static const char plugin_version[] = "1.2.3";

static const ea_plugin_descriptor descriptor = {
    .magic = DESC_MAGIC,
    .abi_major = DESC_ABI_MAJOR,
    .abi_minor = EA_ABI_MINOR,
    .size = DESC_SIZE,
    .flags = 0,
    .name = {(const uint8_t *)plugin_name, sizeof plugin_name - 1},
    .version = {(const uint8_t *)plugin_version, sizeof plugin_version - 1},
    .create = fixture_create,
    .destroy = fixture_destroy,
    .poll = fixture_poll,
    .start = NULL,
    .stop = NULL,
    .command = NULL,
};

#ifndef NO_ENTRY
const ea_plugin_descriptor *ENTRY(void) { return &descriptor; }
#endif
