/* periscope — a viewer's send path inside webrtcbin: one frame, one buffer list, to the socket
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

/**
 * SECTION:psc-sendpath
 * @title: psc-sendpath
 * @short_description: a viewer's send path inside webrtcbin: one frame, one buffer list, to the socket
 *
 * Works around GStreamer 1.22's webrtcbin splitting every RTP buffer list into single packets
 * at its FEC encoder, so that a frame reaches libnice in one sendmmsg. Called by #PscViewer on
 * the main context when a viewer connects, before media flows.
 */

G_BEGIN_DECLS

/**
 * psc_sendpath_skip_fec:
 * @webrtc: a `webrtcbin` whose negotiation is complete (call it when the connection is up,
 *   before media flows)
 *
 * Lets each RTP buffer list (one encoded frame's packets, as the payloaders push them) pass
 * webrtcbin's forward-error-correction encoder whole when FEC is not in use.
 *
 * GStreamer 1.22's webrtcbin puts `rtpulpfecenc ! rtpredenc` (in a bin of their own) on every
 * send stream, FEC negotiated or not; without FEC both pass every packet on untouched. Neither
 * implements chain_list, so GstPad's default splits every list into single buffers there, and
 * everything after it — rtprtxsend, rtpsession, srtpenc, the DTLS bin's funnel, nicesink —
 * handles a frame packet by packet: one push through each of ~15 pads per packet, and one
 * `sendmsg` each, where with the list nicesink hands libnice the frame and libnice sends it
 * with one `sendmmsg` (g_socket_send_messages). This adds a probe on that bin's sink pad
 * that pushes buffers and lists straight to the bin's source pad; events and queries still
 * go through the two elements, so their state (caps, segment) stays as webrtcbin set it.
 *
 * It leaves a send stream as it is, and says why at debug level (category psc-sendpath),
 * unless that bin holds just the two elements, set to pass packets on untouched:
 * rtpulpfecenc without a FEC payload type and rtpredenc without redundancy or RED headers
 * (and no RED caps have left the bin) —
 * i.e. whenever FEC or RED is negotiated, or webrtcbin is built otherwise (another GStreamer
 * version). It looks once: periscope does not renegotiate a connection.
 *
 * The fix belongs in GStreamer (chain_list in both elements, or no FEC encoder when no FEC is
 * negotiated); this works around it on Debian 12's 1.22, and can go once periscope requires
 * a GStreamer that has it.
 *
 * Returns: the number of send streams whose FEC encoder this call made RTP go around (1 for
 *   a viewer of periscope's, max-bundle with one video stream; 0 when it leaves them as they
 *   are, or when an earlier call did it already).
 */
guint psc_sendpath_skip_fec (GstElement *webrtc);

G_END_DECLS
