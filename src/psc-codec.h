/* periscope — video codecs a stream can be encoded in
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-codec
 * @title: psc-codec
 * @short_description: the video codecs a stream can be encoded in
 *
 * The codecs periscope produces for WebRTC viewers, their names on the command line and in
 * the REST API, and their GStreamer media types. Pure data, any thread.
 */

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

/**
 * PSC_CODEC_COUNT:
 *
 * The number of #PscCodec values: the size of the per-codec arrays (encoders, availability).
 */
#define PSC_CODEC_COUNT 2

/**
 * psc_codec_from_string:
 * @name: (nullable): "h264" or "vp8", case-insensitive (also "H.264" and "avc" for H.264)
 * @codec: (out): where to store the codec; untouched when @name names none
 *
 * Parses a codec name as --codec and presets write it.
 *
 * Returns: %TRUE if @name names a codec; %FALSE for %NULL or anything else.
 */
gboolean      psc_codec_from_string    (const char *name, PscCodec *codec);

/**
 * psc_codec_to_string:
 * @codec: a codec
 *
 * The codec's name as psc_codec_from_string() reads it, the REST API reports it and the
 * metrics label it.
 *
 * Returns: (transfer none): the lower-case short name ("h264", "vp8"); %NULL (with a
 *   critical) for a value that is not a #PscCodec.
 */
const char *  psc_codec_to_string      (PscCodec codec);

/**
 * psc_codec_media_type:
 * @codec: a codec
 *
 * The media type of the encoder's output caps, as the stream's tee carries it.
 *
 * Returns: (transfer none): the GStreamer caps media type of the elementary stream
 *   ("video/x-h264", "video/x-vp8"); %NULL (with a critical) for a value that is not a
 *   #PscCodec.
 */
const char *  psc_codec_media_type     (PscCodec codec);

/**
 * PscCodecSet:
 *
 * A set of codecs, one bit per #PscCodec (PSC_CODEC_SET_OF()); 0 is the empty set.
 */
typedef guint PscCodecSet;

/**
 * PSC_CODEC_SET_OF:
 * @codec: a #PscCodec
 *
 * The set holding @codec alone; sets combine with `|`.
 */
#define PSC_CODEC_SET_OF(codec) ((PscCodecSet) 1u << (codec))

/**
 * psc_codec_set_from_strv:
 * @names: (array zero-terminated=1): codec names as a client sent them (psc_codec_from_string())
 *
 * Names of codecs periscope does not produce ("av1", "h265", "") are left out rather than
 * refused: a browser lists what it decodes, which may grow.
 *
 * Returns: the codecs of @names that periscope knows, possibly none.
 */
PscCodecSet   psc_codec_set_from_strv  (const char *const *names);

/**
 * psc_codec_set_to_string:
 * @set: a set of codecs
 *
 * Names the codecs of @set, for messages to a person (the `no_common_codec` error says what
 * was listed and what the stream has).
 *
 * Returns: (transfer full): the set's names in #PscCodec order, comma-separated
 *   ("h264,vp8"), or "none" for the empty set; for messages.
 */
char *        psc_codec_set_to_string  (PscCodecSet set);

/**
 * psc_codec_choose:
 * @preferred: the codec tried first (`--codec`)
 * @client: (nullable): what the viewer says it decodes, %NULL if it said nothing
 * @available: the codecs the stream has an encoder for
 * @chosen: (out): the viewer's codec
 *
 * The codec a viewer gets: @preferred, then every other codec in #PscCodec order — the first
 * that is both in *@client and in @available. A viewer that said nothing gets @preferred, as
 * before viewers could say (docs/protocol.md, "Codecs"). Pure: no I/O, no state.
 *
 * Returns: %FALSE if the viewer decodes none of @available (or @preferred is not available
 *   to a viewer that said nothing); *@chosen is then unchanged.
 */
gboolean      psc_codec_choose         (PscCodec preferred, const PscCodecSet *client,
    PscCodecSet available, PscCodec *chosen);

G_END_DECLS
