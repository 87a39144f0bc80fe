/* periscope — what every fuzz target shares: the libFuzzer entry points and input helpers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A target defines LLVMFuzzerTestOneInput() (and, for set-up done once, LLVMFuzzerInitialize())
 * and is linked twice (tests/fuzz/meson.build): with psc-fuzz-replay.c, whose main() runs
 * every file of its corpus once (the `fuzz` suite of every `meson test`), and, with
 * -Dfuzzing=true, with libFuzzer's main() (-fsanitize=fuzzer).
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Optional: weak, so a target without set-up need not define it. */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

/* @data as a NUL-terminated string, cut at its first NUL byte as C string APIs would see it
 * (header values and form bodies reach our parsers that way). */
char *  psc_fuzz_string (const uint8_t *data, size_t size);

/* @data split at each '\n' into at most @max strings (the last one takes the rest,
 * newlines included), each cut at its first NUL: a target with several inputs (a header
 * and a path, argv) takes them from one file. */
GStrv   psc_fuzz_split (const uint8_t *data, size_t size, guint max);

/* Asserts that @error is set and in @error_domain: a parser fails with its own error, never
 * another layer's, a GLib critical or nothing. */
#define psc_fuzz_assert_error(error, error_domain) \
  G_STMT_START { \
    g_assert_nonnull (error); \
    g_assert_cmpstr (g_quark_to_string ((error)->domain), ==, \
        g_quark_to_string (error_domain)); \
    g_assert_nonnull ((error)->message); \
  } G_STMT_END

G_END_DECLS
