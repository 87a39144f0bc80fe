/* periscope — gst-launch descriptions given by users and presets
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * psc_launch_parse_bin:
 * @what: what the description is for, as the user wrote it ("--source", "--encoder")
 * @description: a gst-launch description of a chain with one unlinked source and/or sink pad
 * @error: a PSC_CONFIG_ERROR_USAGE whose message holds GStreamer's parser message and
 *   the offending string
 *
 * Builds a bin with GStreamer's own parser (gst_parse_bin_from_description()), so every
 * element and property known from gst-launch-1.0 works; unlinked pads are ghosted. The
 * parser's "recoverable" errors (a missing element in an otherwise valid chain) are failures
 * here: a half-built chain would fail later with a vaguer message.
 *
 * Returns: (transfer floating): the bin, or %NULL on error.
 */
GstElement * psc_launch_parse_bin (const char *what, const char *description, GError **error);

/**
 * psc_launch_find_element:
 * @bin: a bin
 * @klass_word: a word of the element factory's klass, e.g. "Encoder", "Source"
 *
 * Returns: (transfer full) (nullable): the first element, depth-first, whose klass contains
 *   @klass_word.
 */
GstElement * psc_launch_find_element (GstBin *bin, const char *klass_word);

G_END_DECLS
