/* periscope benchmark — the load generator's peers and run, shared by its signalling clients
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * psc-bench-load.c runs the peers and the measurement; bench-periscope.c, bench-whep.c and
 * bench-janus.c each talk one server's signalling (a #BenchSignalling). Main context only, but for the
 * fields of #BenchPeer marked atomic.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef enum {
  BENCH_TARGET_PERISCOPE,
  BENCH_TARGET_JANUS,
  BENCH_TARGET_WHEP,            /* periscope's WHEP endpoint: the peers make the offers */
} BenchTarget;

typedef enum {
  BENCH_PHASE_CONNECTING,       /* peers starting, waiting for each one's first frame */
  BENCH_PHASE_MEASURING,        /* the window */
  BENCH_PHASE_COLLECTING,       /* window over, waiting for the closing get-stats */
  BENCH_PHASE_DONE,
} BenchPhase;

typedef struct _Bench Bench;

/**
 * BenchInboundStats:
 * @valid: a get-stats reply with an inbound-rtp entry arrived
 * @packets_lost: inbound-rtp `packets-lost`, summed over the peer's inbound streams
 * @packets_received: inbound-rtp `packets-received`, likewise
 *
 * webrtcbin's view of one peer's reception, cumulative since its session started.
 */
typedef struct {
  gboolean valid;
  gint64 packets_lost;
  guint64 packets_received;
} BenchInboundStats;

/**
 * BenchPeer:
 *
 * One receiving peer: its pipeline, its signalling state with the server, and its counters.
 * Owned by #Bench for the whole run (peers are never freed while a callback may still name
 * them). The counters marked atomic are written by the probe on a streaming thread; all the
 * rest belongs to the main context.
 */
typedef struct {
  Bench *bench;
  guint index;

  GstElement *pipeline;
  GstElement *webrtc;
  guint bus_watch;
  char *failure;                /* first reason this peer failed, or NULL */

  /* Milestones, monotonic µs; 0 until reached. */
  gint64 start_us;
  gint64 offer_us;
  gint64 ice_connected_us;

  /* periscope */
  SoupWebsocketConnection *connection;
  char *camera_id;

  /* periscope's WHEP */
  char *whep_resource;          /* the session's URL (Location), for its DELETE */

  /* Janus */
  gint64 janus_session;
  gint64 janus_handle;
  gboolean janus_polling;
  gboolean answer_acked;        /* candidates wait for it: they must not overtake the answer */
  GQueue pending_candidates;    /* JsonNode*, trickle messages held until answer_acked */
  GPtrArray *mids;              /* char*: the offer's a=mid per m-line, for sdpMid */

  /* Atomic (streaming thread). */
  guint64 packets;
  guint64 frames;
  guint64 bytes;
  gint64 first_frame_us;
  gint64 last_frame_us;

  /* The window. */
  guint64 packets_at_start;
  guint64 frames_at_start;
  guint64 bytes_at_start;
  guint64 packets_in_window;
  guint64 frames_in_window;
  guint64 bytes_in_window;
  gint64 max_stall_us;
  BenchInboundStats stats_at_start;
  BenchInboundStats stats_at_end;
} BenchPeer;

/**
 * BenchSignalling:
 * @start: opens the peer's signalling; the offer arrives later (or, for WHEP, the peer makes it:
 *   bench_peer_make_offer())
 * @send_answer: sends the answer (SDP text); called before webrtcbin gathers, so it goes first
 * @send_candidate: sends a local candidate ("candidate:…") of m-line @mline
 * @send_end_of_candidates: says that gathering is complete (WHEP: the offer, every candidate
 *   in it, can go)
 * @stop: closes the peer's signalling for good (the run is over)
 *
 * What differs between the servers. All run on the main context.
 */
typedef struct {
  void (*start) (BenchPeer *peer);
  void (*send_answer) (BenchPeer *peer, const char *sdp);
  void (*send_candidate) (BenchPeer *peer, guint mline, const char *candidate);
  void (*send_end_of_candidates) (BenchPeer *peer);
  void (*stop) (BenchPeer *peer);
} BenchSignalling;

/* /proc numbers for one process. */
typedef struct {
  double cpu_s;
  guint64 rss_kib;
  guint64 hwm_kib;
} ProcUsage;

/**
 * Bench:
 *
 * The whole run: options, the peers, the phases and the measurements. Main context only.
 */
struct _Bench {
  BenchTarget target;
  const BenchSignalling *signalling;
  char *url;
  gint64 mountpoint;
  guint viewers;
  guint duration_s;
  guint ramp_ms;
  guint connect_timeout_s;
  GArray *server_pids;          /* int */
  GStrv ice_addresses;          /* local addresses to gather host candidates on */
  GstCaps *offer_caps;          /* WHEP: what the peers' offers ask for */

  GMainLoop *loop;
  GMainContext *context;
  SoupSession *session;
  GCancellable *cancellable;    /* long polls and pending requests, cancelled on shutdown */
  guint pending_requests;       /* HTTP requests and WebSocket handshakes in flight */

  BenchPeer *peers;
  guint started;
  gint64 last_start_us;
  BenchPhase phase;
  gboolean stopping;
  guint ramp_source;
  guint connect_source;
  guint tick_source;
  guint window_source;
  guint stats_source;
  guint stats_outstanding;

  gint64 window_start_us;
  gint64 window_end_us;
  guint ticks;
  ProcUsage *server_start;      /* one per --server-pid */
  ProcUsage *server_end;
  ProcUsage self_start;
  ProcUsage self_end;
  gboolean server_end_valid;

  int exit_status;
  char *exit_reason;
};

/**
 * bench_peer_fail:
 * @peer: the peer
 * @format: printf-style: why
 *
 * Records why @peer failed (the first reason only) and says so once on stderr; the run
 * goes on without it (it counts as not receiving).
 */
void bench_peer_fail (BenchPeer *peer, const char *format, ...) G_GNUC_PRINTF (2, 3);

/**
 * bench_peer_handle_offer:
 * @peer: the peer
 * @sdp_text: the server's offer, SDP text
 *
 * Hands the offer to the peer's webrtcbin, which answers (through @peer's
 * #BenchSignalling send_answer) and then gathers. A bad offer fails the peer.
 */
void bench_peer_handle_offer (BenchPeer *peer, const char *sdp_text);

/**
 * bench_peer_add_remote_candidate:
 * @peer: the peer
 * @mline: the m-line index the candidate belongs to
 * @candidate: "candidate:…" (RFC 8839 §5.1), or an empty string for end-of-candidates
 *
 * Gives a server's ICE candidate to the peer's webrtcbin.
 */
void bench_peer_add_remote_candidate (BenchPeer *peer, guint mline, const char *candidate);

/**
 * bench_peer_make_offer:
 * @peer: the peer
 *
 * The peer as a WHEP player: its webrtcbin offers to receive the stream the bench's offer
 * caps describe (recvonly, NACK and RTX on, as browsers offer), applies its offer and gathers;
 * once gathering is complete the #BenchSignalling's send_end_of_candidates sends the offer
 * (bench_peer_dup_local_sdp()).
 */
void bench_peer_make_offer (BenchPeer *peer);

/**
 * bench_peer_dup_local_sdp:
 * @peer: the peer
 *
 * Returns: (transfer full) (nullable): the SDP text of the peer's local description, with the
 *   candidates gathered so far, or %NULL if it has none.
 */
char * bench_peer_dup_local_sdp (BenchPeer *peer);

/**
 * bench_peer_handle_answer:
 * @peer: the peer, which made the offer
 * @sdp_text: the server's answer, SDP text
 *
 * Applies the server's answer; a bad one fails the peer.
 */
void bench_peer_handle_answer (BenchPeer *peer, const char *sdp_text);

/* The servers' signalling: bench-periscope.c, bench-whep.c, bench-janus.c. */
extern const BenchSignalling bench_periscope_signalling;
extern const BenchSignalling bench_whep_signalling;
extern const BenchSignalling bench_janus_signalling;

G_END_DECLS
