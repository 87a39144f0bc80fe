/* periscope — one codec's encoder in the shared pipeline, its tee and shared payloader
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-codec.h"

/**
 * SECTION:psc-encoding
 * @title: psc-encoding
 * @short_description: one codec's encoder in the shared pipeline, its tee and shared payloader
 *
 * A #PscEncoding is what a stream adds to its pipeline when a codec's first viewer comes and
 * removes when the last one goes: the encoder bin, the tee of encoded frames, and the shared
 * payloader with its RTP tee, plus the pad probes that keep one viewer's branch from holding
 * up the others. Owned and locked by #PscStream; built and stopped on the main thread, its
 * probes run on streaming threads.
 */

G_BEGIN_DECLS

/**
 * PscEncoding:
 *
 * One codec's encoder, a branch of the raw tee, with what fans its output out to viewers:
 *
 * |[
 * raw-tee ! encode-CODEC-N: queue leaky(2) ! videoconvert ! encoder [! h264parse ! caps]
 *         ! tee ─┬─ payloader pt=96 ! rtp-tee ─┬─ branches taking RTP at pt=96 (page viewers,
 *                │                             │  and WHEP players that offer 96)
 *                │                             ├─ [retarget] ! rtp-N tee ─┬─ branches taking
 *                │                             │   RTP at another payload │  it at that pt
 *                │                             │   type (WHEP)            └─ …
 *                │                             └─ …
 *                └─ branches taking the encoded stream (none in the daemon; tests)
 * ]|
 *
 * A source that delivers the codec already (H.264 from a camera) is passed through: the tee
 * of its frames takes the raw tee's place, and the bin is a plain queue.
 *
 * The owner (the stream) decides when an encoding runs and guards it with its own lock;
 * nothing here is thread-safe but the pad probes, which run on streaming threads.
 */
typedef struct _PscEncoding PscEncoding;

/**
 * psc_encoding_build_bin:
 * @codec: the codec @description encodes to
 * @description: (nullable): the encoder's gst-launch description (a #PscEncoderChoice's);
 *   %NULL: what comes in is @codec already (a source passed through), and the bin is a
 *   queue
 * @name: the bin's name
 * @error: a PSC_CONFIG_ERROR_USAGE if @description does not parse; a GST_CORE_ERROR
 *   (psc_element_make(), psc_element_link()) if the rest cannot be built
 *
 * Builds `queue leaky(2) ! videoconvert ! encoder [! h264parse ! caps]` with "sink" and "src"
 * ghost pads. The queue keeps at most two raw frames and drops the oldest, so a slow encoder
 * costs frames, never latency. H.264 leaves as byte-stream access units with SPS/PPS in band
 * before every IDR (h264parse config-interval=-1), whatever the encoder does by itself.
 *
 * Returns: (transfer full): the bin, or %NULL with @error set.
 */
GstElement *  psc_encoding_build_bin (PscCodec codec, const char *description,
    const char *name, GError **error);

/**
 * psc_encoding_new:
 * @pipeline: the pipeline to build in (a reference is kept)
 * @raw_tee: the tee of raw frames the encoder will take its input from, or, when
 *   @description is %NULL, the tee of the source's @codec frames (a reference is kept)
 * @codec: the codec
 * @description: (nullable): the encoder's gst-launch description; %NULL: no encoder, the
 *   source's frames are passed through (psc_encoding_build_bin())
 * @name: a name unique in @pipeline, e.g. "encode-h264-1"; the tees are called @name-tee
 *   and @name-rtp-tee
 * @error: as psc_encoding_build_bin(); GST_CORE_ERROR_MISSING_PLUGIN if the payloader is
 *   not installed
 *
 * Adds the encoder bin, its tee, the shared payloader (payload type
 * #PSC_PAYLOADER_DEFAULT_PT) and its RTP tee to @pipeline, linked to each other but not yet
 * to @raw_tee: nothing flows until psc_encoding_start(). Probes on the pads where the tees
 * meet their branches keep any one branch from holding up the others (see
 * psc_encoding_request_pad()). On failure nothing is left in @pipeline.
 *
 * Returns: (transfer full): the encoding, or %NULL with @error set.
 */
PscEncoding * psc_encoding_new (GstBin *pipeline, GstElement *raw_tee, PscCodec codec,
    const char *description, const char *name, GError **error);

/**
 * psc_encoding_start:
 * @encoding: an encoding from psc_encoding_new()
 * @error: GST_CORE_ERROR_NEGOTIATION if the raw tee cannot be linked to the encoder
 *
 * Brings the elements up to the pipeline's state (downstream first) and links a new pad of
 * the raw tee to the encoder, so frames flow. The encoder's first frame is a keyframe. On
 * failure nothing of the encoding is left in the pipeline; free it. Main thread.
 *
 * Returns: %TRUE if started.
 */
gboolean      psc_encoding_start (PscEncoding *encoding, GError **error);

/**
 * psc_encoding_stop:
 * @encoding: a started encoding, whose raw tee pad (psc_encoding_get_raw_tee_pad()) the
 *   caller has unlinked when idle, and that has no branch left
 *
 * Releases the raw tee pad, sets every element to NULL and removes it from the pipeline.
 * Main thread, never a streaming thread.
 */
void          psc_encoding_stop (PscEncoding *encoding);

/**
 * psc_encoding_free:
 * @encoding: the encoding
 *
 * Frees @encoding; whatever of it is still in the pipeline (it was never stopped) is set to
 * NULL and removed first.
 */
void          psc_encoding_free (PscEncoding *encoding);

/**
 * PSC_ENCODING_MAX_TARGETS:
 *
 * How many distinct (payload type, profile-level-id) pairs other than the payloader's own an
 * encoding rewrites its RTP for once, for all viewers of each (psc_encoding_request_pad()).
 * Players of one kind offer the same payload type (Chromium H.264 at 102 or 109, Firefox VP8
 * at 120): a few are in use at once. Beyond these, a viewer's packets are rewritten for it
 * alone, and its RTX history holds copies of its own rather than references.
 */
#define PSC_ENCODING_MAX_TARGETS 8

/**
 * psc_encoding_request_pad:
 * @encoding: the encoding, started
 * @payloaded: a pad carrying RTP (after the shared payloader) rather than the encoded stream
 * @payload_type: with @payloaded, the payload type the branch's SDP gives the codec: 96–127
 *   or 35–63 (psc_payloader_retarget()); #PSC_PAYLOADER_DEFAULT_PT for the payloader's own
 * @profile_level_id: (nullable): with @payloaded, the H.264 profile-level-id the branch's
 *   SDP is to say; %NULL for the payloader's
 *
 * A new pad for one viewer's branch, which the caller links and releases with
 * gst_element_release_request_pad() on the pad's parent, a tee of the encoding
 * (psc_encoding_has_tee()). The branch cannot hold up the others: the pad answers serialized
 * queries itself and keeps the upstream events that concern its branch alone (RECONFIGURE,
 * GstRTPCollision) from reaching what all share; and it lets through at most one keyframe
 * request per #PSC_KEYFRAME_VIEWER_GAP_NS from its viewer (psc_keyframe_viewer_gap_pass()).
 *
 * RTP at another payload type or profile-level-id than the payloader's (a WHEP answer must use
 * the offer's, RFC 8829 §5.3.1 / RFC 3264 §6.1) comes from a tee of its own, fed by the RTP
 * tee through psc_payloader_retarget(): each packet is rewritten once for every viewer of that
 * pair, on the payloader's thread, so they share the copies as page viewers share the
 * payloader's packets — each webrtcbin's RTX history (500 packets, gstwebrtcbin.c) holds
 * references, not copies of its own. A pair's tee, made for its first viewer, stays until
 * the encoding stops, and copies nothing while no viewer uses it. Past
 * #PSC_ENCODING_MAX_TARGETS pairs, the branch's own pad of the RTP tee is retargeted.
 * Main thread.
 *
 * Returns: (transfer full): the tee's new source pad.
 */
GstPad *      psc_encoding_request_pad (PscEncoding *encoding, gboolean payloaded,
    guint payload_type, const char *profile_level_id);

/**
 * psc_encoding_has_tee:
 * @encoding: the encoding
 * @tee: a tee, the parent of a pad psc_encoding_request_pad() gave
 *
 * Whether @tee is one of @encoding's: its encoded stream's, its RTP's, or a target's.
 *
 * Returns: %TRUE if it is.
 */
gboolean      psc_encoding_has_tee (PscEncoding *encoding, GstElement *tee);

/**
 * psc_encoding_get_tee_sink:
 * @encoding: the encoding
 *
 * Where the stream counts frames and keyframes and watches keyframe requests
 * (#PscKeyframePolicy).
 *
 * Returns: (transfer none): the tee's sink pad, where every encoded frame arrives and every
 *   keyframe request (an upstream GstForceKeyUnit) leaves for the encoder.
 */
GstPad *      psc_encoding_get_tee_sink (PscEncoding *encoding);

/**
 * psc_encoding_get_bin:
 * @encoding: the encoding
 *
 * The element psc_encoding_start() links the raw tee to.
 *
 * Returns: (transfer none): the encoder's bin, the pipeline's child that the raw tee feeds.
 */
GstElement *  psc_encoding_get_bin (PscEncoding *encoding);

/**
 * psc_encoding_get_raw_tee_pad:
 * @encoding: the encoding
 *
 * The pad the caller unlinks (in an IDLE probe) before psc_encoding_stop().
 *
 * Returns: (transfer none) (nullable): the raw tee's pad feeding the encoder; %NULL before
 *   psc_encoding_start().
 */
GstPad *      psc_encoding_get_raw_tee_pad (PscEncoding *encoding);

/**
 * psc_encoding_get_codec:
 * @encoding: the encoding
 *
 * Which of the stream's per-codec slots @encoding fills.
 *
 * Returns: the codec @encoding was made for (psc_encoding_new()).
 */
PscCodec      psc_encoding_get_codec (PscEncoding *encoding);

G_END_DECLS
