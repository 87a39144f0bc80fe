/* periscope — video codecs a stream can be encoded in
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PscCodec:
 * @PSC_CODEC_H264: H.264, constrained-baseline, packetization-mode=1 (RFC 6184)
 * @PSC_CODEC_VP8: VP8 (RFC 7741)
 *
 * The codecs periscope can produce for WebRTC viewers.
 */
typedef enum {
  PSC_CODEC_H264,
  PSC_CODEC_VP8,
} PscCodec;

#define PSC_CODEC_COUNT 2

/**
 * psc_codec_from_string:
 * @name: "h264" or "vp8", case-insensitive (also "H.264")
 * @codec: (out): where to store the codec
 *
 * Returns: %TRUE if @name names a codec.
 */
gboolean      psc_codec_from_string    (const char *name, PscCodec *codec);

/**
 * psc_codec_to_string:
 * @codec: a codec
 *
 * Returns: (transfer none): the lower-case short name ("h264", "vp8").
 */
const char *  psc_codec_to_string      (PscCodec codec);

/**
 * psc_codec_media_type:
 * @codec: a codec
 *
 * Returns: (transfer none): the GStreamer caps media type of the elementary stream
 *   ("video/x-h264", "video/x-vp8").
 */
const char *  psc_codec_media_type     (PscCodec codec);

G_END_DECLS
