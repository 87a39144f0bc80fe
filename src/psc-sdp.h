/* periscope — checking a viewer's SDP answer against our offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/sdp/sdp.h>
#include "psc-codec.h"

/**
 * SECTION:psc-sdp
 * @title: psc-sdp
 * @short_description: checking a viewer's SDP against our offer, and choosing a codec from its offer
 *
 * What periscope checks in SDP from the network before webrtcbin sees it: that it parses,
 * that an answer fits our offer, that a WHEP offer is complete, and which codec to send a WHEP
 * viewer. Pure data over #GstSDPMessage, any thread; errors are #PSC_SDP_ERROR, which
 * signalling and WHEP translate to their wire codes.
 */

G_BEGIN_DECLS

/**
 * PSC_SDP_ERROR:
 *
 * The error domain of SDP checks: what is wrong with a viewer's offer or answer. Codes are #PscSdpError.
 */
#define PSC_SDP_ERROR (psc_sdp_error_quark ())

/**
 * psc_sdp_error_quark:
 *
 * The quark behind #PSC_SDP_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_sdp_error_quark (void);

/**
 * PscSdpError:
 * @PSC_SDP_ERROR_INVALID: the text is not SDP (RFC 8866): empty, or it does not parse
 * @PSC_SDP_ERROR_NO_VIDEO: an offer without a video m-line periscope can send on
 * @PSC_SDP_ERROR_NO_CODEC: an offer listing no codec the stream can produce
 * @PSC_SDP_ERROR_MISMATCH: an answer that does not fit the offer it answers
 * @PSC_SDP_ERROR_INCOMPLETE: an offer that cannot start a session: no ICE credentials, no
 *   DTLS fingerprint, or an a=ssrc webrtcbin cannot take
 * @PSC_SDP_ERROR_TOO_LARGE: a trickle fragment over #PSC_SDP_MAX_FRAGMENT_LINES lines
 * @PSC_SDP_ERROR_ICE_RESTART: a trickle fragment with another a=ice-ufrag: an ICE restart,
 *   which periscope does not do (a player starts a new session instead)
 *
 * What is wrong with a viewer's SDP. Signalling and WHEP map these to their wire codes
 * (`bad_sdp`; HTTP 400, 406 for no codec in common, 413 for a fragment too large, 422 for an
 * ICE restart).
 */
typedef enum {
  PSC_SDP_ERROR_INVALID,
  PSC_SDP_ERROR_NO_VIDEO,
  PSC_SDP_ERROR_NO_CODEC,
  PSC_SDP_ERROR_MISMATCH,
  PSC_SDP_ERROR_INCOMPLETE,
  PSC_SDP_ERROR_TOO_LARGE,
  PSC_SDP_ERROR_ICE_RESTART,
} PscSdpError;

/**
 * PSC_SDP_MAX_FRAGMENT_LINES:
 *
 * Most lines (not counting empty ones) of one trickle fragment: RFC 8840 §9 puts candidates,
 * a=ice-ufrag/pwd, a=mid and m-lines in one; a browser trickles a handful of candidates.
 */
#define PSC_SDP_MAX_FRAGMENT_LINES 100

/**
 * psc_sdp_parse:
 * @text: (array length=length): SDP text from the network, not necessarily NUL-terminated
 * @length: its length in bytes
 * @what: what it is, for the message ("the offer", "the answer")
 * @error: PSC_SDP_ERROR_INVALID if @text is empty or not SDP (no "v=" line)
 *
 * gst_sdp_message_parse_buffer() made safe for text from the network: an empty buffer is an
 * error here, not a GLib critical.
 *
 * Returns: (transfer full): the parsed message, or %NULL with @error set.
 */
GstSDPMessage * psc_sdp_parse (const char *text, gsize length, const char *what,
    GError **error);

/**
 * psc_sdp_parse_fragment:
 * @text: (array length=length): the body of a WHEP PATCH, `application/trickle-ice-sdpfrag`
 *   (RFC 8840 §9), from the network, not necessarily NUL-terminated (a NUL byte ends it)
 * @length: its length in bytes
 * @ufrag: (nullable): the a=ice-ufrag of the session's offer; %NULL if it had none
 * @error: PSC_SDP_ERROR_TOO_LARGE over #PSC_SDP_MAX_FRAGMENT_LINES lines;
 *   PSC_SDP_ERROR_ICE_RESTART for an a=ice-ufrag other than @ufrag (RFC 8840 §4.4: a new
 *   ufrag is an ICE restart)
 *
 * Reads the `a=candidate:` lines of a trickle fragment, split at CR and LF; other lines
 * (a=mid, a=ice-pwd, m-lines, a=end-of-candidates) are allowed and ignored: periscope
 * sends one m-line, and webrtcbin checks each candidate itself.
 *
 * Returns: (transfer full): the candidates in order, each without its `a=` (`candidate:…`,
 *   as webrtcbin's add-ice-candidate takes it); empty for a fragment without one; %NULL with
 *   @error set.
 */
GStrv psc_sdp_parse_fragment (const char *text, gsize length, const char *ufrag,
    GError **error);

/**
 * psc_sdp_check_answer:
 * @offer: the offer we sent: one video m-line, sendonly, and for a viewer that asked for a
 *   chat data channel an application m-line after it
 * @answer: the viewer's answer
 * @error: a PSC_SDP_ERROR_MISMATCH saying what is wrong, for the viewer's developer
 *
 * Checks what webrtcbin would otherwise refuse later (ending the session instead of letting
 * a corrected answer follow) or accept silently although the session cannot work:
 * - the offer's m-lines (RFC 8829 §5.3.1: the answer has the offer's m-lines, in order): the
 *   first video, not rejected (port 0), with the offer's protocol and mid; the data
 *   channel's, if offered, application with its mid (rejected or not, RFC 8841);
 * - payload types among those offered, at least one of them not RTX (by the offer's
 *   a=rtpmap, as gst_sdp_media_get_caps_from_media() reads it: the name in any case);
 * - direction recvonly or inactive: the answer to sendonly (RFC 3264 §6.1);
 * - non-empty a=ice-ufrag and a=ice-pwd, media or session level (RFC 8839 §5.4);
 * - a=fingerprint "HASH XX:XX:…" (RFC 8122 §5) and a=setup active or passive, never actpass,
 *   in an answer (RFC 8842 §3.1).
 *
 * Returns: %TRUE if the answer can be applied.
 */
gboolean psc_sdp_check_answer (const GstSDPMessage *offer, const GstSDPMessage *answer,
    GError **error);

/**
 * psc_sdp_check_offer:
 * @offer: a viewer's offer (WHEP), as psc_sdp_parse() made it
 * @error: a PSC_SDP_ERROR_INCOMPLETE saying what is wrong, for the viewer's developer
 *
 * Checks, for every m-line that is not rejected (port 0), what webrtcbin would accept and
 * then fail on, after periscope had answered 201, or trip an assertion on:
 * - non-empty a=ice-ufrag and a=ice-pwd, media or session level (RFC 8839 §5.4);
 * - a=fingerprint "HASH XX:XX:…" (RFC 8122 §5), media or session level;
 * - each a=ssrc and a=ssrc-group SSRC a number from 1 to 2^32-1 (RFC 5576 §4.1): webrtcbin
 *   1.22 asserts on SSRC 0 (transport_stream_add_ssrc_map_item()).
 *
 * Returns: %TRUE if webrtcbin can be given the offer.
 */
gboolean psc_sdp_check_offer (const GstSDPMessage *offer, GError **error);

/**
 * psc_sdp_h264_profile_decodes:
 * @offered: (nullable): the profile-level-id a viewer announces its decoder with (an offer's
 *   a=fmtp, the page's `h264:` entries); %NULL is 42000A, Baseline (RFC 6184 §8.1)
 * @stream: (nullable): the profile-level-id of the H.264 sent (a source passed through,
 *   psc_stream_dup_h264_profile_level_id()); %NULL: constrained baseline, what periscope's
 *   encoders make
 *
 * Whether that decoder decodes that stream, by profile (H.264 Annex A.2): constrained
 * baseline on Baseline (0x42), Main (0x4d) and High (0x64) decoders (the entries browsers
 * list for it), Main on Main and the High profiles, each High profile on its own and those
 * after it (High 0x64, High 10 0x6e, High 4:2:2 0x7a, High 4:4:4 Predictive 0xf4: Debian's
 * Chromium lists f4001f and no 64…), any other profile only on its own. Levels are not compared: browsers announce level 3.1
 * (with level-asymmetry-allowed=1) and decode a level 4 stream all the same.
 *
 * Returns: %FALSE too for a malformed profile-level-id (not 6 hex digits).
 */
gboolean psc_sdp_h264_profile_decodes (const char *offered, const char *stream);

/**
 * PscSdpCodecChoice:
 * @codec: the codec chosen
 * @payload_type: its payload type in the offer
 * @profile_level_id: (nullable): for H.264, the offer's profile-level-id, to answer with
 * @mid: (nullable): the offer's mid for the video m-line
 *
 * What psc_sdp_choose_codec() chose from a WHEP offer. Clear with psc_sdp_codec_choice_clear().
 */
typedef struct {
  PscCodec codec;
  guint payload_type;
  char *profile_level_id;
  char *mid;
} PscSdpCodecChoice;

/**
 * psc_sdp_codec_choice_clear:
 * @choice: a choice
 *
 * Frees the strings @choice holds (not @choice itself) and sets them to %NULL.
 */
void psc_sdp_codec_choice_clear (PscSdpCodecChoice *choice);

/**
 * psc_sdp_choose_codec:
 * @offer: a viewer's offer (WHEP)
 * @available: per #PscCodec, whether the stream can produce it
 * @h264_profile_level_id: (nullable): the profile-level-id of the H.264 the stream sends
 *   when it comes from the source as it is (psc_stream_dup_h264_profile_level_id());
 *   %NULL: constrained baseline, what periscope's encoders make
 * @choice: (out caller-allocates): the codec chosen; clear with psc_sdp_codec_choice_clear()
 * @error: PSC_SDP_ERROR_NO_VIDEO when the offer has no video m-line we can send on
 *   (none, or only sendonly/inactive ones), PSC_SDP_ERROR_NO_CODEC when it lists no codec
 *   we can produce (the message names those it lists)
 *
 * Picks, in the offer's order of preference, the first payload type of its first video
 * m-line that periscope can produce: VP8/90000, or H264/90000 with packetization-mode=1 and a
 * profile whose decoders decode the stream's (psc_sdp_h264_profile_decodes(); RFC 6184
 * §8.1). Levels are not
 * compared: the answer repeats the offer's profile-level-id (RFC 6184 §8.2.2 keeps the
 * profile of the offer), and browsers announce level 3.1 with level-asymmetry-allowed=1
 * but decode higher levels (a 1080p stream is level 4) as far as their decoder can. An
 * offer whose H.264 profiles do not fit gets VP8 if it lists it, else a
 * PSC_SDP_ERROR_NO_CODEC naming the stream's profile-level-id.
 *
 * Each payload type is read with gst_sdp_media_get_caps_from_media(): encoding names match
 * in any case; fmtp parameter names too (RFC 2045 §5.1), a parameter without a value counts
 * as "=1"; an a=rtpmap without a clock rate takes the one registered for the name (90000
 * for VP8 and H264); a dynamic payload type without an a=rtpmap, or a static one (no
 * encoding name), is skipped.
 *
 * Returns: %TRUE if a codec was chosen.
 */
gboolean psc_sdp_choose_codec (const GstSDPMessage *offer,
    const gboolean available[PSC_CODEC_COUNT], const char *h264_profile_level_id,
    PscSdpCodecChoice *choice, GError **error);

G_END_DECLS
