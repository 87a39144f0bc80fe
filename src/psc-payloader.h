/* periscope — RTP payloaders, and the caps webrtcbin turns into the SDP offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-codec.h"

/**
 * SECTION:psc-payloader
 * @title: psc-payloader
 * @short_description: RTP payloaders, and the caps webrtcbin turns into the SDP offer
 *
 * Makes the RTP payloader of a codec, set up for WebRTC (MTU, SPS/PPS in band, a whole
 * access unit per push), and derives the H.264 profile-level-id periscope announces; one
 * payloader per encoding serves every viewer, each viewer's branch rewriting at most the
 * payload type and the caps (psc_payloader_retarget()). Called on the main thread when an
 * encoding or a viewer's branch is built; the probes run on streaming threads.
 */

G_BEGIN_DECLS

/**
 * PSC_PAYLOADER_MTU:
 *
 * RTP packet size in bytes. 1200 leaves room for SRTP, the TURN/UDP/IPv6 headers and
 * tunnels on a 1500-byte path, as browsers do.
 */
#define PSC_PAYLOADER_MTU 1200

/**
 * PSC_PAYLOADER_DEFAULT_PT:
 *
 * The RTP payload type periscope offers (96, the first of RFC 3551's dynamic range), and the
 * one the shared payloader of each encoder works at. A viewer whose answer (WHEP) uses another
 * gets its packets rewritten (psc_payloader_retarget()).
 */
#define PSC_PAYLOADER_DEFAULT_PT 96

/**
 * psc_payloader_new:
 * @codec: the codec of the encoded stream
 * @error: GST_CORE_ERROR_MISSING_PLUGIN if the payloader element is not installed
 *
 * The payloader an encoding shares among all its viewers, at payload type
 * #PSC_PAYLOADER_DEFAULT_PT.
 *
 * H.264: `rtph264pay config-interval=-1 aggregate-mode=zero-latency` — SPS/PPS with every
 * IDR, and each access unit sent as soon as it is complete. Its output caps — which webrtcbin
 * turns into the offer's a=fmtp — always carry packetization-mode=1 and the
 * profile-level-id of psc_payloader_h264_profile_level_id(), from the moment the first caps
 * arrive (a viewer joining mid-GOP has not seen an SPS yet); sprop-parameter-sets are left
 * out, as SPS/PPS travel in band. VP8: `rtpvp8pay
 * picture-id-mode=15-bit`, which RFC 7741 receivers use to detect loss.
 *
 * Either way each access unit (frame) leaves the payloader in one push, a buffer list:
 * rtph264pay pushes every NAL unit (slice) on its own, so a probe on its source pad holds a
 * unit's packets back until the one with the RTP marker bit (RFC 6184 §5.1, RFC 7741 §4.1;
 * pushed in the same call, as the encoders deliver whole access units) and sends them on
 * together. Every viewer's queue, webrtcbin and socket then handles a frame once, not once per
 * slice. Serialized events send what is held first; a flush or a new stream (the capture
 * restarted) drops it; a unit that ends without a marker is sent when the next begins, and
 * from then on, until the next stream-start, nothing is held back.
 *
 * Returns: (transfer floating): the payloader, or %NULL with @error set.
 */
GstElement * psc_payloader_new (PscCodec codec, GError **error);

/**
 * psc_payloader_retarget:
 * @pad: a source pad that carries the shared payloader's RTP (at #PSC_PAYLOADER_DEFAULT_PT):
 *   the RTP tee's pad feeding the tee of every viewer of one payload type and profile
 *   (psc_encoding_request_pad()), or one viewer's own pad of the RTP tee
 * @payload_type: the payload type the viewer's SDP gives the codec: 96–127 (RFC 3551's dynamic
 *   range), or 35–63, which browsers use too once that range is full (Chromium's High 4:4:4
 *   H.264 decoder, f4001f, at 41)
 * @profile_level_id: (nullable): for H.264, the profile-level-id the viewer's SDP is to say
 *   (a WHEP answer's: what the offer accepts, RFC 6184 §8.2.2, psc_sdp_choose_codec()); %NULL
 *   keeps the payloader's
 *
 * Makes what passes @pad the viewers': its caps, which webrtcbin turns into the SDP, get
 * @payload_type and @profile_level_id; and when @payload_type is not the payloader's, each RTP
 * packet's payload type byte is rewritten (RFC 3550 §5.1, marker bit kept). The payloader's
 * packets are shared by every branch of its tee, so a packet is never written in place: it is
 * copied whole into a memory of its own (sharing the payload's memory instead made the
 * viewers' threads contend for its lock when each viewer rewrote its own, see
 * psc-payloader.c), and a frame's buffer list becomes a list of the copies, one push still
 * (psc-sendpath.h). At the payloader's own
 * payload type nothing is copied. The SSRC, sequence numbers and timestamps stay the shared
 * payloader's, as for every viewer of it (each viewer has its own SRTP session).
 *
 * This also replaces a payloader per payload type: the payloaders' templates allow 96–127
 * only, while a rewritten byte can be any payload type.
 */
void         psc_payloader_retarget (GstPad *pad, guint payload_type,
    const char *profile_level_id);

/**
 * psc_payloader_h264_profile_level_id:
 * @profile: the `profile` field of video/x-h264 caps (h264parse sets it from the SPS)
 * @level: the `level` field, e.g. "3.1": a level of H.264 Table A-1 as h264parse writes it
 *   (gst_codec_utils_h264_get_level_idc() reads it), or "1b"
 *
 * The SDP profile-level-id (RFC 6184 §8.1: profile_idc, profile-iop, level_idc as hex) for
 * a stream of that profile and level. Constrained Baseline is announced as `42e0LL`
 * (constraint_set0..2 set), the form every browser lists (42e01f at level 3.1) and matches
 * on; such a bitstream conforms to Baseline, Main and Extended alike, so it claims nothing
 * false. x264 writes 42c0LL in its SPS, which is why this is derived from profile and level
 * rather than copied from the SPS.
 *
 * Returns: (transfer full) (nullable): six hex digits, or %NULL for a profile or level not
 *   known here.
 */
char *       psc_payloader_h264_profile_level_id (const char *profile, const char *level);

G_END_DECLS
