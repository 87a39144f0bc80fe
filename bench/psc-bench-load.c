/* periscope benchmark — the load generator: N receiving WebRTC peers in one process
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each peer is its own GstPipeline with a webrtcbin that answers a server's offer (or, as a
 * WHEP player, makes one) and receives its video without decoding it: webrtcbin's src pad goes
 * to `fakesink sync=false async=false`, and a pad probe counts RTP packets, bytes and frames
 * (packets with the RTP marker bit). The server is periscope (its WebSocket signalling,
 * docs/protocol.md, or its WHEP endpoint) or Janus 1.1's streaming plugin (its plain HTTP REST
 * API, long polls included): one #BenchSignalling each, in bench-periscope.c, bench-whep.c and
 * bench-janus.c (psc-bench-load.h).
 *
 * bench/run.mjs starts the server under test (and, for Janus, its RTP feeder), then runs
 *
 *   psc-bench-load --target periscope --url ws://127.0.0.1:PORT/ws/camera \
 *       --viewers N --duration S --server-pid PID
 *   psc-bench-load --target whep --url http://127.0.0.1:PORT/whep/camera --codec h264 \
 *       --viewers N --duration S --server-pid PID
 *   psc-bench-load --target janus --url http://127.0.0.1:PORT/janus --mountpoint ID \
 *       --ice-address JANUS_ICE_ADDRESS \
 *       --viewers N --duration S --server-pid JANUS_PID --server-pid FEEDER_PID
 *
 * and reads the one JSON object this program prints on stdout (progress goes to stderr).
 * The peers start --ramp-ms apart; once every one of them has received a frame (or
 * --connect-timeout has passed since the last one started) a window of --duration seconds
 * measures the servers' CPU time (utime + stime of every --server-pid, from /proc), their
 * memory, and each peer's packets, frames, bytes and webrtcbin's inbound-rtp loss counters.
 *
 * Exit status: 0 when every peer connected and received frames throughout the window, 1
 * otherwise (the reason on stderr), 64 on a usage error.
 *
 * Host candidates are gathered on --ice-address only (127.0.0.1 by default), UPnP off. Janus
 * 1.1 never offers a loopback candidate (bench/janus.mjs), and libnice pairs no 127.0.0.1
 * candidate with a non-loopback one, so for Janus give the host address Janus gathers on:
 * packets to a local address still never leave the machine.
 *
 * Threads: one GMainLoop on the default main context owns the peers, the SoupSession and
 * every WebSocket. webrtcbin's signals, promises and the counting probe run on GStreamer's
 * threads; everything they need done is posted to the main context with psc_defer().
 */
#include "psc-bench-load.h"
#include "psc-defer.h"
#include "psc-protocol.h"

#include <agent.h>
#include <errno.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtp/rtp.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (psc_bench_load_debug);
#define GST_CAT_DEFAULT psc_bench_load_debug

#define PROGRAM "psc-bench-load"

/* sysexits.h */
#define EXIT_USAGE 64

/* A peer that goes this long without a frame during the window did not receive "throughout".
 * At 30 fps a frame is 33 ms; two seconds is a real interruption, not jitter. */
#define MAX_STALL_US (2 * G_USEC_PER_SEC)
/* The receiving jitterbuffer's latency, ms, of a peer that asks for retransmissions. */
#define BENCH_NACK_LATENCY_MS 50
/* How long to wait for the closing get-stats replies, and for goodbyes on shutdown. */
#define STATS_TIMEOUT_S 5
#define SHUTDOWN_GRACE_US (3 * G_USEC_PER_SEC)
/* Progress on stderr during the window, every this many seconds. */
#define PROGRESS_INTERVAL_S 10

static void bench_finish (Bench *bench, int status, const char *reason);
static void bench_maybe_start_window (Bench *bench);

/* ---- small helpers ---- */

static inline guint64
load_u64 (const guint64 *p)
{
  return __atomic_load_n (p, __ATOMIC_RELAXED);
}

static inline gint64
load_i64 (const gint64 *p)
{
  return __atomic_load_n (p, __ATOMIC_RELAXED);
}

static double
ms_between (gint64 from_us, gint64 to_us)
{
  return (to_us - from_us) / 1000.0;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Sorts @values in place. */
static double
median (double *values, guint n)
{
  if (n == 0)
    return 0;
  qsort (values, n, sizeof (double), compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* ---- /proc ---- */

/*
 * read_proc_usage:
 * @pid: a process id, or 0 for this process
 *
 * CPU time (utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks) and, from
 * /proc/PID/status, VmRSS and VmHWM (kB there, i.e. KiB).
 */
static gboolean
read_proc_usage (int pid, ProcUsage *usage, GError **error)
{
  g_autofree char *dir = pid > 0 ? g_strdup_printf ("/proc/%d", pid) : g_strdup ("/proc/self");
  g_autofree char *stat_path = g_build_filename (dir, "stat", NULL);
  g_autofree char *status_path = g_build_filename (dir, "status", NULL);
  g_autofree char *stat = NULL;
  g_autofree char *status = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after_name;

  if (!g_file_get_contents (stat_path, &stat, NULL, error) ||
      !g_file_get_contents (status_path, &status, NULL, error))
    return FALSE;

  /* The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
   * Field 3 is then the first one, so utime (14) is the 12th and stime (15) the 13th. */
  after_name = strrchr (stat, ')');
  if (after_name != NULL)
    fields = g_strsplit (after_name + 2, " ", 14);
  if (fields == NULL || g_strv_length (fields) < 14) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: unexpected format", stat_path);
    return FALSE;
  }
  usage->cpu_s = (g_ascii_strtoull (fields[11], NULL, 10) +
      g_ascii_strtoull (fields[12], NULL, 10)) / (double) sysconf (_SC_CLK_TCK);

  usage->rss_kib = usage->hwm_kib = 0;
  for (char *line = status; line != NULL && *line != '\0';) {
    char *next = strchr (line, '\n');
    if (g_str_has_prefix (line, "VmRSS:"))
      usage->rss_kib = g_ascii_strtoull (line + 6, NULL, 10);
    else if (g_str_has_prefix (line, "VmHWM:"))
      usage->hwm_kib = g_ascii_strtoull (line + 6, NULL, 10);
    line = next != NULL ? next + 1 : NULL;
  }
  return TRUE;
}

static gboolean
read_server_usage (Bench *bench, ProcUsage *usage)
{
  for (guint i = 0; i < bench->server_pids->len; i++) {
    g_autoptr (GError) error = NULL;
    int pid = g_array_index (bench->server_pids, int, i);

    if (!read_proc_usage (pid, &usage[i], &error)) {
      g_printerr (PROGRAM ": server process %d: %s\n", pid, error->message);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- events from GStreamer's threads to the main context ---- */

typedef enum {
  PEER_EVENT_OFFER,
  PEER_EVENT_ANSWER,
  PEER_EVENT_CANDIDATE,
  PEER_EVENT_GATHERING_DONE,
  PEER_EVENT_ICE_CONNECTED,
  PEER_EVENT_FIRST_FRAME,
  PEER_EVENT_STATS,
  PEER_EVENT_FAILED,
} PeerEventType;

typedef struct {
  BenchPeer *peer;
  PeerEventType type;
  GstWebRTCSessionDescription *description;  /* OFFER, ANSWER: ours */
  char *text;                           /* CANDIDATE: the candidate; FAILED: why */
  guint mline;                          /* CANDIDATE */
  gboolean at_end;                      /* STATS: the closing request (else the opening one) */
  BenchInboundStats stats;              /* STATS */
} PeerEvent;

static void
peer_event_free (gpointer data)
{
  PeerEvent *event = data;

  g_clear_pointer (&event->description, gst_webrtc_session_description_free);
  g_free (event->text);
  g_free (event);
}

static PeerEvent *
peer_event_new (BenchPeer *peer, PeerEventType type)
{
  PeerEvent *event = g_new0 (PeerEvent, 1);

  event->peer = peer;
  event->type = type;
  return event;
}

static gboolean dispatch_event (gpointer data);

/* Any thread: hands @event (taken) to the main context. */
static void
post_event (PeerEvent *event)
{
  psc_defer (event->peer->bench->context, dispatch_event, event, peer_event_free);
}

static void
post_failure (BenchPeer *peer, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
post_failure (BenchPeer *peer, const char *format, ...)
{
  PeerEvent *event = peer_event_new (peer, PEER_EVENT_FAILED);
  va_list args;

  va_start (args, format);
  event->text = g_strdup_vprintf (format, args);
  va_end (args);
  post_event (event);
}

/* ---- a peer's failures and milestones (main context) ---- */

static gboolean
peer_is_receiving (BenchPeer *peer)
{
  return load_i64 (&peer->first_frame_us) != 0;
}

void
bench_peer_fail (BenchPeer *peer, const char *format, ...)
{
  va_list args;

  if (peer->failure != NULL || peer->bench->stopping)
    return;
  va_start (args, format);
  peer->failure = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr (PROGRAM ": peer %u: %s\n", peer->index, peer->failure);
  bench_maybe_start_window (peer->bench);
}

/* ---- webrtcbin: its callbacks come on its threads ---- */

/* Streaming thread. */
static void
count_buffer (BenchPeer *peer, GstBuffer *buffer)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  gboolean marker;
  gint64 now, unset = 0;

  if (!gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return;
  marker = gst_rtp_buffer_get_marker (&rtp);
  gst_rtp_buffer_unmap (&rtp);

  __atomic_fetch_add (&peer->packets, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&peer->bytes, gst_buffer_get_size (buffer), __ATOMIC_RELAXED);
  if (!marker)
    return;
  /* The marker bit ends an access unit (H.264, RFC 6184 §5.1) or a frame (VP8, RFC 7741). */
  __atomic_fetch_add (&peer->frames, 1, __ATOMIC_RELAXED);
  now = g_get_monotonic_time ();
  __atomic_store_n (&peer->last_frame_us, now, __ATOMIC_RELAXED);
  if (__atomic_compare_exchange_n (&peer->first_frame_us, &unset, now, FALSE,
          __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    post_event (peer_event_new (peer, PEER_EVENT_FIRST_FRAME));
}

static gboolean
count_list_buffer (GstBuffer **buffer, guint index, gpointer user_data)
{
  count_buffer (user_data, *buffer);
  return TRUE;
}

/* Streaming thread. */
static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    count_buffer (user_data, GST_PAD_PROBE_INFO_BUFFER (info));
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info), count_list_buffer,
        user_data);
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: the received stream, still RTP (webrtcbin depayloads nothing). */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  BenchPeer *peer = user_data;
  GstElement *sink;
  g_autoptr (GstPad) sink_pad = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
  gst_bin_add (GST_BIN (peer->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp,
      peer, NULL);
  if (gst_pad_link (pad, sink_pad) != GST_PAD_LINK_OK)
    post_failure (peer, "could not link webrtcbin's %s to a fakesink", GST_PAD_NAME (pad));
}

/* webrtcbin's thread. */
static void
on_ice_candidate (GstElement *webrtc, guint mline, char *candidate, gpointer user_data)
{
  PeerEvent *event = peer_event_new (user_data, PEER_EVENT_CANDIDATE);

  event->mline = mline;
  event->text = g_strdup (candidate);
  post_event (event);
}

/* Any thread. */
static void
on_ice_gathering_state (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    post_event (peer_event_new (user_data, PEER_EVENT_GATHERING_DONE));
}

/* Any thread. */
static void
on_ice_connection_state (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCICEConnectionState state;

  g_object_get (webrtc, "ice-connection-state", &state, NULL);
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
      state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
    post_event (peer_event_new (user_data, PEER_EVENT_ICE_CONNECTED));
  else if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
    post_failure (user_data, "ICE failed");
}

/* Any thread. */
static void
on_connection_state (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    post_failure (user_data, "the peer connection failed (ICE or DTLS)");
}

/* webrtcbin's thread: waits for @promise's reply and takes it, and the promise: the session
 * description in its field @field (%NULL: none expected), and its error if it has one. */
static GstWebRTCSessionDescription *
take_reply (GstPromise *promise, const char *field, GError **error)
{
  const GstStructure *reply = NULL;
  GstWebRTCSessionDescription *description = NULL;

  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED)
    reply = gst_promise_get_reply (promise);
  if (reply != NULL && field != NULL)
    gst_structure_get (reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description, NULL);
  if (reply != NULL && gst_structure_has_field (reply, "error"))
    gst_structure_get (reply, "error", G_TYPE_ERROR, error, NULL);
  gst_promise_unref (promise);
  return description;
}

/* webrtcbin's thread. */
static void
on_answer_created (GstPromise *promise, gpointer user_data)
{
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  GstWebRTCSessionDescription *answer = take_reply (promise, "answer", &error);

  if (answer == NULL) {
    post_failure (peer, "webrtcbin could not answer the offer: %s",
        error != NULL ? error->message : "no reason given");
    return;
  }
  PeerEvent *event = peer_event_new (peer, PEER_EVENT_ANSWER);
  event->description = answer;
  post_event (event);
}

/* webrtcbin's thread. */
static void
on_offer_set (GstPromise *promise, gpointer user_data)
{
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;

  take_reply (promise, NULL, &error);
  if (error != NULL) {
    post_failure (peer, "webrtcbin refused the offer: %s", error->message);
    return;
  }
  g_signal_emit_by_name (peer->webrtc, "create-answer", NULL,
      gst_promise_new_with_change_func (on_answer_created, peer, NULL));
}

/* webrtcbin's thread: one field of the get-stats reply, a structure per stats object. */
static gboolean
collect_inbound_rtp (GQuark field, const GValue *value, gpointer user_data)
{
  BenchInboundStats *stats = user_data;
  const GstStructure *s;
  GstWebRTCStatsType type;
  gint64 lost = 0;
  guint64 received = 0;
  int lost32;

  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  s = gst_value_get_structure (value);
  if (!gst_structure_get (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL) ||
      type != GST_WEBRTC_STATS_INBOUND_RTP)
    return TRUE;
  /* packets-lost is a gint64 in 1.22 and was an int before; it can go negative (RFC 3550
   * §6.4.1, duplicates). */
  if (!gst_structure_get_int64 (s, "packets-lost", &lost) &&
      gst_structure_get_int (s, "packets-lost", &lost32))
    lost = lost32;
  gst_structure_get_uint64 (s, "packets-received", &received);
  stats->valid = TRUE;
  stats->packets_lost += lost;
  stats->packets_received += received;
  return TRUE;
}

typedef struct {
  BenchPeer *peer;
  gboolean at_end;
} StatsRequest;

/* webrtcbin's thread (or the caller's, if the promise is interrupted). */
static void
on_stats (GstPromise *promise, gpointer user_data)
{
  StatsRequest *request = user_data;
  PeerEvent *event = peer_event_new (request->peer, PEER_EVENT_STATS);
  const GstStructure *reply;

  event->at_end = request->at_end;
  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED &&
      (reply = gst_promise_get_reply (promise)) != NULL)
    gst_structure_foreach (reply, collect_inbound_rtp, &event->stats);
  gst_promise_unref (promise);
  post_event (event);
}

/* Main context: asks webrtcbin for its statistics; a STATS event always follows. */
static void
peer_request_stats (BenchPeer *peer, gboolean at_end)
{
  StatsRequest *request = g_new0 (StatsRequest, 1);

  request->peer = peer;
  request->at_end = at_end;
  if (peer->webrtc == NULL) {
    PeerEvent *event = peer_event_new (peer, PEER_EVENT_STATS);
    event->at_end = at_end;
    post_event (event);
    g_free (request);
    return;
  }
  g_signal_emit_by_name (peer->webrtc, "get-stats", NULL,
      gst_promise_new_with_change_func (on_stats, request, g_free));
}

/* Main context. */
static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer user_data)
{
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (message, &error, &debug);
    GST_DEBUG ("peer %u: %s", peer->index, debug);
    bench_peer_fail (peer, "pipeline error from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)),
        error->message);
  }
  return G_SOURCE_CONTINUE;
}

/* webrtcbin's thread: a transceiver made for the server's offer (periscope's page viewers,
 * Janus). Its answer then accepts NACK and RTX, as Chromium's and Firefox's do: without it
 * webrtcbin's answer leaves both out, and the server keeps no RTX history for the peer — a
 * cheaper viewer than any browser is. */
static void
on_new_transceiver (GstElement *webrtc, GstWebRTCRTPTransceiver *transceiver,
    gpointer user_data)
{
  g_object_set (transceiver, "do-nack", TRUE, NULL);
}

/* Main context: the peer's pipeline, made when its offer arrives. */
static gboolean
peer_build_pipeline (BenchPeer *peer)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  g_autoptr (GstBus) bus = NULL;

  peer->pipeline = gst_pipeline_new (NULL);
  peer->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  if (peer->webrtc == NULL) {
    bench_peer_fail (peer, "no webrtcbin: install gstreamer1.0-plugins-bad and gstreamer1.0-nice");
    return FALSE;
  }
  gst_util_set_object_arg (G_OBJECT (peer->webrtc), "bundle-policy", "max-bundle");
  /* Every peer asks for retransmissions, as browsers do (bench_peer_make_offer(),
   * on_new_transceiver()): with NACK on, a jitterbuffer at latency 0 takes every packet not
   * there yet for lost and asks for it again (9–10 % "loss" and as many retransmissions the
   * server pays for, 3 WHEP peers, 5 s, measured); 50 ms lets loopback's jitter pass, and only
   * real loss is asked for. */
  g_object_set (peer->webrtc, "latency", BENCH_NACK_LATENCY_MS, NULL);
  g_signal_connect (peer->webrtc, "on-new-transceiver", G_CALLBACK (on_new_transceiver), NULL);
  gst_bin_add (GST_BIN (peer->pipeline), peer->webrtc);

  /* No UPnP, UDP host candidates on --ice-address only (127.0.0.1 by default): no packet
   * leaves the machine, and fewer candidate pairs to check. */
  g_object_get (peer->webrtc, "ice-agent", &ice, NULL);
  g_object_set (ice, "ice-tcp", FALSE, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  g_object_set (agent, "upnp", FALSE, NULL);
  for (guint i = 0; peer->bench->ice_addresses[i] != NULL; i++) {
    NiceAddress address;
    nice_address_init (&address);
    nice_address_set_from_string (&address, peer->bench->ice_addresses[i]);
    nice_agent_add_local_address (NICE_AGENT (agent), &address);
  }

  g_signal_connect (peer->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), peer);
  g_signal_connect (peer->webrtc, "notify::ice-gathering-state",
      G_CALLBACK (on_ice_gathering_state), peer);
  g_signal_connect (peer->webrtc, "notify::ice-connection-state",
      G_CALLBACK (on_ice_connection_state), peer);
  g_signal_connect (peer->webrtc, "notify::connection-state",
      G_CALLBACK (on_connection_state), peer);
  g_signal_connect (peer->webrtc, "pad-added", G_CALLBACK (on_pad_added), peer);

  bus = gst_pipeline_get_bus (GST_PIPELINE (peer->pipeline));
  peer->bus_watch = gst_bus_add_watch (bus, on_bus_message, peer);
  if (gst_element_set_state (peer->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    bench_peer_fail (peer, "the pipeline would not start");
    return FALSE;
  }
  return TRUE;
}

/* Main context: the server's offer (SDP text) arrived. */
void
bench_peer_handle_offer (BenchPeer *peer, const char *sdp_text)
{
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *offer;

  if (peer->offer_us != 0) {
    bench_peer_fail (peer, "a second offer: renegotiation is not expected");
    return;
  }
  peer->offer_us = g_get_monotonic_time ();
  GST_DEBUG ("peer %u: offer\n%s", peer->index, sdp_text);
  if (gst_sdp_message_new_from_text (sdp_text, &sdp) != GST_SDP_OK) {
    gst_sdp_message_free (sdp);
    bench_peer_fail (peer, "the offer's SDP does not parse");
    return;
  }
  g_ptr_array_set_size (peer->mids, 0);
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    const char *mid = gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, i), "mid");
    g_ptr_array_add (peer->mids, g_strdup (mid != NULL ? mid : ""));
  }
  if (!peer_build_pipeline (peer)) {
    gst_sdp_message_free (sdp);
    return;
  }
  offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  g_signal_emit_by_name (peer->webrtc, "set-remote-description", offer,
      gst_promise_new_with_change_func (on_offer_set, peer, NULL));
  gst_webrtc_session_description_free (offer);
}

/* Main context: a remote candidate for m-line @mline ("candidate:…", or "a=candidate:…"). */
void
bench_peer_add_remote_candidate (BenchPeer *peer, guint mline, const char *candidate)
{
  if (peer->webrtc == NULL) {
    bench_peer_fail (peer, "a remote ICE candidate before the offer");
    return;
  }
  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  if (*candidate == '\0')
    return;
  GST_DEBUG ("peer %u: remote candidate %u %s", peer->index, mline, candidate);
  g_signal_emit_by_name (peer->webrtc, "add-ice-candidate", mline, candidate);
}

/* webrtcbin's thread. */
static void
on_offer_created (GstPromise *promise, gpointer user_data)
{
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  GstWebRTCSessionDescription *offer = take_reply (promise, "offer", &error);
  PeerEvent *event;

  if (offer == NULL) {
    post_failure (peer, "webrtcbin made no offer: %s",
        error != NULL ? error->message : "no reason given");
    return;
  }
  event = peer_event_new (peer, PEER_EVENT_OFFER);
  event->description = offer;
  post_event (event);
}

void
bench_peer_make_offer (BenchPeer *peer)
{
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;

  if (!peer_build_pipeline (peer))
    return;
  g_signal_emit_by_name (peer->webrtc, "add-transceiver",
      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, peer->bench->offer_caps, &transceiver);
  if (transceiver == NULL) {
    bench_peer_fail (peer, "webrtcbin would not add a receiving transceiver");
    return;
  }
  g_object_set (transceiver, "do-nack", TRUE, NULL);
  g_signal_emit_by_name (peer->webrtc, "create-offer", NULL,
      gst_promise_new_with_change_func (on_offer_created, peer, NULL));
}

char *
bench_peer_dup_local_sdp (BenchPeer *peer)
{
  GstWebRTCSessionDescription *local = NULL;
  char *text;

  if (peer->webrtc == NULL)
    return NULL;
  g_object_get (peer->webrtc, "local-description", &local, NULL);
  if (local == NULL)
    return NULL;
  text = gst_sdp_message_as_text (local->sdp);
  gst_webrtc_session_description_free (local);
  return text;
}

/* webrtcbin's thread. */
static void
on_answer_set (GstPromise *promise, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  take_reply (promise, NULL, &error);
  if (error != NULL)
    post_failure (user_data, "webrtcbin refused the answer: %s", error->message);
}

void
bench_peer_handle_answer (BenchPeer *peer, const char *sdp_text)
{
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *answer;

  GST_DEBUG ("peer %u: answer\n%s", peer->index, sdp_text);
  if (gst_sdp_message_new_from_text (sdp_text, &sdp) != GST_SDP_OK) {
    gst_sdp_message_free (sdp);
    bench_peer_fail (peer, "the answer's SDP does not parse");
    return;
  }
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  g_signal_emit_by_name (peer->webrtc, "set-remote-description", answer,
      gst_promise_new_with_change_func (on_answer_set, peer, NULL));
  gst_webrtc_session_description_free (answer);
}

static gboolean
dispatch_event (gpointer data)
{
  PeerEvent *event = data;
  BenchPeer *peer = event->peer;
  Bench *bench = peer->bench;
  g_autofree char *sdp = NULL;

  if (bench->stopping)
    return G_SOURCE_REMOVE;
  switch (event->type) {
    case PEER_EVENT_OFFER:
      /* Gathering starts with it; the offer goes once it is complete (send_end_of_candidates). */
      g_signal_emit_by_name (peer->webrtc, "set-local-description", event->description, NULL);
      break;
    case PEER_EVENT_ANSWER:
      /* Sent before webrtcbin applies it: the candidates it then gathers come after. */
      sdp = gst_sdp_message_as_text (event->description->sdp);
      bench->signalling->send_answer (peer, sdp);
      g_signal_emit_by_name (peer->webrtc, "set-local-description", event->description, NULL);
      break;
    case PEER_EVENT_CANDIDATE:
      GST_DEBUG ("peer %u: local candidate %u %s", peer->index, event->mline, event->text);
      bench->signalling->send_candidate (peer, event->mline, event->text);
      break;
    case PEER_EVENT_GATHERING_DONE:
      bench->signalling->send_end_of_candidates (peer);
      break;
    case PEER_EVENT_ICE_CONNECTED:
      if (peer->ice_connected_us == 0)
        peer->ice_connected_us = g_get_monotonic_time ();
      break;
    case PEER_EVENT_FIRST_FRAME:
      GST_INFO ("peer %u: first frame after %.0f ms", peer->index,
          ms_between (peer->start_us, load_i64 (&peer->first_frame_us)));
      bench_maybe_start_window (bench);
      break;
    case PEER_EVENT_STATS:
      if (event->at_end) {
        peer->stats_at_end = event->stats;
        if (--bench->stats_outstanding == 0 && bench->phase == BENCH_PHASE_COLLECTING)
          bench_finish (bench, -1, NULL);
      } else {
        peer->stats_at_start = event->stats;
      }
      break;
    case PEER_EVENT_FAILED:
      bench_peer_fail (peer, "%s", event->text);
      break;
  }
  return G_SOURCE_REMOVE;
}

/* ---- the run: ramp, window, results; main context ---- */

static gboolean
on_ramp (gpointer user_data)
{
  Bench *bench = user_data;
  BenchPeer *peer = &bench->peers[bench->started++];

  peer->start_us = bench->last_start_us = g_get_monotonic_time ();
  bench->signalling->start (peer);
  if (bench->started < bench->viewers)
    return G_SOURCE_CONTINUE;
  bench->ramp_source = 0;
  g_printerr (PROGRAM ": %u peer(s) started, waiting for their first frames\n",
      bench->viewers);
  bench_maybe_start_window (bench);
  return G_SOURCE_REMOVE;
}

static guint
count_receiving (Bench *bench)
{
  guint n = 0;

  for (guint i = 0; i < bench->viewers; i++)
    n += peer_is_receiving (&bench->peers[i]);
  return n;
}

/* Samples every peer's longest gap without a frame so far in the window. */
static void
sample_stalls (Bench *bench, gint64 now)
{
  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    gint64 since = MAX (load_i64 (&peer->last_frame_us), bench->window_start_us);
    peer->max_stall_us = MAX (peer->max_stall_us, now - since);
  }
}

static gboolean
on_tick (gpointer user_data)
{
  Bench *bench = user_data;
  gint64 now = g_get_monotonic_time ();

  sample_stalls (bench, now);
  if (++bench->ticks % PROGRESS_INTERVAL_S == 0) {
    guint stalled = 0;
    for (guint i = 0; i < bench->viewers; i++)
      stalled += bench->peers[i].max_stall_us >= MAX_STALL_US;
    g_printerr (PROGRAM ": %u/%u s, %u peer(s) receiving, %u stalled so far\n", bench->ticks,
        bench->duration_s, count_receiving (bench), stalled);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stats_timeout (gpointer user_data)
{
  Bench *bench = user_data;

  bench->stats_source = 0;
  g_printerr (PROGRAM ": %u get-stats repl%s missing after %u s\n", bench->stats_outstanding,
      bench->stats_outstanding == 1 ? "y" : "ies", STATS_TIMEOUT_S);
  bench_finish (bench, -1, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
on_window_end (gpointer user_data)
{
  Bench *bench = user_data;

  bench->window_source = 0;
  bench->window_end_us = g_get_monotonic_time ();
  bench->server_end_valid = read_server_usage (bench, bench->server_end);
  read_proc_usage (0, &bench->self_end, NULL);
  g_clear_handle_id (&bench->tick_source, g_source_remove);
  sample_stalls (bench, bench->window_end_us);
  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    peer->packets_in_window = load_u64 (&peer->packets) - peer->packets_at_start;
    peer->frames_in_window = load_u64 (&peer->frames) - peer->frames_at_start;
    peer->bytes_in_window = load_u64 (&peer->bytes) - peer->bytes_at_start;
  }

  bench->phase = BENCH_PHASE_COLLECTING;
  bench->stats_outstanding = bench->viewers;
  for (guint i = 0; i < bench->viewers; i++)
    peer_request_stats (&bench->peers[i], TRUE);
  bench->stats_source = g_timeout_add_seconds (STATS_TIMEOUT_S, on_stats_timeout, bench);
  return G_SOURCE_REMOVE;
}

static void
start_window (Bench *bench)
{
  guint receiving = count_receiving (bench);

  g_clear_handle_id (&bench->connect_source, g_source_remove);
  if (receiving == 0) {
    bench_finish (bench, 1, "no peer received a frame");
    return;
  }
  g_printerr (PROGRAM ": %u of %u peer(s) receiving after %.1f s; measuring for %u s\n",
      receiving, bench->viewers, ms_between (bench->peers[0].start_us,
          g_get_monotonic_time ()) / 1000, bench->duration_s);

  bench->phase = BENCH_PHASE_MEASURING;
  if (!read_server_usage (bench, bench->server_start)) {
    bench_finish (bench, 1, "a server process is gone");
    return;
  }
  read_proc_usage (0, &bench->self_start, NULL);
  bench->window_start_us = g_get_monotonic_time ();
  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    peer->packets_at_start = load_u64 (&peer->packets);
    peer->frames_at_start = load_u64 (&peer->frames);
    peer->bytes_at_start = load_u64 (&peer->bytes);
    peer_request_stats (peer, FALSE);
  }
  bench->tick_source = g_timeout_add_seconds (1, on_tick, bench);
  bench->window_source = g_timeout_add (bench->duration_s * 1000, on_window_end, bench);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  Bench *bench = user_data;

  bench->connect_source = 0;
  g_printerr (PROGRAM ": connect timeout (%u s): %u of %u peer(s) receiving\n",
      bench->connect_timeout_s, count_receiving (bench), bench->viewers);
  start_window (bench);
  return G_SOURCE_REMOVE;
}

/* The window starts once every peer has started and is receiving or has failed. */
static void
bench_maybe_start_window (Bench *bench)
{
  if (bench->phase != BENCH_PHASE_CONNECTING || bench->started < bench->viewers)
    return;
  if (bench->connect_source == 0)
    bench->connect_source = g_timeout_add_seconds (bench->connect_timeout_s,
        on_connect_timeout, bench);
  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    if (!peer_is_receiving (peer) && peer->failure == NULL)
      return;
  }
  start_window (bench);
}

/* ---- the report ---- */

static void
add_ms (JsonBuilder *builder, const char *name, gint64 from_us, gint64 to_us)
{
  json_builder_set_member_name (builder, name);
  if (to_us == 0 || from_us == 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_double_value (builder, ms_between (from_us, to_us));
}

static void
add_double (JsonBuilder *builder, const char *name, double value)
{
  json_builder_set_member_name (builder, name);
  /* Three decimals are plenty and keep the output readable. */
  json_builder_add_double_value (builder, (gint64) (value * 1000 + (value < 0 ? -.5 : .5)) /
      1000.0);
}

static void
add_int (JsonBuilder *builder, const char *name, gint64 value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

/* {min, median, max} of @values (n of them, sorted in place); all 0 when n is 0. */
static void
add_summary (JsonBuilder *builder, const char *name, double *values, guint n)
{
  double m = median (values, n);

  json_builder_set_member_name (builder, name);
  json_builder_begin_object (builder);
  add_double (builder, "min", n ? values[0] : 0);
  add_double (builder, "median", m);
  add_double (builder, "max", n ? values[n - 1] : 0);
  json_builder_end_object (builder);
}

/* A peer received throughout the window: it was receiving when the window started, got
 * frames in it, never went MAX_STALL_US without one, and did not fail. */
static gboolean
peer_received_throughout (BenchPeer *peer)
{
  return peer->failure == NULL && peer->frames_in_window > 0 &&
      peer->max_stall_us < MAX_STALL_US;
}

static void
add_peer (JsonBuilder *builder, Bench *bench, BenchPeer *peer, double window_s)
{
  gboolean have_stats = peer->stats_at_end.valid;

  json_builder_begin_object (builder);
  add_int (builder, "index", peer->index);
  json_builder_set_member_name (builder, "connected");
  json_builder_add_boolean_value (builder, peer_is_receiving (peer));
  json_builder_set_member_name (builder, "received_throughout");
  json_builder_add_boolean_value (builder, peer_received_throughout (peer));
  json_builder_set_member_name (builder, "error");
  if (peer->failure != NULL)
    json_builder_add_string_value (builder, peer->failure);
  else
    json_builder_add_null_value (builder);
  add_ms (builder, "offer_ms", peer->start_us, peer->offer_us);
  add_ms (builder, "ice_connected_ms", peer->start_us, peer->ice_connected_us);
  add_ms (builder, "first_frame_ms", peer->start_us, load_i64 (&peer->first_frame_us));
  add_int (builder, "frames", peer->frames_in_window);
  add_int (builder, "packets", peer->packets_in_window);
  add_int (builder, "bytes", peer->bytes_in_window);
  add_double (builder, "frames_per_s", peer->frames_in_window / window_s);
  add_double (builder, "kbit_per_s", peer->bytes_in_window * 8 / window_s / 1000);
  add_double (builder, "max_stall_ms", peer->max_stall_us / 1000.0);
  /* webrtcbin's counters over the window when both ends were read, else since the start. */
  json_builder_set_member_name (builder, "packets_lost");
  if (have_stats)
    json_builder_add_int_value (builder, peer->stats_at_end.packets_lost -
        (peer->stats_at_start.valid ? peer->stats_at_start.packets_lost : 0));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "packets_received");
  if (have_stats)
    json_builder_add_int_value (builder, peer->stats_at_end.packets_received -
        (peer->stats_at_start.valid ? peer->stats_at_start.packets_received : 0));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
}

/* Prints the JSON report on stdout. */
static void
bench_report (Bench *bench)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree double *fps = g_new0 (double, bench->viewers);
  g_autofree double *kbps = g_new0 (double, bench->viewers);
  g_autofree double *offer = g_new0 (double, bench->viewers);
  g_autofree double *ice = g_new0 (double, bench->viewers);
  g_autofree double *first = g_new0 (double, bench->viewers);
  guint n_offer = 0, n_ice = 0, n_first = 0, stalled = 0;
  gint64 lost = 0, received = 0;
  guint64 frames = 0, packets = 0, bytes = 0;
  double window_s = MAX (ms_between (bench->window_start_us, bench->window_end_us) / 1000,
      0.001);
  double server_cpu_s = 0;
  guint64 rss = 0, hwm = 0;
  gboolean measured = bench->window_end_us != 0;

  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    gint64 first_frame_us = load_i64 (&peer->first_frame_us);

    fps[i] = peer->frames_in_window / window_s;
    kbps[i] = peer->bytes_in_window * 8 / window_s / 1000;
    if (peer->offer_us)
      offer[n_offer++] = ms_between (peer->start_us, peer->offer_us);
    if (peer->ice_connected_us)
      ice[n_ice++] = ms_between (peer->start_us, peer->ice_connected_us);
    if (first_frame_us)
      first[n_first++] = ms_between (peer->start_us, first_frame_us);
    stalled += peer->max_stall_us >= MAX_STALL_US;
    frames += peer->frames_in_window;
    packets += peer->packets_in_window;
    bytes += peer->bytes_in_window;
    if (peer->stats_at_end.valid) {
      lost += peer->stats_at_end.packets_lost -
          (peer->stats_at_start.valid ? peer->stats_at_start.packets_lost : 0);
      received += peer->stats_at_end.packets_received -
          (peer->stats_at_start.valid ? peer->stats_at_start.packets_received : 0);
    }
  }
  for (guint i = 0; measured && bench->server_end_valid && i < bench->server_pids->len; i++) {
    server_cpu_s += bench->server_end[i].cpu_s - bench->server_start[i].cpu_s;
    rss += bench->server_end[i].rss_kib;
    hwm += bench->server_end[i].hwm_kib;
  }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "target");
  json_builder_add_string_value (builder,
      bench->target == BENCH_TARGET_JANUS ? "janus" :
      bench->target == BENCH_TARGET_WHEP ? "whep" : "periscope");
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, bench->url);
  add_int (builder, "viewers", bench->viewers);
  add_int (builder, "connected", count_receiving (bench));
  add_double (builder, "duration_s", measured ? window_s : 0);

  json_builder_set_member_name (builder, "server");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pids");
  json_builder_begin_array (builder);
  for (guint i = 0; i < bench->server_pids->len; i++)
    json_builder_add_int_value (builder, g_array_index (bench->server_pids, int, i));
  json_builder_end_array (builder);
  add_double (builder, "cpu_s", server_cpu_s);
  add_double (builder, "cpu_percent_of_one_core", measured ? server_cpu_s / window_s * 100 : 0);
  add_int (builder, "rss_kib", rss);
  add_int (builder, "hwm_kib", hwm);
  json_builder_end_object (builder);

  /* The load generator shares the machine with the server: what it cost is worth knowing. */
  json_builder_set_member_name (builder, "load_generator");
  json_builder_begin_object (builder);
  add_double (builder, "cpu_s", measured ? bench->self_end.cpu_s - bench->self_start.cpu_s : 0);
  add_double (builder, "cpu_percent_of_one_core",
      measured ? (bench->self_end.cpu_s - bench->self_start.cpu_s) / window_s * 100 : 0);
  add_int (builder, "rss_kib", bench->self_end.rss_kib);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "peers");
  json_builder_begin_object (builder);
  add_summary (builder, "frames_per_s", fps, bench->viewers);
  add_summary (builder, "kbit_per_s", kbps, bench->viewers);
  add_int (builder, "frames_total", frames);
  add_int (builder, "packets_total", packets);
  add_int (builder, "bytes_total", bytes);
  add_int (builder, "packets_lost_total", lost);
  add_int (builder, "packets_received_total", received);
  add_double (builder, "loss_percent", lost + received > 0 ?
      100.0 * lost / (double) (lost + received) : 0);
  add_int (builder, "stalled", stalled);
  add_summary (builder, "offer_ms", offer, n_offer);
  add_summary (builder, "ice_connected_ms", ice, n_ice);
  add_summary (builder, "first_frame_ms", first, n_first);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "per_peer");
  json_builder_begin_array (builder);
  for (guint i = 0; i < bench->viewers; i++)
    add_peer (builder, bench, &bench->peers[i], window_s);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

/* Decides the exit status from the window's results. */
static void
bench_judge (Bench *bench)
{
  guint not_connected = 0, not_throughout = 0;
  BenchPeer *example = NULL;

  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    if (!peer_is_receiving (peer))
      not_connected++;
    else if (!peer_received_throughout (peer))
      not_throughout++;
    else
      continue;
    if (example == NULL)
      example = peer;
  }
  if (!bench->server_end_valid) {
    bench->exit_status = 1;
    bench->exit_reason = g_strdup ("a server process was gone at the end of the window");
  } else if (example != NULL) {
    bench->exit_status = 1;
    bench->exit_reason = g_strdup_printf ("%u peer(s) never received a frame, %u did not "
        "receive throughout the window (peer %u: %s)", not_connected, not_throughout,
        example->index, example->failure != NULL ? example->failure :
        !peer_is_receiving (example) ? "no frame" : "stalled");
  } else {
    bench->exit_status = 0;
  }
}

/*
 * bench_finish:
 * @status: the exit status, or -1 to judge the window's results
 * @reason: (nullable): why, for a status other than 0
 *
 * Ends the run: prints the report (when a window was measured, or when nothing connected)
 * and quits the main loop. Later calls do nothing.
 */
static void
bench_finish (Bench *bench, int status, const char *reason)
{
  if (bench->phase == BENCH_PHASE_DONE)
    return;
  g_clear_handle_id (&bench->stats_source, g_source_remove);
  if (status < 0) {
    bench_judge (bench);
  } else {
    bench->exit_status = status;
    bench->exit_reason = g_strdup (reason);
  }
  if (status < 0 || bench->phase == BENCH_PHASE_CONNECTING)
    bench_report (bench);
  bench->phase = BENCH_PHASE_DONE;
  g_main_loop_quit (bench->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  Bench *bench = user_data;

  if (bench->phase == BENCH_PHASE_DONE) {
    g_printerr (PROGRAM ": interrupted again, exiting at once\n");
    _exit (1);
  }
  bench->phase = BENCH_PHASE_DONE;
  bench->exit_status = 1;
  bench->exit_reason = g_strdup ("interrupted");
  g_main_loop_quit (bench->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
shutdown_pending (gpointer data)
{
  Bench *bench = data;

  for (guint i = 0; i < bench->viewers; i++) {
    SoupWebsocketConnection *connection = bench->peers[i].connection;
    if (connection != NULL &&
        soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_CLOSED)
      return TRUE;
  }
  return bench->pending_requests > 0;
}

/* Says goodbye to the server, stops every pipeline, and waits a little for the goodbyes. */
static void
bench_shutdown (Bench *bench)
{
  gint64 deadline = g_get_monotonic_time () + SHUTDOWN_GRACE_US;

  bench->stopping = TRUE;
  g_clear_handle_id (&bench->ramp_source, g_source_remove);
  g_clear_handle_id (&bench->connect_source, g_source_remove);
  g_clear_handle_id (&bench->tick_source, g_source_remove);
  g_clear_handle_id (&bench->window_source, g_source_remove);
  g_clear_handle_id (&bench->stats_source, g_source_remove);
  g_cancellable_cancel (bench->cancellable);
  for (guint i = 0; i < bench->started; i++)
    bench->signalling->stop (&bench->peers[i]);
  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    if (peer->pipeline == NULL)
      continue;
    g_signal_handlers_disconnect_by_data (peer->webrtc, peer);
    gst_element_set_state (peer->pipeline, GST_STATE_NULL);
  }
  while (shutdown_pending (bench) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (bench->context, FALSE) || (g_usleep (1000), TRUE);
  /* Whatever is still queued (deferred events) must not outlive the peers. */
  while (g_main_context_iteration (bench->context, FALSE))
    ;
}

static void
bench_free (Bench *bench)
{
  gboolean drained = bench->pending_requests == 0;

  for (guint i = 0; i < bench->viewers; i++) {
    BenchPeer *peer = &bench->peers[i];
    g_clear_handle_id (&peer->bus_watch, g_source_remove);
    g_clear_object (&peer->connection);
    g_clear_object (&peer->pipeline);
    g_free (peer->failure);
    g_free (peer->camera_id);
    g_free (peer->whep_resource);
    g_queue_clear_full (&peer->pending_candidates, (GDestroyNotify) json_node_unref);
    g_ptr_array_unref (peer->mids);
  }
  /* Requests still in flight name their peer: keep the peers rather than free them under
   * libsoup's feet (the process is about to exit). */
  if (drained)
    g_free (bench->peers);
  g_clear_object (&bench->session);
  g_clear_object (&bench->cancellable);
  g_clear_pointer (&bench->loop, g_main_loop_unref);
  g_array_unref (bench->server_pids);
  g_clear_pointer (&bench->offer_caps, gst_caps_unref);
  g_free (bench->server_start);
  g_free (bench->server_end);
  g_free (bench->url);
  g_strfreev (bench->ice_addresses);
  g_free (bench->exit_reason);
  g_free (bench);
}

/* ---- command line ---- */

static int
usage_error (GOptionContext *context, const char *format, ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (GOptionContext *context, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr (PROGRAM ": %s\nTry \"" PROGRAM " --help\".\n", message);
  return EXIT_USAGE;
}

int
main (int argc, char **argv)
{
  g_autofree char *target = NULL;
  g_autofree char *url = NULL;
  g_autofree char *codec = NULL;
  g_auto (GStrv) server_pids = NULL;
  g_auto (GStrv) ice_addresses = NULL;
  gint64 mountpoint = 0;
  int viewers = 1, duration_s = 60, ramp_ms = 50, connect_timeout_s = 20;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = NULL;
  Bench *bench;
  int status;
  GOptionEntry entries[] = {
    { "target", 't', 0, G_OPTION_ARG_STRING, &target,
      "Server under test: periscope (WebSocket), whep (periscope's WHEP) or janus", "NAME" },
    { "url", 'u', 0, G_OPTION_ARG_STRING, &url,
      "periscope: ws://HOST:PORT/ws/STREAM; whep: http://HOST:PORT/whep/STREAM; "
      "janus: http://HOST:PORT/janus", "URL" },
    { "codec", 'c', 0, G_OPTION_ARG_STRING, &codec,
      "whep: the codec the offers ask for, h264 (payload type 102, as Chromium) or vp8 "
      "(120, as Firefox) (h264)", "CODEC" },
    { "mountpoint", 'm', 0, G_OPTION_ARG_INT64, &mountpoint,
      "Janus streaming mountpoint id", "ID" },
    { "viewers", 'n', 0, G_OPTION_ARG_INT, &viewers, "Receiving peers (1)", "N" },
    { "duration", 'd', 0, G_OPTION_ARG_INT, &duration_s,
      "Measurement window in seconds (60)", "S" },
    { "ramp-ms", 0, 0, G_OPTION_ARG_INT, &ramp_ms,
      "Milliseconds between starting two peers (50)", "MS" },
    { "connect-timeout", 0, 0, G_OPTION_ARG_INT, &connect_timeout_s,
      "Seconds, after the last peer started, to wait for every first frame (20)", "S" },
    { "server-pid", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &server_pids,
      "A server process whose CPU time and memory to measure (repeatable)", "PID" },
    { "ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ice_addresses,
      "Gather ICE host candidates on this local address only (repeatable; 127.0.0.1)",
      "ADDR" },
    { NULL }
  };

  context = g_option_context_new ("- WebRTC receiving peers for periscope's benchmark");
  g_option_context_set_description (context,
      "Prints one JSON object on stdout. Exit status: 0 when every peer received frames\n"
      "throughout the window, 1 otherwise, 64 on a usage error.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (argc > 1)
    return usage_error (context, "unexpected argument \"%s\"", argv[1]);

  bench = g_new0 (Bench, 1);
  bench->server_pids = g_array_new (FALSE, FALSE, sizeof (int));
  status = 0;
  if (g_strcmp0 (target, "periscope") == 0) {
    bench->target = BENCH_TARGET_PERISCOPE;
    bench->signalling = &bench_periscope_signalling;
  } else if (g_strcmp0 (target, "whep") == 0) {
    bench->target = BENCH_TARGET_WHEP;
    bench->signalling = &bench_whep_signalling;
  } else if (g_strcmp0 (target, "janus") == 0) {
    bench->target = BENCH_TARGET_JANUS;
    bench->signalling = &bench_janus_signalling;
  } else {
    status = usage_error (context, "--target must be periscope, whep or janus");
  }
  /* The payload types browsers offer: each differs from the 96 periscope's payloader uses, so
   * every packet is rewritten for the viewer (psc_payloader_retarget()), the costlier case. */
  if (status == 0 && (codec == NULL || g_str_equal (codec, "h264")))
    bench->offer_caps = gst_caps_from_string ("application/x-rtp,media=video,"
        "encoding-name=H264,payload=102,clock-rate=90000,packetization-mode=(string)1,"
        "profile-level-id=(string)42e01f");
  else if (status == 0 && g_str_equal (codec, "vp8"))
    bench->offer_caps = gst_caps_from_string ("application/x-rtp,media=video,"
        "encoding-name=VP8,payload=120,clock-rate=90000");
  else if (status == 0)
    status = usage_error (context, "--codec must be h264 or vp8");
  if (status == 0 && url == NULL)
    status = usage_error (context, "--url is required");
  else if (status == 0 && bench->target == BENCH_TARGET_PERISCOPE &&
      !g_str_has_prefix (url, "ws://") && !g_str_has_prefix (url, "wss://"))
    status = usage_error (context, "--url must be ws://… for periscope");
  else if (status == 0 && bench->target != BENCH_TARGET_PERISCOPE &&
      !g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    status = usage_error (context, "--url must be http://…/janus for janus, "
        "http://…/whep/STREAM for whep");
  else if (status == 0 && bench->target == BENCH_TARGET_JANUS && mountpoint <= 0)
    status = usage_error (context, "--mountpoint ID is required for janus");
  else if (status == 0 && (viewers < 1 || viewers > 10000))
    status = usage_error (context, "--viewers must be 1 to 10000");
  else if (status == 0 && (duration_s < 1 || connect_timeout_s < 1 || ramp_ms < 0))
    status = usage_error (context, "--duration and --connect-timeout must be at least 1, "
        "--ramp-ms at least 0");
  for (guint i = 0; status == 0 && ice_addresses != NULL && ice_addresses[i] != NULL; i++) {
    g_autoptr (GInetAddress) address = g_inet_address_new_from_string (ice_addresses[i]);
    if (address == NULL)
      status = usage_error (context, "--ice-address %s is not an IP address", ice_addresses[i]);
  }
  for (guint i = 0; status == 0 && server_pids != NULL && server_pids[i] != NULL; i++) {
    guint64 pid;
    ProcUsage usage;
    if (!g_ascii_string_to_unsigned (server_pids[i], 10, 1, G_MAXINT, &pid, NULL))
      status = usage_error (context, "--server-pid %s is not a process id", server_pids[i]);
    else if (!read_proc_usage (pid, &usage, NULL))
      status = usage_error (context, "--server-pid %s: no such process", server_pids[i]);
    else
      g_array_append_val (bench->server_pids, (int) { pid });
  }
  if (status != 0) {
    bench_free (bench);
    return status;
  }

  GST_DEBUG_CATEGORY_INIT (psc_bench_load_debug, "psc-bench-load", 0,
      "periscope benchmark load generator");
  if (!gst_element_factory_find ("webrtcbin") || !gst_element_factory_find ("nicesrc")) {
    g_printerr (PROGRAM ": webrtcbin or nicesrc missing: install gstreamer1.0-plugins-bad "
        "and gstreamer1.0-nice\n");
    bench_free (bench);
    return 1;
  }

  bench->url = g_strdup (url);
  /* Janus paths are built as URL/SESSION/HANDLE. */
  if (bench->target == BENCH_TARGET_JANUS && g_str_has_suffix (bench->url, "/"))
    bench->url[strlen (bench->url) - 1] = '\0';
  bench->mountpoint = mountpoint;
  bench->ice_addresses = ice_addresses != NULL ? g_steal_pointer (&ice_addresses) :
      g_strsplit ("127.0.0.1", ",", -1);
  bench->viewers = viewers;
  bench->duration_s = duration_s;
  bench->ramp_ms = ramp_ms;
  bench->connect_timeout_s = connect_timeout_s;
  bench->server_start = g_new0 (ProcUsage, bench->server_pids->len);
  bench->server_end = g_new0 (ProcUsage, bench->server_pids->len);
  bench->server_end_valid = TRUE;
  bench->context = g_main_context_default ();
  bench->loop = g_main_loop_new (bench->context, FALSE);
  bench->cancellable = g_cancellable_new ();
  /* Every Janus session keeps a long poll open: libsoup's default of 2 connections per host
   * would starve all the other requests. */
  bench->session = soup_session_new_with_options ("max-conns", 4 * viewers + 16,
      "max-conns-per-host", 4 * viewers + 16, NULL);
  bench->peers = g_new0 (BenchPeer, viewers);
  for (guint i = 0; i < bench->viewers; i++) {
    bench->peers[i].bench = bench;
    bench->peers[i].index = i;
    bench->peers[i].mids = g_ptr_array_new_with_free_func (g_free);
    g_queue_init (&bench->peers[i].pending_candidates);
  }

  g_unix_signal_add (SIGINT, on_signal, bench);
  g_unix_signal_add (SIGTERM, on_signal, bench);
  g_printerr (PROGRAM ": %u peer(s) against %s at %s, %u ms apart\n", bench->viewers,
      target, bench->url, bench->ramp_ms);
  if (bench->ramp_ms == 0)
    bench->ramp_source = g_idle_add (on_ramp, bench);
  else
    bench->ramp_source = g_timeout_add (bench->ramp_ms, on_ramp, bench);
  g_main_loop_run (bench->loop);

  bench_shutdown (bench);
  status = bench->exit_status;
  if (status != 0)
    g_printerr (PROGRAM ": FAILED: %s\n", bench->exit_reason);
  bench_free (bench);
  return status;
}
