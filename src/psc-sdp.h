/* periscope — checking a viewer's SDP answer against our offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/sdp/sdp.h>

G_BEGIN_DECLS

/**
 * psc_sdp_check_answer:
 * @offer: the offer we sent: one video m-line, sendonly
 * @answer: the viewer's answer
 * @error: a PSC_PROTOCOL_ERROR_BAD_SDP saying what is wrong, for the viewer's developer
 *
 * Checks what webrtcbin would otherwise refuse later (ending the session instead of letting
 * a corrected answer follow) or accept silently although the session cannot work:
 * - one m-line, video, not rejected (port 0), with the offer's protocol and mid
 *   (RFC 8829 §5.3.1: the answer has the offer's m-lines, in order);
 * - payload types among those offered, at least one of them not RTX;
 * - direction recvonly or inactive: the answer to sendonly (RFC 3264 §6.1);
 * - non-empty a=ice-ufrag and a=ice-pwd, media or session level (RFC 8839 §5.4);
 * - a=fingerprint "HASH XX:XX:…" (RFC 8122 §5) and a=setup active or passive, never actpass,
 *   in an answer (RFC 8842 §3.1).
 *
 * Returns: %TRUE if the answer can be applied.
 */
gboolean psc_sdp_check_answer (const GstSDPMessage *offer, const GstSDPMessage *answer,
    GError **error);

G_END_DECLS
