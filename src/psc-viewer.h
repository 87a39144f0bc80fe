/* periscope — one viewer: a `queue ! payloader ! webrtcbin` branch on a shared stream
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-ice.h"
#include "psc-sdp.h"
#include "psc-stream.h"

G_BEGIN_DECLS

#define PSC_TYPE_VIEWER (psc_viewer_get_type ())
G_DECLARE_FINAL_TYPE (PscViewer, psc_viewer, PSC, VIEWER, GObject)

/**
 * PscViewerState:
 * @PSC_VIEWER_NEW: not started
 * @PSC_VIEWER_OFFERING: branch attached, the SDP offer is being made
 * @PSC_VIEWER_OFFERED: the offer was handed out (#PscViewer::offer); waiting for the answer
 * @PSC_VIEWER_ANSWERED: the answer is applied; ICE and DTLS are connecting
 * @PSC_VIEWER_CONNECTED: media flows to the viewer
 * @PSC_VIEWER_CLOSED: stopped or failed; the branch is gone or going
 */
typedef enum {
  PSC_VIEWER_NEW,
  PSC_VIEWER_OFFERING,
  PSC_VIEWER_OFFERED,
  PSC_VIEWER_ANSWERED,
  PSC_VIEWER_CONNECTED,
  PSC_VIEWER_CLOSED,
} PscViewerState;

/**
 * PscViewerOptions:
 * @ice_addresses: (nullable): if set, the only local addresses ICE gathers on
 * @connect_timeout_s: seconds from start to connected before the viewer fails with
 *   PSC_PROTOCOL_ERROR_TIMEOUT
 * @max_viewers: WebRTC sessions with the camera at most, over every stream (signalling
 *   refuses more); 0 means no limit
 * @ice_servers: (nullable) (element-type PscIceServer): STUN/TURN servers for webrtcbin
 *   (the first STUN server, every TURN server)
 */
typedef struct {
  const char *const *ice_addresses;
  guint connect_timeout_s;
  guint max_viewers;
  GPtrArray *ice_servers;
} PscViewerOptions;

/**
 * PscViewerStats:
 * @bytes_sent: RTP payload bytes sent to the viewer (outbound-rtp)
 * @packets_sent: RTP packets sent
 * @round_trip_time_ms: from the viewer's RTCP receiver reports (remote-inbound-rtp), or < 0
 *   before the first one
 * @fraction_lost: fraction of packets lost, 0..1, from the same reports, or < 0
 * @packets_lost: cumulative packets lost as the viewer reports it, or < 0
 *
 * What webrtcbin's get-stats says of one viewer (W3C webrtc-stats names in brackets).
 */
typedef struct {
  guint64 bytes_sent;
  guint64 packets_sent;
  double round_trip_time_ms;
  double fraction_lost;
  gint64 packets_lost;
} PscViewerStats;

/**
 * PscViewerStatsFunc:
 * @viewer: the viewer
 * @stats: its statistics
 * @user_data: closure
 *
 * Called on the main context.
 */
typedef void (*PscViewerStatsFunc) (PscViewer *viewer, const PscViewerStats *stats,
    gpointer user_data);

/**
 * psc_viewer_new:
 * @stream: the stream to watch
 * @peer_id: the viewer's peer id (names the branch, for logs and dot files)
 * @codec: the codec it receives
 * @options: ICE and timeout settings; copied
 *
 * Returns: (transfer full): a viewer; nothing happens until psc_viewer_start().
 */
PscViewer * psc_viewer_new (PscStream *stream, const char *peer_id, PscCodec codec,
    const PscViewerOptions *options);

/**
 * psc_viewer_start:
 *
 * Builds the branch — `queue leaky=downstream ! payloader ! webrtcbin` with one sendonly
 * transceiver (NACK on), max-bundle, UPnP off — attaches it to the stream's tee, and makes
 * the SDP offer once the encoded caps have reached webrtcbin (so the offer describes the
 * real stream: profile-level-id, packetization-mode). The offer, the local ICE candidates
 * and the outcome arrive as signals on the main context. Main thread only.
 */
void        psc_viewer_start (PscViewer *viewer);

/**
 * psc_viewer_start_answer:
 * @viewer: a viewer not started yet
 * @offer: the viewer's SDP offer (WHEP)
 * @choice: what psc_sdp_choose_codec() chose from @offer: its payload type for the
 *   viewer's codec; for H.264 its profile-level-id, answered as is (a constrained-baseline
 *   stream conforms to what psc_sdp_choose_codec() accepts)
 * @error: PSC_PROTOCOL_ERROR_BAD_SDP if @offer is not SDP
 *
 * Answerer mode: builds the branch like psc_viewer_start(), applies @offer once the encoded
 * caps reach webrtcbin, answers, and emits #PscViewer::answer — the SDP with every local
 * candidate — when ICE gathering is complete. Remote candidates may follow
 * (psc_viewer_add_ice_candidate()). Main thread only.
 *
 * Returns: %TRUE if started; the outcome comes as signals.
 */
gboolean    psc_viewer_start_answer (PscViewer *viewer, const char *offer,
    const PscSdpCodecChoice *choice, GError **error);

/**
 * psc_viewer_set_answer:
 * @viewer: the viewer
 * @sdp: the viewer's SDP answer
 * @error: PSC_PROTOCOL_ERROR_BAD_STATE if no offer is outstanding,
 *   PSC_PROTOCOL_ERROR_BAD_SDP if the SDP does not parse or cannot answer our offer
 *   (see psc_sdp_check_answer())
 *
 * Applies the answer. On error nothing changes and a corrected answer may follow.
 * webrtcbin may still refuse it later: then #PscViewer::failed is emitted.
 *
 * Returns: %TRUE if the answer was handed to webrtcbin.
 */
gboolean    psc_viewer_set_answer (PscViewer *viewer, const char *sdp, GError **error);

/**
 * psc_viewer_add_ice_candidate:
 * @viewer: the viewer
 * @sdp_mline_index: the m-line (0: there is one)
 * @candidate: a "candidate:…" attribute value, or "" for end-of-candidates (ignored)
 * @error: PSC_PROTOCOL_ERROR_BAD_STATE before the answer,
 *   PSC_PROTOCOL_ERROR_INVALID_FIELD for an m-line we did not offer
 *
 * Returns: %TRUE if the candidate was handed to webrtcbin.
 */
gboolean    psc_viewer_add_ice_candidate (PscViewer *viewer, guint sdp_mline_index,
    const char *candidate, GError **error);

/**
 * psc_viewer_stop:
 *
 * Detaches the branch (see psc_stream_detach()) and emits nothing more. Idempotent.
 * Main thread only.
 */
void        psc_viewer_stop (PscViewer *viewer);

/**
 * psc_viewer_get_stats_async:
 * @viewer: the viewer
 * @callback: called once, on the main context, with the statistics
 * @user_data: for @callback
 *
 * Asks webrtcbin for its statistics (get-stats). Always calls back, with zeros and unknowns
 * for a viewer whose session has not started.
 */
void            psc_viewer_get_stats_async (PscViewer *viewer, PscViewerStatsFunc callback,
    gpointer user_data);

/**
 * psc_viewer_get_started_at:
 * Returns: when the viewer started, in µs since the Unix epoch.
 */
gint64          psc_viewer_get_started_at (PscViewer *viewer);

const char *    psc_viewer_get_peer_id (PscViewer *viewer);
PscViewerState  psc_viewer_get_state (PscViewer *viewer);


/**
 * psc_viewer_prepare:
 *
 * Makes, on a worker thread, the DTLS certificate every webrtcbin of the process shares:
 * GStreamer's DTLS elements generate one RSA key per process on first use (gstdtlsdec.c,
 * the generated-certificate agent), which took ~300 ms here, inside the first viewer's
 * offer. Call once at start-up; returns at once.
 */
void        psc_viewer_prepare (void);

G_END_DECLS
