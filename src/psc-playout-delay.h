/* periscope — the playout-delay RTP header extension: asking the browser to show frames now
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/rtp/rtp.h>

G_BEGIN_DECLS

/**
 * PSC_PLAYOUT_DELAY_URI:
 *
 * The extension's URI, as in `a=extmap` lines. Defined by the WebRTC project
 * (https://webrtc.googlesource.com/src/+/main/docs/native-code/rtp-hdrext/playout-delay/),
 * not by an RFC; Chromium honours it on receive.
 */
#define PSC_PLAYOUT_DELAY_URI "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

/**
 * PSC_PLAYOUT_DELAY_EXTMAP_ID:
 *
 * The one-byte header id periscope offers it under (1–14, RFC 8285 §4.2).
 */
#define PSC_PLAYOUT_DELAY_EXTMAP_ID 1

#define PSC_TYPE_PLAYOUT_DELAY (psc_playout_delay_get_type ())
G_DECLARE_FINAL_TYPE (PscPlayoutDelay, psc_playout_delay, PSC, PLAYOUT_DELAY,
    GstRTPHeaderExtension)

/**
 * psc_playout_delay_new:
 * @id: the extmap id to write it under (1–14)
 * @min_ms: the smallest delay the receiver may add before rendering, ms (0–40950)
 * @max_ms: the largest, ms (0–40950; at least @min_ms)
 *
 * A header extension for a payloader ("add-extension") that writes the playout delay into
 * every packet: 3 bytes, min then max, 12 bits each, in units of 10 ms (rounded down). A
 * 0/0 delay tells Chromium to render each frame as soon as it is decoded, without the
 * jitter buffer's smoothing delay — what a live camera wants on a LAN, and what cloud
 * gaming uses. webrtcbin puts it in the offer (from the payloader's caps, `extmap-ID`); a
 * browser that does not answer with it simply ignores the bytes (RFC 8285 §4.1.1).
 *
 * Returns: (transfer full): the extension.
 */
GstRTPHeaderExtension * psc_playout_delay_new (guint id, guint min_ms, guint max_ms);

G_END_DECLS
