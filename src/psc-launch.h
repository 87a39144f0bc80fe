/* periscope — gst-launch descriptions given by users and presets
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

/**
 * SECTION:psc-launch
 * @title: psc-launch
 * @short_description: gst-launch descriptions given by users and presets
 *
 * Turns the gst-launch descriptions of --source, --encoder and presets into bins with
 * GStreamer's own parser, with errors that quote the description (#PSC_CONFIG_ERROR), and
 * finds the elements of interest in them. Called while streams and encodings are built (main
 * thread, and the encoder probe).
 */

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
 * PSC_LAUNCH_SOURCE_CONVERT:
 *
 * The name of the element psc_launch_parse_source() links the user's source to: a
 * `videoconvert` for raw video, an `h264parse` for H.264.
 */
#define PSC_LAUNCH_SOURCE_CONVERT "source-convert"

/**
 * PSC_LAUNCH_SOURCE_PACE:
 *
 * The name of the `clocksync` at the end of psc_launch_parse_source()'s bin: it holds each
 * frame until its time on the pipeline clock, so a source that is not live (a file) plays at
 * its own rate instead of as fast as it decodes. Set its `sync` to %FALSE for a live source,
 * whose frames are on time already.
 */
#define PSC_LAUNCH_SOURCE_PACE "source-pace"

/**
 * psc_launch_parse_source:
 * @description: the user's source, in gst-launch syntax: anything that ends where raw video
 *   comes out — a camera, a file or network stream through decodebin/uridecodebin, a
 *   demuxer, rtspsrc and a depayloader and decoder — or where H.264 comes out
 *   (`rtspsrc … ! rtph264depay`, `v4l2src ! video/x-h264,…`, `filesrc ! qtdemux ! h264parse`)
 * @h264: (out) (optional): whether the source delivers H.264 (see below)
 * @error: as psc_launch_parse_bin()
 *
 * Builds `DESCRIPTION ! videoconvert ! clocksync` as gst-launch-1.0 would: when the last
 * element of @description has no source pad yet (decodebin, uridecodebin, a demuxer,
 * rtspsrc: "sometimes" pads), GStreamer's parser links it when the pad appears (delayed
 * linking on pad-added), and only a pad that can carry video is linked; an audio pad stays
 * unlinked, which elements with several outputs (demuxers, decodebin) take in their stride.
 * The bin's source pad is clocksync's (#PSC_LAUNCH_SOURCE_PACE), ghosted.
 *
 * A source delivers H.264 when its last element's source pad exists at parse time and a
 * caps query on it (before anything starts: pad templates, narrowed by capsfilters,
 * depayloaders, parsers) answers video/x-h264 and nothing else. Such a source is built as
 * `DESCRIPTION ! h264parse config-interval=-1 !
 * video/x-h264,stream-format=byte-stream,alignment=au ! clocksync`, for the stream to pass
 * through without decoding it. A last element with "sometimes" pads cannot answer, and is
 * taken for raw video: a source ends in `! h264parse` to be passed through, in
 * `! decodebin` to be decoded. The same description always gives the same answer.
 *
 * Returns: (transfer floating): the bin, or %NULL on error.
 */
GstElement * psc_launch_parse_source (const char *description, gboolean *h264,
    GError **error);

/**
 * psc_launch_find_element:
 * @bin: a bin
 * @klass_word: a word of the element factory's klass, e.g. "Encoder", "Source"
 *
 * Finds, e.g., the encoder element in a --encoder description, to read its codec.
 * Elements are visited in gst_bin_iterate_sorted() order (sinks first), and a child bin
 * that does not match is searched before the next sibling.
 *
 * Returns: (transfer full) (nullable): the first element whose factory's klass contains
 *   @klass_word (a substring match: "Source" also matches "Video/Source"), or %NULL.
 */
GstElement * psc_launch_find_element (GstBin *bin, const char *klass_word);

G_END_DECLS
