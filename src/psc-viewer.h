/* periscope — one viewer: a `queue [! payloader] ! webrtcbin` branch on a shared stream
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-ice.h"
#include "psc-sdp.h"
#include "psc-stream.h"

/**
 * SECTION:psc-viewer
 * @title: psc-viewer
 * @short_description: one viewer: a queue [! payloader] ! webrtcbin branch on a shared stream
 *
 * A #PscViewer is one WebRTC session with one browser or player: its branch attached to a
 * #PscStream, the SDP exchange as offerer (WebSocket signalling) or answerer (WHEP), ICE, the
 * connect timeout, the RTCP silence check and statistics. It knows nothing of the wire: its
 * outcomes are signals and #PSC_VIEWER_ERROR codes, which signalling and WHEP translate. Main
 * context only; webrtcbin's callbacks hand their work over to it (psc_defer()).
 */

G_BEGIN_DECLS

/**
 * PSC_TYPE_VIEWER:
 *
 * The #GType of #PscViewer.
 */
#define PSC_TYPE_VIEWER (psc_viewer_get_type ())

/**
 * PscViewer:
 *
 * One viewer's WebRTC session (psc_viewer_new()); an opaque GObject. Its signals, all emitted
 * on the main context, never after psc_viewer_stop():
 * - `offer` (@viewer, the SDP offer text): offerer only, the offer to send to the viewer;
 * - `answer` (@viewer, the SDP answer text with every local candidate): answerer only, when
 *   ICE gathering is complete;
 * - `ice-candidate` (@viewer, the m-line index as a guint, a "candidate:…" line): a local
 *   candidate to trickle to the viewer;
 * - `connected` (@viewer): ICE and DTLS are up; media flows, starting with a keyframe;
 * - `failed` (@viewer, a #GError of #PSC_VIEWER_ERROR or an SDP error): the session is over;
 *   the owner stops and drops the viewer.
 */
G_DECLARE_FINAL_TYPE (PscViewer, psc_viewer, PSC, VIEWER, GObject)

/**
 * PSC_VIEWER_ERROR:
 *
 * The error domain of viewers: why a viewer failed or refused a call. Codes are
 * #PscViewerError.
 */
#define PSC_VIEWER_ERROR (psc_viewer_error_quark ())

/**
 * psc_viewer_error_quark:
 *
 * The quark behind #PSC_VIEWER_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_viewer_error_quark (void);

/**
 * PscViewerError:
 * @PSC_VIEWER_ERROR_BUILD: the viewer's branch cannot be built or attached (an element is
 *   missing, a link failed, the stream has no encoder for its codec or cannot start one)
 * @PSC_VIEWER_ERROR_BAD_STATE: a call that is not valid in the viewer's state (an answer
 *   with no offer outstanding, a candidate before the SDP exchange)
 * @PSC_VIEWER_ERROR_BAD_CANDIDATE: a remote ICE candidate for an m-line we did not offer
 * @PSC_VIEWER_ERROR_REMOTE_SDP: webrtcbin refused the viewer's SDP (offer or answer)
 * @PSC_VIEWER_ERROR_NEGOTIATION: webrtcbin failed to make our offer or answer
 * @PSC_VIEWER_ERROR_CONNECT_TIMEOUT: not connected within the connect timeout
 * @PSC_VIEWER_ERROR_CONNECTION_FAILED: ICE found no working candidate pair, or DTLS failed
 * @PSC_VIEWER_ERROR_SILENT: a connected viewer sent no RTCP for too long: its network or
 *   player is gone
 * @PSC_VIEWER_ERROR_ENDED: the viewer ended the session itself (RTCP BYE, RFC 3550 §6.6)
 * @PSC_VIEWER_ERROR_FAILED: an element of the viewer's branch failed while streaming
 *
 * Why a viewer failed or refused a call. Signalling and WHEP map these to their wire codes
 * (docs/protocol.md); the media layers know nothing of those.
 */
typedef enum {
  PSC_VIEWER_ERROR_BUILD,
  PSC_VIEWER_ERROR_BAD_STATE,
  PSC_VIEWER_ERROR_BAD_CANDIDATE,
  PSC_VIEWER_ERROR_REMOTE_SDP,
  PSC_VIEWER_ERROR_NEGOTIATION,
  PSC_VIEWER_ERROR_CONNECT_TIMEOUT,
  PSC_VIEWER_ERROR_CONNECTION_FAILED,
  PSC_VIEWER_ERROR_SILENT,
  PSC_VIEWER_ERROR_ENDED,
  PSC_VIEWER_ERROR_FAILED,
} PscViewerError;

/**
 * PscViewerRole:
 * @PSC_VIEWER_OFFERER: periscope makes the SDP offer and the viewer answers (the page's
 *   WebSocket signalling); candidates are trickled both ways
 * @PSC_VIEWER_ANSWERER: the viewer offers and periscope answers with every candidate in the
 *   answer (WHEP, draft-ietf-wish-whep §4.1); the viewer may trickle its own
 *
 * Who makes the SDP offer in a viewer's session.
 */
typedef enum {
  PSC_VIEWER_OFFERER,
  PSC_VIEWER_ANSWERER,
} PscViewerRole;

/**
 * PscViewerState:
 * @PSC_VIEWER_NEW: not started
 * @PSC_VIEWER_NEGOTIATING: branch attached; periscope is making its SDP (the offer, or the
 *   answer with ICE gathering)
 * @PSC_VIEWER_AWAITING_ANSWER: offerer: the offer was handed out (the `offer` signal), the
 *   viewer's answer has not come yet
 * @PSC_VIEWER_CONNECTING: the SDP exchange is complete; ICE and DTLS are connecting
 * @PSC_VIEWER_CONNECTED: media flows to the viewer
 * @PSC_VIEWER_CLOSED: stopped or failed; the branch is gone or going
 *
 * Where a viewer's session stands (psc_viewer_get_state()).
 */
typedef enum {
  PSC_VIEWER_NEW,
  PSC_VIEWER_NEGOTIATING,
  PSC_VIEWER_AWAITING_ANSWER,
  PSC_VIEWER_CONNECTING,
  PSC_VIEWER_CONNECTED,
  PSC_VIEWER_CLOSED,
} PscViewerState;

/**
 * psc_viewer_state_to_string:
 * @state: a state
 *
 * The `state` of a viewer in the REST API.
 *
 * Returns: (transfer none): the state's name as the REST API reports it: "new",
 *   "negotiating", "awaiting_answer", "connecting", "connected", "closed".
 */
const char * psc_viewer_state_to_string (PscViewerState state);

/**
 * PscViewerOptions:
 * @ice: ICE settings: the addresses to gather on, STUN/TURN servers (copied)
 * @connect_timeout_s: seconds from start to connected before the viewer fails with
 *   PSC_VIEWER_ERROR_CONNECT_TIMEOUT
 *
 * Settings every viewer of a signalling or WHEP endpoint shares (from #PscConfig).
 */
typedef struct {
  PscIceOptions ice;
  guint connect_timeout_s;
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
 * The callback of psc_viewer_get_stats_async(), called once, on the main context.
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
 * A viewer of @stream (a reference is kept), offerer or answerer depending on which of
 * psc_viewer_start() and psc_viewer_start_answer() starts it. Main thread only.
 *
 * Returns: (transfer full): a viewer; nothing happens until psc_viewer_start().
 */
PscViewer * psc_viewer_new (PscStream *stream, const char *peer_id, PscCodec codec,
    const PscViewerOptions *options);

/**
 * psc_viewer_start:
 * @viewer: a viewer not started yet
 * @error: PSC_VIEWER_ERROR_BUILD if the branch cannot be built or attached
 *
 * Offerer (#PSC_VIEWER_OFFERER): builds the branch — `queue leaky=downstream ! webrtcbin`,
 * fed by the encoder's shared payloader, with one sendonly transceiver (NACK on),
 * max-bundle, ICE set up by psc_ice_configure() — attaches it to the stream, and makes the
 * SDP offer once the encoded caps have reached webrtcbin (so the offer describes the real
 * stream: profile-level-id, packetization-mode). The offer, the local ICE candidates and
 * the outcome arrive as signals on the main context. Main thread only.
 *
 * Returns: %TRUE if started; on error nothing is left attached and no signal follows.
 */
gboolean    psc_viewer_start (PscViewer *viewer, GError **error);

/**
 * psc_viewer_set_profile_level_id:
 * @viewer: an H.264 viewer not started yet
 * @profile_level_id: the profile-level-id its offer is to announce, e.g. "f4001e"
 *
 * For an H.264 source passed through in a profile the viewer's browser lists under another
 * profile-level-id (a decoder of a profile above the stream's, H.264 Annex A.2): the offer
 * announces @profile_level_id instead of the stream's, which the browser matches to that
 * decoder. The branch still takes the encoder's shared payloader; only the caps its webrtcbin
 * sees say @profile_level_id (psc_payloader_retarget()). Main thread only.
 */
void        psc_viewer_set_profile_level_id (PscViewer *viewer, const char *profile_level_id);

/**
 * psc_viewer_enable_chat:
 * @viewer: an offerer viewer not started yet
 *
 * Its offer carries a chat data channel (#PscChatChannel: an SCTP m-line after the video
 * one); texts the browser sends on it come as the `chat` signal (@viewer, the text), and
 * psc_viewer_send_chat() answers. Viewers that do not ask cost what they did.
 */
void        psc_viewer_enable_chat (PscViewer *viewer);

/**
 * psc_viewer_send_chat:
 * @viewer: the viewer
 * @text: a text for the browser's chat data channel
 *
 * Sends @text if the viewer has an open chat data channel; does nothing otherwise.
 */
void        psc_viewer_send_chat (PscViewer *viewer, const char *text);

/**
 * psc_viewer_start_answer:
 * @viewer: a viewer not started yet
 * @offer: the viewer's SDP offer (WHEP), as psc_sdp_parse() made it; copied
 * @choice: what psc_sdp_choose_codec() chose from @offer: its payload type for the
 *   viewer's codec; for H.264 its profile-level-id, answered as is (a constrained-baseline
 *   stream conforms to what psc_sdp_choose_codec() accepts)
 * @error: PSC_VIEWER_ERROR_BUILD if the branch cannot be built or attached
 *
 * Answerer (#PSC_VIEWER_ANSWERER): builds the branch like psc_viewer_start(), on the
 * encoder's shared payloader, its output made the offer's (psc_payloader_retarget(): the
 * answer must use the offer's payload type and profile-level-id, and so must the packets),
 * applies @offer once the encoded caps reach webrtcbin, answers, and emits
 * the `answer` signal — the SDP with every local candidate — when ICE gathering is complete.
 * Remote candidates may follow (psc_viewer_add_ice_candidate()). Main thread only.
 *
 * Returns: %TRUE if started; on error nothing is left attached and no signal follows.
 */
gboolean    psc_viewer_start_answer (PscViewer *viewer, const GstSDPMessage *offer,
    const PscSdpCodecChoice *choice, GError **error);

/**
 * psc_viewer_set_answer:
 * @viewer: the viewer
 * @sdp: the viewer's SDP answer
 * @error: PSC_VIEWER_ERROR_BAD_STATE if no offer is outstanding; PSC_SDP_ERROR_INVALID
 *   if the SDP does not parse, PSC_SDP_ERROR_MISMATCH if it cannot answer our offer (see
 *   psc_sdp_check_answer())
 *
 * Applies the answer. On error nothing changes and a corrected answer may follow.
 * webrtcbin may still refuse it later: then the `failed` signal is emitted.
 *
 * Returns: %TRUE if the answer was handed to webrtcbin.
 */
gboolean    psc_viewer_set_answer (PscViewer *viewer, const char *sdp, GError **error);

/**
 * psc_viewer_add_ice_candidate:
 * @viewer: the viewer
 * @sdp_mline_index: the m-line (0: there is one)
 * @candidate: a "candidate:…" attribute value, or "" for end-of-candidates (ignored)
 * @error: PSC_VIEWER_ERROR_BAD_STATE before the SDP exchange is complete,
 *   PSC_VIEWER_ERROR_BAD_CANDIDATE for an m-line we did not offer
 *
 * Hands a remote candidate, trickled by the viewer (WebSocket `ice_candidate`, WHEP PATCH),
 * to webrtcbin. Main thread only.
 *
 * Returns: %TRUE if the candidate was handed to webrtcbin.
 */
gboolean    psc_viewer_add_ice_candidate (PscViewer *viewer, guint sdp_mline_index,
    const char *candidate, GError **error);

/**
 * psc_viewer_stop:
 * @viewer: the viewer
 *
 * Detaches the branch (see psc_stream_detach()) and emits nothing more. Idempotent.
 * Main thread only.
 */
void        psc_viewer_stop (PscViewer *viewer);

/**
 * PSC_VIEWER_STATS_TIMEOUT_MS:
 *
 * How long psc_viewer_get_stats_async() waits for webrtcbin's statistics, in ms.
 */
#define PSC_VIEWER_STATS_TIMEOUT_MS 2000

/**
 * psc_viewer_get_stats_async:
 * @viewer: the viewer
 * @callback: called once, on the main context, never inside this call, with the statistics
 * @user_data: for @callback
 *
 * Asks webrtcbin for its statistics (get-stats). Always calls back: with zeros and unknowns
 * for a viewer whose session has not started, that is stopped meanwhile
 * (psc_viewer_stop() answers every pending request), or whose webrtcbin has not replied
 * within #PSC_VIEWER_STATS_TIMEOUT_MS. The request holds a reference to @viewer until then.
 */
void            psc_viewer_get_stats_async (PscViewer *viewer, PscViewerStatsFunc callback,
    gpointer user_data);

/**
 * psc_viewer_get_started_at:
 * @viewer: the viewer
 *
 * For the REST API, and the order of listings.
 *
 * Returns: when the viewer started, in µs since the Unix epoch.
 */
gint64          psc_viewer_get_started_at (PscViewer *viewer);

/**
 * psc_viewer_get_peer_id:
 * @viewer: the viewer
 *
 * It is part of the name of the viewer's branch (`viewer-N-PEER_ID`, N unique in the process),
 * for logs and dot files.
 *
 * Returns: (transfer none): the peer id given to psc_viewer_new() (a WHEP viewer's is its
 *   session id).
 */
const char *    psc_viewer_get_peer_id (PscViewer *viewer);

/**
 * psc_viewer_get_state:
 * @viewer: the viewer
 *
 * For the REST API (psc_viewer_state_to_string()) and the owner's checks. Main context.
 *
 * Returns: where the session stands now.
 */
PscViewerState  psc_viewer_get_state (PscViewer *viewer);

/**
 * psc_viewer_get_role:
 * @viewer: the viewer
 *
 * Set by the call that started it (psc_viewer_start(): offerer, psc_viewer_start_answer():
 * answerer).
 *
 * Returns: whether periscope offers or answers in this viewer's session.
 */
PscViewerRole   psc_viewer_get_role (PscViewer *viewer);


/**
 * psc_viewer_prepare:
 *
 * Makes, on a thread of its own, the DTLS certificate every webrtcbin of the process shares:
 * GStreamer's DTLS elements generate one RSA key per process on first use (gstdtlsdec.c,
 * the generated-certificate agent), which took ~300 ms here, inside the first viewer's
 * offer. Call once at start-up; returns at once.
 *
 * Returns: (transfer full): that thread, to g_thread_join() before the process exits:
 *   OpenSSL's clean-up at exit pulled its locks from under a certificate being made, and
 *   the daemon stopped within that time crashed on its way out (seen under ASan, where the
 *   key takes seconds: test integration/program).
 */
GThread *   psc_viewer_prepare (void);

G_END_DECLS
