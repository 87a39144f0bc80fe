/* periscope — one viewer: a `queue ! webrtcbin` branch on a stream's shared payloader
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-viewer.h"
#include "psc-chatchannel.h"
#include "psc-defer.h"
#include "psc-element.h"
#include "psc-payloader.h"
#include "psc-sdp.h"
#include "psc-sendpath.h"
#include "psc-silence.h"

#include <gst/sdp/sdp.h>
#include <string.h>
#include <gst/webrtc/webrtc.h>

GST_DEBUG_CATEGORY_STATIC (psc_viewer_debug);
#define GST_CAT_DEFAULT psc_viewer_debug

/* Per-viewer queue: enough to ride out a scheduling hiccup, never enough to build latency.
 * When full it drops the oldest; the viewer's PLI then brings a keyframe. */
#define VIEWER_QUEUE_NS (200 * GST_MSECOND)
/* An offer without video is made again this often, this many times at most. */
#define OFFER_RETRY_MS 20
#define MAX_OFFER_ATTEMPTS 50
/* A connected viewer that has sent no RTCP for this long is gone (its network or player).
 * Browsers send receiver reports about every second for video; rtpbin's own source timeout
 * (RFC 3550 §6.3.5) would take 25 to 33 s. Checked every RTCP_CHECK_S, against the
 * timer's own runs (psc_silence_watch_check(): the daemon's own pause is not the viewer's). */
#define RTCP_SILENCE_US (10 * G_USEC_PER_SEC)
#define RTCP_CHECK_S 2
/* Seconds after psc_viewer_stop() when the branch is detached even if webrtcbin never
 * reached the teardown barrier (detach_when_quiet()). */
#define DETACH_BACKSTOP_S 5

struct _PscViewer {
  GObject parent;

  PscStream *stream;
  PscCodec codec;
  char *peer_id;
  PscIceOptions ice;
  guint connect_timeout_s;
  GMainContext *context;

  PscViewerRole role;
  PscViewerState state;
  gint64 started_at;            /* µs since the epoch */
  GstSDPMessage *remote_offer;  /* answerer: the viewer's offer */
  guint payload_type;
  char *profile_level_id;       /* nullable: H.264 announced as the offer has it, or as an
                                 * offerer was told (psc_viewer_set_profile_level_id()) */
  gboolean answer_set;          /* answerer: local answer applied */
  gboolean gathering_done;      /* answerer: ICE gathering complete */
  GstSDPMessage *offer_sdp;     /* what we offered, to check the answer against */
  GstElement *branch;
  GstElement *webrtc;
  GstElement *rtpbin;           /* webrtcbin's, for RTCP timeouts */
  gulong branch_error_handler;
  GstPad *rtp_src;              /* the pad feeding webrtcbin: the RTP this viewer gets */
  int media_open;               /* atomic: connected, RTP may go through (on_rtp_before_open) */
  gulong before_open_probe;
  gulong caps_probe;
  gint caps_claimed;            /* atomic: the probe, or stop(), whichever comes first */
  guint offer_attempts;
  guint timeout_source;
  guint retry_source;
  guint silence_timer;          /* while connected: checks that RTCP keeps coming */
  GSource *backstop;            /* main context: detaches if the teardown barrier never comes */
  GMutex rtcp_lock;             /* a 64-bit time is not atomic everywhere (32-bit ARM) */
  PscSilenceWatch silence;      /* rtcp_lock: the viewer's last RTCP, the timer's last run */
  gboolean offer_requested;     /* streaming thread -> main, once */
  GPtrArray *stats_requests;    /* StatsRequest*: asked for, not answered yet */
  GMutex op_lock;               /* webrtcbin's thread chaining an operation vs stop() */
  gboolean closing;             /* op_lock: stop() has begun; no operation is chained */
  gboolean chat_wanted;         /* psc_viewer_enable_chat(): set before start, then read-only */
  PscChatChannel *chat;         /* main context: made with the offer */
};

G_DEFINE_FINAL_TYPE (PscViewer, psc_viewer, G_TYPE_OBJECT)
G_DEFINE_QUARK (psc-viewer-error-quark, psc_viewer_error)

enum {
  SIGNAL_OFFER,
  SIGNAL_ANSWER,
  SIGNAL_ICE_CANDIDATE,
  SIGNAL_CONNECTED,
  SIGNAL_FAILED,
  SIGNAL_CHAT,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
psc_viewer_dispose (GObject *object)
{
  psc_viewer_stop (PSC_VIEWER (object));
  G_OBJECT_CLASS (psc_viewer_parent_class)->dispose (object);
}

static void
psc_viewer_finalize (GObject *object)
{
  PscViewer *self = PSC_VIEWER (object);

  g_clear_pointer (&self->offer_sdp, gst_sdp_message_free);
  g_clear_pointer (&self->remote_offer, gst_sdp_message_free);
  g_free (self->profile_level_id);
  g_clear_object (&self->rtpbin);
  g_clear_object (&self->webrtc);
  g_clear_object (&self->branch);
  g_clear_object (&self->stream);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->peer_id);
  psc_ice_options_clear (&self->ice);
  g_mutex_clear (&self->rtcp_lock);
  g_mutex_clear (&self->op_lock);
  g_ptr_array_unref (self->stats_requests);
  G_OBJECT_CLASS (psc_viewer_parent_class)->finalize (object);
}

static void
psc_viewer_class_init (PscViewerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = psc_viewer_dispose;
  object_class->finalize = psc_viewer_finalize;

  /**
   * PscViewer::offer:
   * @viewer: the viewer
   * @sdp: the SDP offer to send to the viewer
   *
   * Offerer only: webrtcbin made the offer; the viewer is now awaiting its answer
   * (psc_viewer_set_answer()). Emitted on the main context.
   */
  signals[SIGNAL_OFFER] = g_signal_new ("offer", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * PscViewer::answer:
   * @viewer: the viewer
   * @sdp: the complete SDP answer, ICE candidates included (answerer mode)
   *
   * Answerer only: the answer is set and ICE gathering is complete, so @sdp carries every
   * local candidate (WHEP answers in one response). Emitted on the main context.
   */
  signals[SIGNAL_ANSWER] = g_signal_new ("answer", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * PscViewer::ice-candidate:
   * @viewer: the viewer
   * @sdp_mline_index: the m-line
   * @candidate: a local candidate ("candidate:…") to trickle to the viewer
   *
   * webrtcbin gathered a local candidate. Emitted on the main context.
   */
  signals[SIGNAL_ICE_CANDIDATE] = g_signal_new ("ice-candidate", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  /**
   * PscViewer::connected:
   * @viewer: the viewer
   *
   * ICE and DTLS are up; media flows, starting with a keyframe. Emitted on the main context.
   */
  signals[SIGNAL_CONNECTED] = g_signal_new ("connected", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * PscViewer::failed:
   * @viewer: the viewer
   * @error: why, a #PscViewerError
   *
   * The session is over; the owner should stop and drop the viewer. Emitted on the main
   * context.
   */
  signals[SIGNAL_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /**
   * PscViewer::chat:
   * @viewer: the viewer
   * @text: a text from the viewer's chat data channel (psc_viewer_enable_chat()), unchecked
   *
   * Emitted on the main context.
   */
  signals[SIGNAL_CHAT] = g_signal_new ("chat", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
psc_viewer_init (PscViewer *self)
{
  g_mutex_init (&self->rtcp_lock);
  g_mutex_init (&self->op_lock);
  self->stats_requests = g_ptr_array_new ();
}

PscViewer *
psc_viewer_new (PscStream *stream, const char *peer_id, PscCodec codec,
    const PscViewerOptions *options)
{
  PscViewer *self;

  g_return_val_if_fail (PSC_IS_STREAM (stream) && peer_id != NULL && options != NULL, NULL);

  if (psc_viewer_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_viewer_debug, "psc-viewer", 0, "periscope viewer");

  self = g_object_new (PSC_TYPE_VIEWER, NULL);
  self->stream = g_object_ref (stream);
  self->codec = codec;
  self->payload_type = PSC_PAYLOADER_DEFAULT_PT;
  self->peer_id = g_strdup (peer_id);
  psc_ice_options_copy (&options->ice, &self->ice);
  self->connect_timeout_s = options->connect_timeout_s;
  self->context = g_main_context_ref_thread_default ();
  return self;
}

/* ---- Hand-over from GStreamer threads to the main context ---- */

typedef enum {
  EVENT_CAPS_READY,
  EVENT_OFFER,
  EVENT_CANDIDATE,
  EVENT_CONNECTION_STATE,
  EVENT_OFFER_EMPTY,
  EVENT_ANSWER_SET,
  EVENT_GATHERING_STATE,
  EVENT_FAILED,
} EventKind;

typedef struct {
  PscViewer *viewer;
  EventKind kind;
  char *text;
  guint number;
  GError *error;
} Event;

static void
event_free (Event *event)
{
  g_object_unref (event->viewer);
  g_free (event->text);
  g_clear_error (&event->error);
  g_free (event);
}

static void fail (PscViewer *self, GError *error);
static gboolean check_rtcp_silence (gpointer user_data);
static void note_rtcp (PscViewer *self);
static void create_offer (PscViewer *self);
static void apply_offer (PscViewer *self);
static void maybe_emit_answer (PscViewer *self);

static gboolean
retry_offer (gpointer user_data)
{
  PscViewer *self = user_data;

  self->retry_source = 0;
  create_offer (self);
  return G_SOURCE_REMOVE;
}

/* Main context. */
static gboolean
dispatch_event (gpointer user_data)
{
  Event *event = user_data;
  PscViewer *self = event->viewer;

  if (self->state == PSC_VIEWER_CLOSED)
    return G_SOURCE_REMOVE;

  switch (event->kind) {
    case EVENT_CAPS_READY:
      if (self->role == PSC_VIEWER_ANSWERER)
        apply_offer (self);
      else
        create_offer (self);
      break;
    case EVENT_ANSWER_SET:
      self->answer_set = TRUE;
      maybe_emit_answer (self);
      break;
    case EVENT_GATHERING_STATE:
      if (event->number == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) {
        self->gathering_done = TRUE;
        maybe_emit_answer (self);
      }
      break;
    case EVENT_OFFER:
      g_clear_pointer (&self->offer_sdp, gst_sdp_message_free);
      if (gst_sdp_message_new_from_text (event->text, &self->offer_sdp) != GST_SDP_OK) {
        fail (self, g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION,
                "webrtcbin made an offer that does not parse"));
        break;
      }
      self->state = PSC_VIEWER_AWAITING_ANSWER;
      g_signal_emit (self, signals[SIGNAL_OFFER], 0, event->text);
      break;
    case EVENT_CANDIDATE:
      g_signal_emit (self, signals[SIGNAL_ICE_CANDIDATE], 0, event->number, event->text);
      break;
    case EVENT_CONNECTION_STATE:
      if (event->number == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
          self->state != PSC_VIEWER_CONNECTED) {
        self->state = PSC_VIEWER_CONNECTED;
        /* Negotiated, media not yet open: from the first frame, one push to the socket. */
        psc_sendpath_skip_fec (self->webrtc);
        g_atomic_int_set (&self->media_open, 1);
        g_clear_handle_id (&self->timeout_source, g_source_remove);
        g_mutex_lock (&self->rtcp_lock);
        psc_silence_watch_init (&self->silence, RTCP_SILENCE_US,
            RTCP_CHECK_S * G_USEC_PER_SEC, g_get_monotonic_time ());
        g_mutex_unlock (&self->rtcp_lock);
        self->silence_timer = g_timeout_add_seconds (RTCP_CHECK_S, check_rtcp_silence, self);
        /* The viewer must not wait for the next GOP: its first frame is a keyframe. */
        psc_stream_request_keyframe (self->stream, self->codec, PSC_KEYFRAME_JOIN);
        GST_INFO ("viewer %s connected", self->peer_id);
        g_signal_emit (self, signals[SIGNAL_CONNECTED], 0);
      } else if (event->number == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
        fail (self, g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_CONNECTION_FAILED,
                "the WebRTC connection failed (ICE found no working path, or DTLS failed)"));
      }
      break;
    case EVENT_OFFER_EMPTY:
      if (self->offer_attempts >= MAX_OFFER_ATTEMPTS) {
        fail (self, g_error_new (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION,
                "webrtcbin made %u offers without video", self->offer_attempts));
      } else {
        GST_INFO ("viewer %s: offer without video, making it again", self->peer_id);
        self->offer_requested = FALSE;
        self->retry_source = g_timeout_add (OFFER_RETRY_MS, retry_offer, self);
      }
      break;
    case EVENT_FAILED:
      fail (self, g_steal_pointer (&event->error));
      break;
  }
  return G_SOURCE_REMOVE;
}

/* Any thread. Takes @text and @error. */
static void
post_event (PscViewer *self, EventKind kind, guint number, char *text, GError *error)
{
  Event *event = g_new0 (Event, 1);

  event->viewer = g_object_ref (self);
  event->kind = kind;
  event->number = number;
  event->text = text;
  event->error = error;
  psc_defer (self->context, dispatch_event, event, (GDestroyNotify) event_free);
}

/* Main context. Takes @error. */
static void
fail (PscViewer *self, GError *error)
{
  if (self->state != PSC_VIEWER_CLOSED) {
    /* The handler may drop the owner's last reference. */
    g_object_ref (self);
    GST_INFO ("viewer %s failed: %s", self->peer_id, error->message);
    psc_viewer_stop (self);
    g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
    g_object_unref (self);
  }
  g_error_free (error);
}

/* ---- webrtcbin callbacks: on its own threads ---- */

static void
on_ice_candidate (GstElement *webrtc, guint mline, char *candidate, gpointer user_data)
{
  post_event (user_data, EVENT_CANDIDATE, mline, g_strdup (candidate), NULL);
}

static void
on_connection_state (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  post_event (user_data, EVENT_CONNECTION_STATE, state, NULL, NULL);
}

/* webrtcbin's thread. A promise's error as a PscViewerError of @code: REMOTE_SDP when it
 * applied the viewer's description, NEGOTIATION when it made ours. webrtcbin's own message
 * names its internals (transceivers, "mline 0", its state machine): it is logged at debug
 * level, and the viewer is told what went wrong in our words, @why. */
static GError *
promise_error (GstPromise *promise, PscViewerError code, const char *what, const char *why)
{
  const GstStructure *reply;
  GError *error = NULL;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return g_error_new (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION, "%s was interrupted",
        what);
  reply = gst_promise_get_reply (promise);
  if (reply != NULL && gst_structure_has_field (reply, "error")) {
    g_autoptr (GError) cause = NULL;
    gst_structure_get (reply, "error", G_TYPE_ERROR, &cause, NULL);
    GST_DEBUG ("%s failed in webrtcbin: %s", what, cause ? cause->message : "no reason");
    error = g_error_new (PSC_VIEWER_ERROR, code, "%s failed: %s", what, why);
  }
  return error;
}

/* webrtcbin's thread, inside the operation whose promise is being replied: queues the next
 * operation of the SDP exchange (set-local-description, create-answer) unless the viewer is
 * being stopped. Under op_lock, so psc_viewer_stop() either sees it queued — and its barrier
 * (detach_when_quiet()) runs after it — or it never is. @description and @promise are not
 * taken. Returns whether it was queued. */
static gboolean
chain_operation (PscViewer *self, const char *signal, GstWebRTCSessionDescription *description,
    GstPromise *promise)
{
  gboolean queued;

  g_mutex_lock (&self->op_lock);
  queued = !self->closing;
  if (queued && description != NULL)
    g_signal_emit_by_name (self->webrtc, signal, description, promise);
  else if (queued)
    g_signal_emit_by_name (self->webrtc, signal, NULL, promise);
  g_mutex_unlock (&self->op_lock);
  if (!queued)
    GST_DEBUG ("viewer %s: stopping, no %s", self->peer_id, signal);
  return queued;
}

static void
on_offer_created (GstPromise *promise, gpointer user_data)
{
  PscViewer *self = user_data;
  GstWebRTCSessionDescription *offer = NULL;
  GError *error = promise_error (promise, PSC_VIEWER_ERROR_NEGOTIATION, "creating the offer",
      "the WebRTC stack could not describe the stream");

  GST_DEBUG ("viewer %s: offer created%s", self->peer_id, error ? " with an error" : "");
  if (error == NULL)
    gst_structure_get (gst_promise_get_reply (promise), "offer",
        GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  if (offer == NULL) {
    post_event (self, EVENT_FAILED, 0, NULL, error ? error :
        g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION,
            "webrtcbin made no offer"));
    return;
  }
  /* WORKAROUND(GStreamer 1.22): webrtcbin can make an offer with no m-line or no format
   * when the offer task runs before its sink pad's event handler has taken the caps (seen
   * under valgrind's timing, even though the offer is asked for only once the caps have
   * passed, on_caps_through()). Such an offer is never sent: it is made again, every
   * OFFER_RETRY_MS, MAX_OFFER_ATTEMPTS times at most.
   * Upstream: not reported.
   * Remove when: webrtcbin makes offers from the caps a pad has stored (the race is gone). */
  if (gst_sdp_message_medias_len (offer->sdp) != (self->chat_wanted ? 2 : 1) ||
      gst_sdp_media_formats_len (gst_sdp_message_get_media (offer->sdp, 0)) == 0) {
    gst_webrtc_session_description_free (offer);
    post_event (self, EVENT_OFFER_EMPTY, 0, NULL, NULL);
    return;
  }
  if (chain_operation (self, "set-local-description", offer, NULL))
    post_event (self, EVENT_OFFER, 0, gst_sdp_message_as_text (offer->sdp), NULL);
  gst_webrtc_session_description_free (offer);
}

static void
on_answer_applied (GstPromise *promise, gpointer user_data)
{
  GError *error = promise_error (promise, PSC_VIEWER_ERROR_REMOTE_SDP, "applying the answer",
      "it does not fit the offer (m-lines, mids, BUNDLE group or DTLS roles)");

  gst_promise_unref (promise);
  if (error != NULL)
    post_event (user_data, EVENT_FAILED, 0, NULL, error);
}

/* Streaming thread. The first RTP buffer on its way to webrtcbin, or the stream's
 * PSC_STREAM_LINKED_EVENT once caps have gone ahead of it (psc_stream_attach(): with a
 * running encoder, that saves waiting for its next frame): the caps event has been pushed
 * first, on this same thread, through webrtcbin's own event handler, so an offer made now
 * describes the real stream. (notify::caps on webrtcbin's pad is too early: the pad stores
 * sticky caps before webrtcbin's handler has seen them, and the offer task can win that race
 * and describe no media.) */
static GstPadProbeReturn
on_caps_through (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscViewer *self = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM ||
        !gst_event_has_name (event, PSC_STREAM_LINKED_EVENT) || !gst_pad_has_current_caps (pad))
      return GST_PAD_PROBE_OK;
  }
  if (g_atomic_int_compare_and_exchange (&self->caps_claimed, 0, 1)) {
    GST_DEBUG ("viewer %s: caps through to webrtcbin (%s)", self->peer_id,
        (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) ? "at linking" : "first buffer");
    post_event (self, EVENT_CAPS_READY, 0, NULL, NULL);
  }
  return GST_PAD_PROBE_REMOVE;
}

/* Streaming thread (the viewer's queue). Until the viewer is connected, its RTP goes
 * nowhere: webrtcbin holds it back, the leaky queue fills and drops packets from the middle
 * of the sequence, and at connection the viewer would get 200 ms of stale video with holes
 * in it (seen as loss, and NACKs) before the keyframe asked for at connection. So RTP is
 * dropped here until then (the caps, events, still reach webrtcbin for the offer); the
 * viewer's first packet comes after the connection, and its sequence has no holes. */
static GstPadProbeReturn
on_rtp_before_open (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscViewer *self = user_data;

  /* Kept (one atomic read per buffer list) rather than removed from here, so that stopping
   * the viewer can remove it, and the reference it holds, by its id without a race. */
  return g_atomic_int_get (&self->media_open) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* Streaming thread (the viewer's queue): every RTP packet on its way to webrtcbin, counted
 * into the stream's totals for /metrics. */
static gboolean
add_buffer_size (GstBuffer **buffer, guint index, gpointer user_data)
{
  *(gsize *) user_data += gst_buffer_get_size (*buffer);
  return TRUE;
}

static GstPadProbeReturn
on_rtp_sent (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *stream = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    gsize bytes = 0;
    gst_buffer_list_foreach (list, add_buffer_size, &bytes);
    psc_stream_count_sent (stream, gst_buffer_list_length (list), bytes);
  } else {
    psc_stream_count_sent (stream, 1, gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)));
  }
  return GST_PAD_PROBE_OK;
}

/* ---- Main context ---- */

/* Main context: a text on the viewer's chat data channel. */
static void
on_chat_text (const char *text, gpointer user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_CHAT], 0, text);
}

static void
create_offer (PscViewer *self)
{
  GstPromise *promise;

  if (self->offer_requested)
    return;
  self->offer_requested = TRUE;
  /* Before the offer, so that it carries the SCTP m-line. */
  if (self->chat_wanted && self->chat == NULL)
    self->chat = psc_chat_channel_new (self->webrtc, self->context, on_chat_text, self);
  self->offer_attempts++;
  GST_DEBUG ("viewer %s: creating offer (attempt %u)", self->peer_id, self->offer_attempts);
  promise = gst_promise_new_with_change_func (on_offer_created, g_object_ref (self),
      g_object_unref);
  g_signal_emit_by_name (self->webrtc, "create-offer", NULL, promise);
}

/* Any thread: RTCP from the viewer arrived now. A mutex, not an atomic: a gint64 in a
 * gpointer is truncated to 32 bits on 32-bit ARM (the rpi preset), where the monotonic clock
 * in µs wraps that after ~72 min and every viewer was then dropped as silent. */
static void
note_rtcp (PscViewer *self)
{
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->rtcp_lock);
  psc_silence_watch_heard (&self->silence, now);
  g_mutex_unlock (&self->rtcp_lock);
}

/* webrtcbin's RTP thread: RTCP from the viewer. */
static void
on_rtcp_active (GstElement *rtpbin, guint session, guint ssrc, gpointer user_data)
{
  note_rtcp (user_data);
}

/* Main context. */
static gboolean
check_rtcp_silence (gpointer user_data)
{
  PscViewer *self = user_data;
  gboolean silent;

  g_mutex_lock (&self->rtcp_lock);
  silent = psc_silence_watch_check (&self->silence, g_get_monotonic_time ());
  g_mutex_unlock (&self->rtcp_lock);
  if (!silent)
    return G_SOURCE_CONTINUE;
  self->silence_timer = 0;
  fail (self, g_error_new (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_SILENT,
          "the viewer went silent (no RTCP for %d s): its network or player is gone",
          (int) (RTCP_SILENCE_US / G_USEC_PER_SEC)));
  return G_SOURCE_REMOVE;
}

/* webrtcbin's RTP thread: the viewer stopped sending RTCP receiver reports for five RTCP
 * intervals (RFC 3550 §6.3.5), or said goodbye. A viewer whose network or process
 * vanished is noticed this way and reaped, WebSocket or WHEP alike. */
static void
on_rtcp_timeout (GstElement *rtpbin, guint session, guint ssrc, gpointer user_data)
{
  post_event (user_data, EVENT_FAILED, 0, NULL,
      g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_SILENT,
          "the viewer went silent (no RTCP receiver reports): its network or player is gone"));
}

static void
on_rtcp_bye (GstElement *rtpbin, guint session, guint ssrc, gpointer user_data)
{
  post_event (user_data, EVENT_FAILED, 0, NULL,
      g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_ENDED,
          "the viewer ended its session (RTCP BYE)"));
}

/* ---- Answerer mode (WHEP): the viewer offers, we answer with every candidate in ---- */

static void
on_gathering_state (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  post_event (user_data, EVENT_GATHERING_STATE, state, NULL, NULL);
}

/* webrtcbin's thread. */
static void
on_answer_created (GstPromise *promise, gpointer user_data)
{
  PscViewer *self = user_data;
  GstWebRTCSessionDescription *answer = NULL;
  GError *error = promise_error (promise, PSC_VIEWER_ERROR_NEGOTIATION, "creating the answer",
      "no media of the offer can be answered with the stream");

  if (error == NULL)
    gst_structure_get (gst_promise_get_reply (promise), "answer",
        GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  gst_promise_unref (promise);
  if (answer == NULL) {
    post_event (self, EVENT_FAILED, 0, NULL, error ? error :
        g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION,
            "webrtcbin made no answer to this offer"));
    return;
  }
  if (chain_operation (self, "set-local-description", answer, NULL))
    post_event (self, EVENT_ANSWER_SET, 0, NULL, NULL);
  gst_webrtc_session_description_free (answer);
}

/* webrtcbin's thread. */
static void
on_remote_offer_set (GstPromise *promise, gpointer user_data)
{
  PscViewer *self = user_data;
  GstPromise *answer_promise;
  GError *error = promise_error (promise, PSC_VIEWER_ERROR_REMOTE_SDP, "applying the offer",
      "its m-lines, mids, BUNDLE group or transports cannot be set up");

  gst_promise_unref (promise);
  if (error != NULL) {
    post_event (self, EVENT_FAILED, 0, NULL, error);
    return;
  }
  answer_promise = gst_promise_new_with_change_func (on_answer_created, g_object_ref (self),
      g_object_unref);
  /* Unchained, the promise is dropped unreplied: its destroy notify releases the viewer. */
  if (!chain_operation (self, "create-answer", NULL, answer_promise))
    gst_promise_unref (answer_promise);
}

/* Main context: the encoded caps are on webrtcbin's pad, so its answer can describe them. */
static void
apply_offer (PscViewer *self)
{
  GstWebRTCSessionDescription *offer;
  GstSDPMessage *copy = NULL;

  if (self->offer_requested)
    return;
  self->offer_requested = TRUE;
  gst_sdp_message_copy (self->remote_offer, &copy);
  offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, copy);
  g_signal_emit_by_name (self->webrtc, "set-remote-description", offer,
      gst_promise_new_with_change_func (on_remote_offer_set, g_object_ref (self),
          g_object_unref));
  gst_webrtc_session_description_free (offer);
}

/* Main context. The answer goes out once it is applied and ICE gathering is complete, so it
 * carries every candidate (WHEP answers are not trickled, draft-ietf-wish-whep §4.1). */
static void
maybe_emit_answer (PscViewer *self)
{
  GstWebRTCSessionDescription *local = NULL;
  g_autofree char *text = NULL;

  if (!self->answer_set || !self->gathering_done || self->state != PSC_VIEWER_NEGOTIATING)
    return;
  g_object_get (self->webrtc, "local-description", &local, NULL);
  if (local == NULL) {
    fail (self, g_error_new_literal (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION,
            "webrtcbin lost its local description"));
    return;
  }
  text = gst_sdp_message_as_text (local->sdp);
  gst_webrtc_session_description_free (local);
  self->state = PSC_VIEWER_CONNECTING;
  g_signal_emit (self, signals[SIGNAL_ANSWER], 0, text);
}

static void
on_branch_error (PscStream *stream, GstElement *branch, GError *error, gpointer user_data)
{
  PscViewer *self = user_data;

  if (branch != self->branch)
    return;
  fail (self, g_error_new (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_FAILED,
          "the viewer's WebRTC session failed: %s", error->message));
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  PscViewer *self = user_data;

  self->timeout_source = 0;
  fail (self, g_error_new (PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_CONNECT_TIMEOUT,
          "the WebRTC session did not connect within %u s (%s)", self->connect_timeout_s,
          self->state == PSC_VIEWER_AWAITING_ANSWER ? "no answer to the offer" :
          "ICE/DTLS did not complete"));
  return G_SOURCE_REMOVE;
}

/* Builds `queue ! webrtcbin` in self->branch, fed by the encoder's shared payloader. An answer
 * must use the offer's payload type and profile-level-id, and an offerer may have been told to
 * announce another profile than the stream's: start_branch() then attaches it to RTP made
 * for that pair once, for every viewer of it (psc_stream_attach_rtp()). */
static gboolean
build_branch (PscViewer *self, GError **error)
{
  /* Unique whatever the peer id: a WebSocket peer may take a WHEP session's id as its own,
   * and two branches of one name cannot be in a bin. */
  static guint serial;
  g_autofree char *name = g_strdup_printf ("viewer-%u-%s",
      (guint) g_atomic_int_add (&serial, 1), self->peer_id);
  g_autoptr (GstPad) queue_sink = NULL;
  g_autoptr (GstPad) rtp_src = NULL;
  g_autoptr (GstPad) webrtc_sink = NULL;
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  GstElement *queue, *last = NULL;

  self->branch = gst_object_ref_sink (gst_bin_new (name));
  queue = psc_element_make ("queue", NULL, error);
  if (!psc_element_add_chain (GST_BIN (self->branch), &last, queue, error))
    return FALSE;
  g_object_set (queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
      (guint64) VIEWER_QUEUE_NS, "leaky", 2 /* downstream */, NULL);
  self->webrtc = psc_element_make ("webrtcbin", "webrtc", error);
  if (self->webrtc == NULL)
    return FALSE;
  gst_object_ref (self->webrtc);
  gst_bin_add (GST_BIN (self->branch), self->webrtc);
  gst_util_set_object_arg (G_OBJECT (self->webrtc), "bundle-policy", "max-bundle");

  webrtc_sink = gst_element_request_pad_simple (self->webrtc, "sink_%u");
  rtp_src = gst_element_get_static_pad (last, "src");
  if (webrtc_sink == NULL || !psc_element_link_pads (rtp_src, webrtc_sink, error)) {
    if (webrtc_sink == NULL)
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_PAD,
          "webrtcbin gave no sink pad");
    return FALSE;
  }
  g_object_get (webrtc_sink, "transceiver", &transceiver, NULL);
  g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
      "do-nack", TRUE, NULL);
  self->rtp_src = g_steal_pointer (&rtp_src);
  queue_sink = gst_element_get_static_pad (queue, "sink");
  gst_element_add_pad (self->branch, gst_ghost_pad_new ("sink", queue_sink));
  psc_ice_configure (self->webrtc, &self->ice);
  return TRUE;
}

/* Connects what the viewer listens to. Callbacks from GStreamer threads hold a reference,
 * dropped when psc_viewer_stop() disconnects them. */
static void
connect_callbacks (PscViewer *self)
{
  g_autoptr (GstElement) rtpbin = NULL;

  self->caps_probe = gst_pad_add_probe (self->rtp_src,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_caps_through, g_object_ref (self), g_object_unref);
  self->before_open_probe = gst_pad_add_probe (self->rtp_src,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      on_rtp_before_open, g_object_ref (self), g_object_unref);
  gst_pad_add_probe (self->rtp_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      on_rtp_sent, g_object_ref (self->stream), g_object_unref);

  g_signal_connect_data (self->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
      g_object_ref (self), (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  g_signal_connect_data (self->webrtc, "notify::connection-state",
      G_CALLBACK (on_connection_state), g_object_ref (self),
      (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  g_signal_connect_data (self->webrtc, "notify::ice-gathering-state",
      G_CALLBACK (on_gathering_state), g_object_ref (self),
      (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  /* webrtcbin's own rtpbin; its name is webrtcbin's implementation, so tolerate its absence. */
  rtpbin = gst_bin_get_by_name (GST_BIN (self->webrtc), "rtpbin");
  if (rtpbin != NULL) {
    self->rtpbin = gst_object_ref (rtpbin);
    g_signal_connect_data (rtpbin, "on-timeout", G_CALLBACK (on_rtcp_timeout),
        g_object_ref (self), (GClosureNotify) (void (*) (void)) g_object_unref, 0);
    g_signal_connect_data (rtpbin, "on-bye-ssrc", G_CALLBACK (on_rtcp_bye),
        g_object_ref (self), (GClosureNotify) (void (*) (void)) g_object_unref, 0);
    g_signal_connect_data (rtpbin, "on-ssrc-active", G_CALLBACK (on_rtcp_active),
        g_object_ref (self), (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  } else {
    g_warning ("webrtcbin has no rtpbin child: vanished viewers are noticed only by ICE");
  }
  self->branch_error_handler = g_signal_connect (self->stream, "branch-error",
      G_CALLBACK (on_branch_error), self);
}

/* Main thread. Builds, connects and attaches the branch; on failure undoes it all. */
static gboolean
start_branch (PscViewer *self, GError **error)
{
  g_autoptr (GError) cause = NULL;

  self->state = PSC_VIEWER_NEGOTIATING;
  self->started_at = g_get_real_time ();
  if (build_branch (self, &cause)) {
    connect_callbacks (self);
    if (psc_stream_attach_rtp (self->stream, self->branch, self->codec, self->payload_type,
            self->profile_level_id, &cause)) {
      self->timeout_source = g_timeout_add_seconds (self->connect_timeout_s,
          on_connect_timeout, self);
      return TRUE;
    }
  }
  g_set_error (error, PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BUILD,
      "cannot start a %s viewer of stream %s: %s", psc_codec_to_string (self->codec),
      psc_stream_get_id (self->stream), cause->message);
  GST_WARNING ("viewer %s: %s", self->peer_id, (*error)->message);
  psc_viewer_stop (self);
  /* Never attached: nothing to detach, the branch goes with us. */
  if (self->branch != NULL)
    psc_element_stop (self->branch);
  return FALSE;
}

gboolean
psc_viewer_start (PscViewer *self, GError **error)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self), FALSE);
  g_return_val_if_fail (self->state == PSC_VIEWER_NEW, FALSE);

  self->role = PSC_VIEWER_OFFERER;
  return start_branch (self, error);
}

void
psc_viewer_enable_chat (PscViewer *self)
{
  g_return_if_fail (PSC_IS_VIEWER (self) && self->state == PSC_VIEWER_NEW);

  self->chat_wanted = TRUE;
}

void
psc_viewer_send_chat (PscViewer *self, const char *text)
{
  g_return_if_fail (PSC_IS_VIEWER (self) && text != NULL);

  if (self->chat != NULL)
    psc_chat_channel_send (self->chat, text);
}

void
psc_viewer_set_profile_level_id (PscViewer *self, const char *profile_level_id)
{
  g_return_if_fail (PSC_IS_VIEWER (self) && profile_level_id != NULL);
  g_return_if_fail (self->state == PSC_VIEWER_NEW && self->codec == PSC_CODEC_H264);

  g_free (self->profile_level_id);
  self->profile_level_id = g_strdup (profile_level_id);
}

gboolean
psc_viewer_start_answer (PscViewer *self, const GstSDPMessage *offer,
    const PscSdpCodecChoice *choice, GError **error)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self) && offer != NULL && choice != NULL, FALSE);
  g_return_val_if_fail (self->state == PSC_VIEWER_NEW, FALSE);

  self->role = PSC_VIEWER_ANSWERER;
  gst_sdp_message_copy (offer, &self->remote_offer);
  self->payload_type = choice->payload_type;
  g_free (self->profile_level_id);
  self->profile_level_id = g_strdup (choice->profile_level_id);
  return start_branch (self, error);
}

gboolean
psc_viewer_set_answer (PscViewer *self, const char *sdp_text, GError **error)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  GstWebRTCSessionDescription *answer;
  GstPromise *promise;

  g_return_val_if_fail (PSC_IS_VIEWER (self) && sdp_text != NULL, FALSE);

  if (self->role != PSC_VIEWER_OFFERER || self->state != PSC_VIEWER_AWAITING_ANSWER) {
    g_set_error (error, PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BAD_STATE,
        "no offer is waiting for an answer (%s)",
        self->role != PSC_VIEWER_OFFERER ? "this session's viewer made the offer" :
        self->state < PSC_VIEWER_AWAITING_ANSWER ? "the offer is not made yet" :
        "an answer was applied already");
    return FALSE;
  }
  sdp = psc_sdp_parse (sdp_text, strlen (sdp_text), "the answer", error);
  if (sdp == NULL || !psc_sdp_check_answer (self->offer_sdp, sdp, error))
    return FALSE;

  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER,
      g_steal_pointer (&sdp));
  promise = gst_promise_new_with_change_func (on_answer_applied, g_object_ref (self),
      g_object_unref);
  g_signal_emit_by_name (self->webrtc, "set-remote-description", answer, promise);
  gst_webrtc_session_description_free (answer);
  self->state = PSC_VIEWER_CONNECTING;
  return TRUE;
}

gboolean
psc_viewer_add_ice_candidate (PscViewer *self, guint sdp_mline_index, const char *candidate,
    GError **error)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self) && candidate != NULL, FALSE);

  if (self->state != PSC_VIEWER_CONNECTING && self->state != PSC_VIEWER_CONNECTED) {
    g_set_error_literal (error, PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BAD_STATE,
        "ICE candidate before the answer: send the answer first");
    return FALSE;
  }
  if (sdp_mline_index != 0) {
    g_set_error (error, PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BAD_CANDIDATE,
        "sdpMLineIndex %u: the offer has one m-line (0)", sdp_mline_index);
    return FALSE;
  }
  if (candidate[0] == '\0')
    return TRUE;
  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", sdp_mline_index, candidate);
  return TRUE;
}

/* A get-stats request: answered once, on the main context, by webrtcbin's reply, the
 * timeout, or the viewer stopping, whichever comes first. Referenced by the viewer's list of
 * pending requests and by the promise. */
typedef struct {
  gint refcount;
  PscViewer *viewer;
  PscViewerStatsFunc callback;
  gpointer user_data;
  gboolean answered;            /* main context */
  guint timeout;
} StatsRequest;

typedef struct {
  StatsRequest *request;
  PscViewerStats stats;
} StatsReply;

static void
stats_init (PscViewerStats *stats)
{
  memset (stats, 0, sizeof *stats);
  stats->round_trip_time_ms = -1;
  stats->fraction_lost = -1;
  stats->packets_lost = -1;
}

static StatsRequest *
stats_request_ref (StatsRequest *request)
{
  g_atomic_int_inc (&request->refcount);
  return request;
}

static void
stats_request_unref (StatsRequest *request)
{
  if (!g_atomic_int_dec_and_test (&request->refcount))
    return;
  g_object_unref (request->viewer);
  g_free (request);
}

/* Main context: the one answer to @request; later ones are dropped. */
static void
answer_stats (StatsRequest *request, const PscViewerStats *stats)
{
  PscViewer *self = request->viewer;

  if (request->answered)
    return;
  request->answered = TRUE;
  g_clear_handle_id (&request->timeout, g_source_remove);
  if (g_ptr_array_remove (self->stats_requests, request)) {
    request->callback (self, stats, request->user_data);
    stats_request_unref (request);
  }
}

static gboolean
deliver_stats (gpointer data)
{
  StatsReply *reply = data;

  answer_stats (reply->request, &reply->stats);
  return G_SOURCE_REMOVE;
}

static void
stats_reply_free (StatsReply *reply)
{
  stats_request_unref (reply->request);
  g_free (reply);
}

/* Any thread. */
static void
post_stats (StatsRequest *request, const PscViewerStats *stats)
{
  StatsReply *reply = g_new0 (StatsReply, 1);

  reply->request = stats_request_ref (request);
  if (stats != NULL)
    reply->stats = *stats;
  else
    stats_init (&reply->stats);
  psc_defer (request->viewer->context, deliver_stats, reply, (GDestroyNotify) stats_reply_free);
}

/* Main context: webrtcbin has not replied in time (its thread busy, or the reply lost). */
static gboolean
on_stats_timeout (gpointer user_data)
{
  StatsRequest *request = user_data;
  PscViewerStats stats;

  request->timeout = 0;
  GST_INFO ("viewer %s: no statistics from webrtcbin within %u ms", request->viewer->peer_id,
      PSC_VIEWER_STATS_TIMEOUT_MS);
  stats_init (&stats);
  answer_stats (request, &stats);
  return G_SOURCE_REMOVE;
}

/* webrtcbin's thread: one field of the get-stats reply, a structure per stats object. */
static gboolean
collect_stat (GQuark field, const GValue *value, gpointer user_data)
{
  PscViewerStats *stats = user_data;
  const GstStructure *s;
  GstWebRTCStatsType type;
  guint64 u64;
  gint64 i64;
  int i;
  double d;

  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  s = gst_value_get_structure (value);
  if (!gst_structure_get (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL))
    return TRUE;
  if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
    if (gst_structure_get_uint64 (s, "bytes-sent", &u64))
      stats->bytes_sent += u64;
    if (gst_structure_get_uint64 (s, "packets-sent", &u64))
      stats->packets_sent += u64;
  } else if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
    if (gst_structure_get_double (s, "round-trip-time", &d))
      stats->round_trip_time_ms = d * 1000;
    if (gst_structure_get_double (s, "fraction-lost", &d))
      stats->fraction_lost = d;
    if (gst_structure_get_int64 (s, "packets-lost", &i64))
      stats->packets_lost = i64;
    else if (gst_structure_get_int (s, "packets-lost", &i))
      stats->packets_lost = i;
  }
  return TRUE;
}

/* webrtcbin's thread (or the caller's, when webrtcbin is closed and replies at once). */
static void
on_stats (GstPromise *promise, gpointer user_data)
{
  StatsRequest *request = user_data;
  const GstStructure *reply;
  PscViewerStats stats;

  stats_init (&stats);
  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED &&
      (reply = gst_promise_get_reply (promise)) != NULL)
    gst_structure_foreach (reply, collect_stat, &stats);
  post_stats (request, &stats);
}

static GstPadProbeReturn
drop_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_DROP;
}

/* Main context, webrtcbin quiet (no transport being made).
 * WORKAROUND(GStreamer 1.22): srtpdec gives the first RTCP packet it decrypts a stream-start
 * derived from its RTP source pad's; when that pad has been deactivated already — webrtcbin
 * going down, srtpdec's source pads deactivated before its sink pads — it asks
 * gst_pad_create_stream_id() instead, which asserts 'parent->numsinkpads <= 1' on an element
 * with two sink pads: a GStreamer CRITICAL, an abort under G_DEBUG=fatal-criticals (about 1
 * real session in 500 in the soak, whose viewers leave within a second of connecting).
 * Buffers into srtpdec are dropped from here on, before the branch goes down; the session is
 * over, so nothing it receives matters. The sink pads' stream locks are taken once, so that a
 * packet already past the probe has left srtpdec's chain function before the state change.
 * Upstream: commit 96450f4c59 (1.23.1) and backport 9103fc3493 (1.22.4), merge requests 4844
 * and 4860; also 32fbad8d39 / 3eb78e5280 ("Got data flow before segment event", same race).
 * Remove when: periscope requires GStreamer 1.22.4 (gated on psc_element_gst_older_than()). */
static void
drop_inbound_packets (PscViewer *self)
{
  g_autoptr (GstIterator) it = NULL;
  GValue item = G_VALUE_INIT;
  gboolean done = FALSE;

  if (self->webrtc == NULL || !psc_element_gst_older_than (1, 22, 4))
    return;
  it = gst_bin_iterate_recurse (GST_BIN (self->webrtc));
  while (!done) {
    switch (gst_iterator_next (it, &item)) {
      case GST_ITERATOR_OK: {
        GstElement *element = g_value_get_object (&item);
        GstElementFactory *factory = gst_element_get_factory (element);

        if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "srtpdec")) {
          for (guint i = 0; i < 2; i++) {
            g_autoptr (GstPad) sink = gst_element_get_static_pad (element,
                i == 0 ? "rtp_sink" : "rtcp_sink");

            if (sink == NULL)
              continue;
            gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER |
                GST_PAD_PROBE_TYPE_BUFFER_LIST, drop_buffer, NULL, NULL);
            GST_PAD_STREAM_LOCK (sink);
            GST_PAD_STREAM_UNLOCK (sink);
          }
        }
        g_value_reset (&item);
        break;
      }
      case GST_ITERATOR_RESYNC:
        /* Probes already added are added again: harmless. */
        gst_iterator_resync (it);
        break;
      case GST_ITERATOR_ERROR:
      case GST_ITERATOR_DONE:
        done = TRUE;
        break;
    }
  }
  g_value_unset (&item);
}

/* Main context: webrtcbin has finished every operation queued before the barrier, or the
 * backstop passed. */
static gboolean
detach_now (gpointer user_data)
{
  PscViewer *self = user_data;

  /* The backstop's reference would keep webrtcbin, and its ICE agent's sockets, for its 5 s. */
  if (self->backstop != NULL) {
    g_source_destroy (self->backstop);
    g_clear_pointer (&self->backstop, g_source_unref);
  }
  drop_inbound_packets (self);
  psc_stream_detach (self->stream, self->branch);
  return G_SOURCE_REMOVE;
}

static void
on_barrier_replied (GstPromise *promise, gpointer user_data)
{
}

/* webrtcbin's thread (or the caller's, when webrtcbin is closed and replies at once): the
 * barrier promise is freed — after its operation has run, or if webrtcbin dropped it unrun;
 * either way nothing queued before it is running any more. Takes the viewer's reference. */
static void
on_quiet (gpointer user_data)
{
  PscViewer *self = user_data;

  psc_defer (self->context, detach_now, self, g_object_unref);
}

/* Main context. Detaches the branch once webrtcbin is done with the operations queued so far.
 * WORKAROUND(GStreamer 1.22): setting webrtcbin to NULL while its thread runs
 * set-local-description (or
 * set-remote-description) races the transports that operation makes: their bins, added to
 * webrtcbin and brought up with gst_element_sync_state_with_parent() as it goes down, were
 * left running — nicesrc in PLAYING, its ICE agent's UDP socket and TCP listener with it —
 * after webrtcbin was gone (issue 11: 14 agents left per 1,000 WebSocket viewers reset right
 * after connecting). webrtcbin runs its operations one at a time, in order, on its own
 * thread, so an operation queued now (get-stats: cheap, always replied, even when webrtcbin is
 * closed) completes after every earlier one; closing, set under op_lock, makes sure none is
 * chained after it (chain_operation()).
 * Upstream: not reported.
 * Remove when: webrtcbin stops or finishes its queued operations before it goes to NULL
 * (`/integration/teardown/early-reset` passes with the branch detached at once). */
static void
detach_when_quiet (PscViewer *self)
{
  GstPromise *promise;

  g_mutex_lock (&self->op_lock);
  self->closing = TRUE;
  g_mutex_unlock (&self->op_lock);
  if (self->webrtc == NULL) {
    psc_stream_detach (self->stream, self->branch);
    return;
  }
  promise = gst_promise_new_with_change_func (on_barrier_replied, g_object_ref (self),
      on_quiet);
  g_signal_emit_by_name (self->webrtc, "get-stats", NULL, promise);
  gst_promise_unref (promise);
  /* A backstop, should webrtcbin never get to the barrier: a branch left attached would keep
   * its encoder and the capture running, and its seat taken. psc_stream_detach() of a branch
   * already detached does nothing. */
  self->backstop = g_timeout_source_new_seconds (DETACH_BACKSTOP_S);
  g_source_set_callback (self->backstop, detach_now, g_object_ref (self), g_object_unref);
  g_source_attach (self->backstop, self->context);
}

void
psc_viewer_stop (PscViewer *self)
{
  g_return_if_fail (PSC_IS_VIEWER (self));

  if (self->state == PSC_VIEWER_CLOSED)
    return;
  self->state = PSC_VIEWER_CLOSED;
  g_clear_handle_id (&self->timeout_source, g_source_remove);
  g_clear_signal_handler (&self->branch_error_handler, self->stream);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->silence_timer, g_source_remove);
  /* Remove the probe unless it has run (it removes itself). */
  if (self->caps_probe != 0 &&
      g_atomic_int_compare_and_exchange (&self->caps_claimed, 0, 1))
    gst_pad_remove_probe (self->rtp_src, self->caps_probe);
  self->caps_probe = 0;
  if (self->before_open_probe != 0)
    gst_pad_remove_probe (self->rtp_src, self->before_open_probe);
  self->before_open_probe = 0;
  g_clear_object (&self->rtp_src);
  g_clear_pointer (&self->chat, psc_chat_channel_free);
  if (self->webrtc != NULL)
    g_signal_handlers_disconnect_by_data (self->webrtc, self);
  if (self->rtpbin != NULL)
    g_signal_handlers_disconnect_by_data (self->rtpbin, self);
  if (self->branch != NULL)
    detach_when_quiet (self);
  /* Statistics asked for and not delivered yet: answered now (from an idle source, not
   * inside the caller's teardown), with what a closed session has. */
  for (guint i = 0; i < self->stats_requests->len; i++)
    post_stats (g_ptr_array_index (self->stats_requests, i), NULL);
}

void
psc_viewer_get_stats_async (PscViewer *self, PscViewerStatsFunc callback, gpointer user_data)
{
  StatsRequest *request;
  GstPromise *promise;

  g_return_if_fail (PSC_IS_VIEWER (self) && callback != NULL);

  request = g_new0 (StatsRequest, 1);
  request->refcount = 1;        /* self->stats_requests' */
  request->viewer = g_object_ref (self);
  request->callback = callback;
  request->user_data = user_data;
  g_ptr_array_add (self->stats_requests, request);
  if (self->webrtc == NULL || self->state == PSC_VIEWER_CLOSED) {
    post_stats (request, NULL);
    return;
  }
  request->timeout = g_timeout_add (PSC_VIEWER_STATS_TIMEOUT_MS, on_stats_timeout, request);
  /* The promise's reference goes when it is freed, replied or not. */
  promise = gst_promise_new_with_change_func (on_stats, stats_request_ref (request),
      (GDestroyNotify) stats_request_unref);
  g_signal_emit_by_name (self->webrtc, "get-stats", NULL, promise);
  gst_promise_unref (promise);
}

gint64
psc_viewer_get_started_at (PscViewer *self)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self), 0);
  return self->started_at;
}

const char *
psc_viewer_get_peer_id (PscViewer *self)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self), NULL);
  return self->peer_id;
}

PscViewerState
psc_viewer_get_state (PscViewer *self)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self), PSC_VIEWER_CLOSED);
  return self->state;
}

PscViewerRole
psc_viewer_get_role (PscViewer *self)
{
  g_return_val_if_fail (PSC_IS_VIEWER (self), PSC_VIEWER_OFFERER);
  return self->role;
}

const char *
psc_viewer_state_to_string (PscViewerState state)
{
  static const char *const names[] = {
    [PSC_VIEWER_NEW] = "new",
    [PSC_VIEWER_NEGOTIATING] = "negotiating",
    [PSC_VIEWER_AWAITING_ANSWER] = "awaiting_answer",
    [PSC_VIEWER_CONNECTING] = "connecting",
    [PSC_VIEWER_CONNECTED] = "connected",
    [PSC_VIEWER_CLOSED] = "closed",
  };

  g_return_val_if_fail (state < G_N_ELEMENTS (names), "unknown");
  return names[state];
}

/* Its own thread (psc_viewer_prepare()): the first DTLS element makes the process's key. */
static gpointer
make_certificate (gpointer data)
{
  g_autoptr (GstElement) dtls = gst_element_factory_make ("dtlsdec", NULL);

  if (dtls == NULL)
    g_warning ("no dtlsdec element (gstreamer1.0-plugins-bad): WebRTC cannot work");
  return NULL;
}

GThread *
psc_viewer_prepare (void)
{
  return g_thread_new ("psc-certificate", make_certificate, NULL);
}
