/* periscope — RTP payloaders, and the caps webrtcbin turns into the SDP offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-codec.h"

G_BEGIN_DECLS

/**
 * PSC_PAYLOADER_MTU:
 *
 * RTP packet size in bytes. 1200 leaves room for SRTP, the TURN/UDP/IPv6 headers and
 * tunnels on a 1500-byte path, as browsers do.
 */
#define PSC_PAYLOADER_MTU 1200

/**
 * psc_payloader_new:
 * @codec: the codec of the encoded stream
 * @payload_type: the RTP payload type (96–127, RFC 3551 dynamic range)
 *
 * H.264: `rtph264pay config-interval=-1 aggregate-mode=zero-latency` — SPS/PPS with every
 * IDR, and each access unit sent as soon as it is complete. Its caps' profile-level-id is
 * rewritten by psc_payloader_normalize_profile_level_id(). VP8: `rtpvp8pay
 * picture-id-mode=15-bit`, which RFC 7741 receivers use to detect loss.
 *
 * Returns: (transfer floating): the payloader.
 */
GstElement * psc_payloader_new (PscCodec codec, guint payload_type);

/**
 * psc_payloader_normalize_profile_level_id:
 * @profile_level_id: the 6 hex digits of an H.264 profile-level-id (RFC 6184 §8.1)
 *
 * A constrained-baseline stream (profile_idc 0x42 with constraint_set1) is announced as
 * `42e0LL` — constraint_set0..2 all set, the form every browser lists (42e01f at level 3.1)
 * and matches on — keeping the stream's level LL. A constrained-baseline bitstream conforms
 * to Baseline, Main and Extended alike, so this claims nothing false. Other values are
 * returned unchanged.
 *
 * Returns: (transfer full): the value to put in the SDP.
 */
char *       psc_payloader_normalize_profile_level_id (const char *profile_level_id);

G_END_DECLS
