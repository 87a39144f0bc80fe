/* periscope — one camera, one encoder per codec, every viewer: the shared media pipeline
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The capture, the encoders it feeds (psc-encoding) and the viewers' branches hanging off
 * them; when a keyframe request goes to an encoder (psc-keyframe decides, the stream keeps
 * the timer and sends the event); snapshots (psc-snapshot) and releasing the capture when
 * nothing needs its frames.
 */
#include "psc-stream.h"
#include "psc-defer.h"
#include "psc-element.h"
#include "psc-encoding.h"
#include "psc-keyframe.h"
#include "psc-launch.h"
#include "psc-payloader.h"
#include "psc-redact.h"
#include "psc-snapshot.h"
#include "psc-stamp.h"
#include "psc-supervisor.h"

#include <gio/gio.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (psc_stream_debug);
#define GST_CAT_DEFAULT psc_stream_debug

/* A running encoder, as the stream sees it: its elements, how many viewers hang off it, and
 * its keyframe policy. Started when its codec's first viewer comes and stopped when its last
 * one leaves. */
typedef struct {
  PscStream *stream;            /* not owned */
  PscEncoding *encoding;

  /* stream->lock */
  guint branches;
  PscKeyframePolicy keyframes;
  GSource *keyframe_timer;      /* main context: a request the policy deferred */
} EncodingState;

/* An attached branch: its tee pad, that tee (the encoding's, or its RTP tee) and the
 * encoding it hangs off. */
typedef struct {
  GstPad *tee_pad;
  GstElement *tee;
  EncodingState *encoding;
} BranchLink;

static void
branch_link_free (BranchLink *link)
{
  gst_object_unref (link->tee_pad);
  gst_object_unref (link->tee);
  g_free (link);
}

struct _PscStream {
  GObject parent;

  PscStreamInfo info;
  gboolean failed;              /* main context: an error outside the source was reported */
  GstElement *pipeline;
  GstElement *source_bin;       /* main context: the source, a retry of it, or the slate */
  gboolean on_slate;            /* main context: source_bin is the "no signal" slate */
  GstElement *pending_bin;      /* main context, nullable: a source being tried while the
                                 * slate plays on (try_behind_slate()): in the pipeline, not
                                 * linked, its output held until its first frame */
  gulong pending_hold;          /* main context: the probe holding pending_bin's output */
  GstElement *videoscale;       /* the raw side's first element */
  GstElement *source_peer;      /* what the source bin feeds: videoscale, or h264_tee */
  gboolean h264_source;         /* the source delivers H.264: passed through to H.264 viewers
                                 * (psc_launch_parse_source()) */
  GstElement *h264_tee;         /* nullable: h264_source's frames, to the H.264 encoding's
                                 * queue and the decoder */
  GstPad *decode_pad;           /* nullable: h264_tee's pad to the decoder (the decode gate) */
  gint decode_open;             /* atomic: the gate lets frames through to the decoder */
  gint decode_synced;           /* atomic: the gate has let a keyframe through since it opened */
  gint source_generation;       /* atomic: bumped by each source bin swapped in */
  gint timeline_restarts;       /* atomic: bumped when the capture resumes (running time 0) */
  /* The H.264 tee's streaming thread only (keep_h264_timeline()): */
  GstSegment source_segment;    /* the source's own segment (a plain one goes on) */
  gint shifted_generation;      /* the source bin @shift was computed for */
  gint timeline_restart;        /* the capture's resumption @last_running_time belongs to */
  GstClockTime shift;           /* added to its frames' timestamps */
  GstClockTime last_running_time;       /* of the last frame passed through; NONE: none yet */
  GstCaps *last_caps;           /* main context: what the source gave videoscale last */
  gboolean loop;                /* --loop: a source that ends starts again at once */
  guint attempt_timeout_ms;     /* how long a (re)started source has for its first frame */
  GSource *retry_timer;         /* main context: the next attempt, while offline */
  GSource *attempt_timer;       /* main context: a started source's first-frame deadline */
  gboolean retry_on_resume;     /* main context: an attempt came due while released */
  GstElement *raw_tee;
  PscEncoderChoice *encoders[PSC_CODEC_COUNT];  /* nullable: no working encoder */
  guint encodings_started;      /* for unique bin names */
  GMainContext *context;
  GSource *bus_watch;           /* main context */
  guint release_delay_s;        /* 0: the capture runs while nobody watches (--always-on) */
  gboolean released;            /* main context: the pipeline is NULL, the camera closed */
  GSource *release_timer;       /* main context */
  PscSnapshot *snapshot;        /* main context */
  char *source_error_detail;    /* main context: the last source error, with what to try */

  GMutex lock;                  /* guards everything below */
  EncodingState *encodings[PSC_CODEC_COUNT];    /* running, nullable */
  GHashTable *branches;         /* GstElement* branch -> BranchLink* (branch ref'd) */
  GHashTable *detaching;        /* GstElement* being torn down: branches, encoders (ref'd) */
  PscStreamStats stats;         /* but for the RTP counters, which are atomics: */
  gsize rtp_packets_sent;
  gsize rtp_bytes_sent;
  gboolean first_frame;
  PscSupervisor supervisor;
  char *offline_reason;         /* nullable: why the stream is offline */
  GstCaps *h264_caps;           /* nullable: the H.264 source's caps (profile, level) */
};

G_DEFINE_FINAL_TYPE (PscStream, psc_stream, G_TYPE_OBJECT)

static void schedule_release (PscStream *self);

enum {
  SIGNAL_ERROR,
  SIGNAL_BRANCH_ERROR,
  SIGNAL_ENCODER_STARTED,
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* A timeout of @ms on @context, calling @callback with @data; returns a reference for
 * clear_source(). The stream's sources are kept as GSources, not ids: g_source_remove() looks
 * an id up in the global default context only, and the stream's context is the thread-default
 * one it was made in. */
static GSource *
add_timer (GMainContext *context, guint ms, GSourceFunc callback, gpointer data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, callback, data, NULL);
  g_source_attach (source, context);
  return source;
}

/* Destroys *@source, if any, on whatever context it is attached to, and drops our reference;
 * any thread. Also from the source's own callback (destroying a dispatching source is
 * allowed). */
static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
encoding_state_free (EncodingState *state)
{
  clear_source (&state->keyframe_timer);
  psc_encoding_free (state->encoding);
  g_free (state);
}

static void
psc_stream_finalize (GObject *object)
{
  PscStream *self = PSC_STREAM (object);

  clear_source (&self->bus_watch);
  clear_source (&self->release_timer);
  clear_source (&self->retry_timer);
  clear_source (&self->attempt_timer);
  if (self->pipeline != NULL)
    psc_element_stop (self->pipeline);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    g_clear_pointer (&self->encoders[c], psc_encoder_choice_free);
    g_clear_pointer (&self->encodings[c], encoding_state_free);
  }
  g_clear_pointer (&self->branches, g_hash_table_unref);
  g_clear_pointer (&self->detaching, g_hash_table_unref);
  g_clear_pointer (&self->snapshot, psc_snapshot_free);
  g_clear_object (&self->raw_tee);
  g_clear_object (&self->source_bin);
  g_clear_object (&self->pending_bin);
  g_clear_object (&self->videoscale);
  g_clear_object (&self->source_peer);
  g_clear_object (&self->h264_tee);
  g_clear_object (&self->decode_pad);
  g_clear_pointer (&self->h264_caps, gst_caps_unref);
  g_clear_pointer (&self->last_caps, gst_caps_unref);
  g_free (self->offline_reason);
  g_free (self->source_error_detail);
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->info.id);
  g_free (self->info.source);
  g_free (self->info.source_reason);
  g_free (self->info.encoder);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (psc_stream_parent_class)->finalize (object);
}

static void
psc_stream_class_init (PscStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = psc_stream_finalize;

  /**
   * PscStream::error:
   * @stream: the stream
   * @error: what failed, with the element and a hint in its message
   *
   * The shared pipeline failed outside its source (an encoder error): every viewer is
   * affected. A source that fails or ends does not emit this: the stream goes offline
   * (#PscStream::state-changed). Emitted on the main context.
   */
  signals[SIGNAL_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * PscStream::branch-error:
   * @stream: the stream
   * @branch: the attached branch an element of which failed
   * @error: what failed
   *
   * An element inside one viewer's branch failed (e.g. DTLS): only that viewer is affected.
   * Emitted on the main context.
   */
  signals[SIGNAL_BRANCH_ERROR] = g_signal_new ("branch-error", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, GST_TYPE_ELEMENT, G_TYPE_ERROR);

  /**
   * PscStream::encoder-started:
   * @stream: the stream
   * @codec: the codec (a #PscCodec)
   * @encoder: the encoder element's factory name; "passthrough" for a codec the source
   *   delivers (psc_stream_passes_through()), which runs no encoder
   *
   * A codec's first viewer arrived and its encoder started. Main context.
   */
  signals[SIGNAL_ENCODER_STARTED] = g_signal_new ("encoder-started", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

  /**
   * PscStream::state-changed:
   * @stream: the stream
   * @state: the new state (a #PscStreamState)
   * @reason: (nullable): why it is offline; %NULL when live
   *
   * The source failed or ended (offline: viewers see the slate) or is back (live). Main
   * context.
   */
  signals[SIGNAL_STATE_CHANGED] = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
psc_stream_init (PscStream *self)
{
  g_mutex_init (&self->lock);
  self->branches = g_hash_table_new_full (NULL, NULL, gst_object_unref,
      (GDestroyNotify) branch_link_free);
  self->detaching = g_hash_table_new_full (NULL, NULL, gst_object_unref, NULL);
  psc_supervisor_init (&self->supervisor);
}

static void on_source_ended (PscStream *self, GstElement *bin);
static void on_source_live (PscStream *self, GstElement *bin);
static void go_offline (PscStream *self, const char *reason);

/* A source bin's news, on its way from its streaming thread to the main context. */
typedef struct {
  PscStream *stream;
  GstElement *bin;
  gboolean ended;               /* EOS; else its first frame */
} SourceNews;

static void
source_news_free (SourceNews *news)
{
  g_object_unref (news->stream);
  gst_object_unref (news->bin);
  g_free (news);
}

/* Main context: the news may be about a bin swapped out meanwhile; then it is ignored. */
static gboolean
deliver_source_news (gpointer user_data)
{
  SourceNews *news = user_data;

  if (news->ended)
    on_source_ended (news->stream, news->bin);
  else
    on_source_live (news->stream, news->bin);
  return G_SOURCE_REMOVE;
}

static void
post_source_news (PscStream *self, GstPad *output, gboolean ended)
{
  SourceNews *news = g_new0 (SourceNews, 1);

  news->stream = g_object_ref (self);
  news->bin = GST_ELEMENT (gst_pad_get_parent (output));
  news->ended = ended;
  psc_defer (self->context, deliver_source_news, news, (GDestroyNotify) source_news_free);
}

/* Streaming thread, on the source bin's output. A live source never ends; one that does (a
 * file, a camera that went away) makes the stream offline (or, with --loop, starts again).
 * The EOS goes no further: downstream of here nothing ends, the encoders and the viewers'
 * webrtcbins stay up for the slate and the retries. (The bus never says so anyway: a bin
 * posts EOS when all its sinks have, and with no viewer there is no sink.) */
static GstPadProbeReturn
on_source_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  post_source_news (user_data, pad, TRUE);
  return GST_PAD_PROBE_DROP;
}

/* Streaming thread: a source's first frame; the stream is live (again). */
static GstPadProbeReturn
on_source_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  post_source_news (user_data, pad, FALSE);
  return GST_PAD_PROBE_REMOVE;
}

/* Streaming thread, on an H.264 source's output (not the slate's): its caps, for the
 * profile and level the SDP announces (psc_stream_dup_h264_profile_level_id()). */
static GstPadProbeReturn
on_source_caps (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstCaps *caps;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  g_mutex_lock (&self->lock);
  gst_caps_replace (&self->h264_caps, caps);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self->pipeline, "H.264 from the source: %" GST_PTR_FORMAT, caps);
  return GST_PAD_PROBE_OK;
}

/* Main context: @bin, in the pipeline, becomes the source: linked to what sources feed (the
 * raw side's videoscale, or the H.264 tee). */
static gboolean
link_source_bin (PscStream *self, GstElement *bin, gboolean slate, GError **error)
{
  g_autoptr (GstPad) output = gst_element_get_static_pad (bin, "src");
  g_autoptr (GstPad) sink = gst_element_get_static_pad (self->source_peer, "sink");

  if (!psc_element_link_pads (output, sink, error))
    return FALSE;
  g_set_object (&self->source_bin, bin);
  g_atomic_int_inc (&self->source_generation);
  self->on_slate = slate;
  if (!slate && self->h264_source)
    gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_source_caps, self, NULL);
  return TRUE;
}

/* Main context: @bin joins the pipeline as the source, its output watched. */
static gboolean
add_source_bin (PscStream *self, GstElement *bin, gboolean slate, GError **error)
{
  g_autoptr (GstPad) output = gst_element_get_static_pad (bin, "src");

  gst_bin_add (GST_BIN (self->pipeline), bin);
  if (!link_source_bin (self, bin, slate, error))
    return FALSE;
  gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_source_event, self, NULL);
  if (!slate)
    gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_BUFFER, on_source_buffer, self, NULL);
  return TRUE;
}

/* Streaming thread: the capture delivers (raw frames, or an H.264 source's). */
static GstPadProbeReturn
on_raw_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;

  g_mutex_lock (&self->lock);
  self->stats.frames_captured++;
  self->first_frame = TRUE;
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_OK;
}

/* Running time of @ts in @segment, 0 for a time before its start; NONE stays NONE. */
static GstClockTime
to_running_time (const GstSegment *segment, GstClockTime ts)
{
  guint64 running_time = 0;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return GST_CLOCK_TIME_NONE;
  if (gst_segment_to_running_time_full (segment, GST_FORMAT_TIME, ts, &running_time) < 0)
    return 0;
  return running_time;
}

/* Streaming thread, on the H.264 tee's sink pad: the frames passed through are put on one
 * timeline whatever source they come from — one TIME segment from 0, timestamps in running
 * time, never going backwards — as an encoder's output is for the raw side. Each source
 * swapped in (the slate's encoder, the camera back, a file started again) comes with a
 * segment of its own (x264enc's starts at 1000 h, rtspsrc's at the session's range), and
 * its first frames may be behind the last one sent (rtspsrc timestamps a restarted
 * session's first frames up to a second in the past). Let through as they are, the shared
 * payloader and the viewers' branches would see segments and timestamps jump: webrtcbin's
 * clocksync (1.22) then waited on a frame for hours, and every viewer's picture stopped for
 * good when the camera came back. So the source's segment is kept here and a plain one goes
 * on; each source's frames are shifted, from its first one on, by what puts that one just
 * after the last frame passed through. */
static GstPadProbeReturn
keep_h264_timeline (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;
  gint generation = g_atomic_int_get (&self->source_generation);
  GstClockTime pts, dts;
  GstBuffer *buffer;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstSegment plain;

    if (GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT)
      return GST_PAD_PROBE_OK;
    gst_event_copy_segment (event, &self->source_segment);
    gst_segment_init (&plain, GST_FORMAT_TIME);
    GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_segment (&plain);
    gst_event_set_seqnum (GST_PAD_PROBE_INFO_DATA (info), gst_event_get_seqnum (event));
    gst_event_unref (event);
    return GST_PAD_PROBE_OK;
  }

  buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  if (self->source_segment.format != GST_FORMAT_TIME)
    return GST_PAD_PROBE_OK;
  /* The capture released and resumed: the running time starts at 0 again, and so does the
   * timeline. */
  if (g_atomic_int_get (&self->timeline_restarts) != self->timeline_restart) {
    self->timeline_restart = g_atomic_int_get (&self->timeline_restarts);
    self->last_running_time = GST_CLOCK_TIME_NONE;
    self->shifted_generation = generation - 1;
  }
  pts = to_running_time (&self->source_segment, GST_BUFFER_PTS (buffer));
  dts = to_running_time (&self->source_segment, GST_BUFFER_DTS (buffer));
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    pts = dts;
  if (GST_CLOCK_TIME_IS_VALID (pts) && generation != self->shifted_generation) {
    GstClockTime after = GST_CLOCK_TIME_IS_VALID (self->last_running_time) ?
        self->last_running_time + GST_MSECOND : 0;
    self->shifted_generation = generation;
    self->shift = pts < after ? after - pts : 0;
    if (self->shift > 0)
      GST_INFO_OBJECT (pad, "the source starts %" GST_TIME_FORMAT " behind the last frame "
          "sent: its frames are shifted", GST_TIME_ARGS (self->shift));
  }
  buffer = gst_buffer_make_writable (buffer);
  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    GST_BUFFER_PTS (buffer) = pts + self->shift;
    self->last_running_time = MAX (GST_BUFFER_PTS (buffer),
        GST_CLOCK_TIME_IS_VALID (self->last_running_time) ? self->last_running_time : 0);
  }
  if (GST_CLOCK_TIME_IS_VALID (dts))
    GST_BUFFER_DTS (buffer) = dts + self->shift;
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  return GST_PAD_PROBE_OK;
}

/* Streaming thread, on the H.264 tee's pad to the decoder: an H.264 source is decoded only
 * while something takes raw frames (update_decoding()), and from a keyframe on, so the
 * decoder never starts on frames that refer to ones it has not seen. Sticky events (caps,
 * segment) go through regardless: the pad sends them before its buffer probes run. */
static GstPadProbeReturn
on_decode_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!g_atomic_int_get (&self->decode_open))
    return GST_PAD_PROBE_DROP;
  if (!g_atomic_int_get (&self->decode_synced)) {
    if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT))
      return GST_PAD_PROBE_DROP;
    GST_DEBUG_OBJECT (pad, "decoding from a keyframe on");
    g_atomic_int_set (&self->decode_synced, 1);
  }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: count encoded frames, and note when a requested keyframe has gone out. */
static GstPadProbeReturn
on_encoded_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  EncodingState *state = user_data;
  PscStream *self = state->stream;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  GST_LOG_OBJECT (pad, "encoded frame %" GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (buffer)));
  g_mutex_lock (&self->lock);
  self->stats.frames++;
  if (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT)) {
    self->stats.keyframes++;
    psc_keyframe_policy_keyframe_seen (&state->keyframes);
    GST_DEBUG_OBJECT (pad, "keyframe out of the encoder: %" G_GSIZE_FORMAT " bytes",
        gst_buffer_get_size (buffer));
  }
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_OK;
}

static gboolean on_keyframe_timer (gpointer user_data);

/* Any thread, lock held. Asks the encoding's policy about a new request (or, if @due, the
 * one it deferred), gives a deferred one its timer on the main context, and adds what the
 * policy counted to the stream's counters, which outlive the encoding. */
static PscKeyframeDecision
decide_keyframe (EncodingState *state, PscKeyframeReason reason, gboolean due)
{
  PscStream *self = state->stream;
  PscKeyframePolicy before = state->keyframes;
  guint64 now = (guint64) g_get_monotonic_time () * GST_USECOND;
  guint64 delay = 0;
  PscKeyframeDecision decision;

  if (due)
    decision = psc_keyframe_policy_deferred_due (&state->keyframes, now, &delay);
  else
    decision = psc_keyframe_policy_request (&state->keyframes, now, reason, &delay);
  if (decision == PSC_KEYFRAME_DEFER) {
    clear_source (&state->keyframe_timer);
    state->keyframe_timer = add_timer (self->context, delay / GST_MSECOND + 1,
        on_keyframe_timer, state);
  }
  self->stats.keyframes_forced_join += state->keyframes.forced_join - before.forced_join;
  self->stats.keyframes_forced_pli += state->keyframes.forced_pli - before.forced_pli;
  self->stats.keyframe_requests_coalesced += state->keyframes.coalesced - before.coalesced;
  return decision;
}

/* Marks our own requests, which pass the upstream probe on the tee's sink pad already
 * booked by decide_keyframe(). */
#define OWN_REQUEST_FIELD "periscope-booked"

static void
push_keyframe_request (GstPad *tee_sink)
{
  /* all-headers: SPS/PPS with the IDR, so a viewer that just joined can decode it. */
  GstEvent *event = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0);
  gst_structure_set (gst_event_writable_structure (event), OWN_REQUEST_FIELD, G_TYPE_BOOLEAN,
      TRUE, NULL);
  gst_pad_push_event (tee_sink, event);
}

/* Main context; the timer is removed before its encoding is freed. */
static gboolean
on_keyframe_timer (gpointer user_data)
{
  EncodingState *state = user_data;
  PscStream *self = state->stream;
  g_autoptr (GstPad) tee_sink = NULL;

  g_mutex_lock (&self->lock);
  clear_source (&state->keyframe_timer);
  if (decide_keyframe (state, PSC_KEYFRAME_PLI, TRUE) == PSC_KEYFRAME_FORWARD)
    tee_sink = gst_object_ref (psc_encoding_get_tee_sink (state->encoding));
  g_mutex_unlock (&self->lock);
  if (tee_sink != NULL)
    push_keyframe_request (tee_sink);
  return G_SOURCE_REMOVE;
}

void
psc_stream_request_keyframe (PscStream *self, PscCodec codec, PscKeyframeReason reason)
{
  PscKeyframeDecision decision = PSC_KEYFRAME_COALESCE;
  g_autoptr (GstPad) tee_sink = NULL;

  g_return_if_fail (PSC_IS_STREAM (self) && codec < PSC_CODEC_COUNT);

  g_mutex_lock (&self->lock);
  if (self->encodings[codec] != NULL) {
    decision = decide_keyframe (self->encodings[codec], reason, FALSE);
    if (decision == PSC_KEYFRAME_FORWARD)
      tee_sink = gst_object_ref (psc_encoding_get_tee_sink (self->encodings[codec]->encoding));
  }
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self->pipeline, "keyframe request (%s, %s): %s",
      psc_codec_to_string (codec), reason == PSC_KEYFRAME_JOIN ? "join" : "PLI",
      decision == PSC_KEYFRAME_FORWARD ? "forwarded" :
      decision == PSC_KEYFRAME_COALESCE ? "coalesced" : "deferred");
  if (tee_sink != NULL)
    push_keyframe_request (tee_sink);
}

/* Streaming thread of a viewer: a PLI/FIR turned into GstForceKeyUnit by rtpsession on
 * its way to the encoder (past the viewer's own gap, psc_encoding_request_pad()). Let it
 * pass, or fold it into the pending one. */
static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  EncodingState *state = user_data;
  PscStream *self = state->stream;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  PscKeyframeDecision decision;

  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  if (gst_structure_has_field (gst_event_get_structure (event), OWN_REQUEST_FIELD))
    return GST_PAD_PROBE_OK;

  g_mutex_lock (&self->lock);
  decision = decide_keyframe (state, PSC_KEYFRAME_PLI, FALSE);
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self->pipeline, "PLI/FIR from a viewer: %s",
      decision == PSC_KEYFRAME_FORWARD ? "forwarded" : "held back");
  return decision == PSC_KEYFRAME_FORWARD ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* Main context. An H.264 source is decoded while something takes raw frames: an encoder
 * of another codec, or a snapshot. When decoding starts, the source is asked for a keyframe
 * (on_decode_buffer() lets frames through from one on). */
static void
update_decoding (PscStream *self)
{
  gboolean needed;

  if (!self->h264_source)
    return;
  needed = psc_snapshot_is_waiting (self->snapshot);
  g_mutex_lock (&self->lock);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    needed |= c != PSC_CODEC_H264 && self->encodings[c] != NULL;
  g_mutex_unlock (&self->lock);
  if (needed == g_atomic_int_get (&self->decode_open))
    return;
  GST_INFO_OBJECT (self->pipeline, "%s decoding the H.264 source",
      needed ? "starting" : "stopping");
  if (needed) {
    g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (self->h264_tee, "sink");
    g_atomic_int_set (&self->decode_synced, 0);
    g_atomic_int_set (&self->decode_open, 1);
    push_keyframe_request (tee_sink);
  } else {
    g_atomic_int_set (&self->decode_open, 0);
  }
}

/* Main context: the last snapshot waiting was answered. */
static void
on_snapshots_done (gpointer user_data)
{
  update_decoding (user_data);
  schedule_release (user_data);
}

/* The H.264 decoder to use: the highest-ranked decoder element that takes H.264 and gives
 * raw video in system memory (what videoconvert takes), as decodebin would pick it —
 * decodebin itself cannot be used: it completes its state change to PAUSED only once it has
 * seen data, and the decode gate holds data back while nobody needs raw frames, so the
 * pipeline would never reach PLAYING. */
static char *
find_h264_decoder (GError **error)
{
  g_autoptr (GstCaps) h264 = gst_caps_from_string ("video/x-h264,stream-format=byte-stream,"
      "alignment=au");
  g_autoptr (GstCaps) raw = gst_caps_from_string ("video/x-raw");
  GList *decoders = gst_element_factory_list_get_elements (GST_ELEMENT_FACTORY_TYPE_DECODER |
      GST_ELEMENT_FACTORY_TYPE_MEDIA_VIDEO, GST_RANK_MARGINAL);
  char *found = NULL;

  decoders = g_list_sort (decoders, gst_plugin_feature_rank_compare_func);
  for (GList *l = decoders; l != NULL && found == NULL; l = l->next) {
    GstElementFactory *factory = l->data;
    if (gst_element_factory_can_sink_any_caps (factory, h264) &&
        gst_element_factory_can_src_any_caps (factory, raw))
      found = g_strdup (GST_OBJECT_NAME (factory));
  }
  gst_plugin_feature_list_free (decoders);
  if (found == NULL)
    g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "no H.264 decoder is installed (gstreamer1.0-libav has avdec_h264), for the viewers "
        "of other codecs and the snapshots of an H.264 source");
  return found;
}

/* Main thread, building: for an H.264 source, the tee its frames go to (the H.264 encoding
 * takes them from there as they are, psc_encoding_new()) and, behind the decode gate
 * (on_decode_buffer()), the decoder feeding the raw side:
 *
 *   source ! h264-tee ─┬─ [encode-h264-N: queue ! tee …]             H.264 viewers
 *                      └─ queue ! DECODER ! videoconvert ! videoscale ! … ! raw-tee */
static gboolean
add_decoder (PscStream *self, GError **error)
{
  g_autoptr (GstPad) decoder_sink = NULL;
  g_autoptr (GstPad) decoder_src = NULL;
  g_autoptr (GstPad) scale_sink = gst_element_get_static_pad (self->videoscale, "sink");
  g_autofree char *factory = find_h264_decoder (error);
  GstElement *tee, *queue, *decoder, *previous = NULL;

  if (factory == NULL)
    return FALSE;
  tee = psc_element_make ("tee", "h264-tee", error);
  if (tee == NULL)
    return FALSE;
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add (GST_BIN (self->pipeline), tee);
  self->h264_tee = gst_object_ref (tee);
  g_set_object (&self->source_peer, tee);
  decoder = gst_bin_new ("decode");
  gst_bin_add (GST_BIN (self->pipeline), decoder);
  queue = psc_element_make ("queue", NULL, error);
  if (!psc_element_add_chain (GST_BIN (decoder), &previous, queue, error) ||
      !psc_element_add_chain (GST_BIN (decoder), &previous,
          psc_element_make (factory, NULL, error), error) ||
      !psc_element_add_chain (GST_BIN (decoder), &previous,
          psc_element_make ("videoconvert", NULL, error), error))
    return FALSE;
  GST_INFO_OBJECT (self->pipeline, "H.264 source: decoded with %s when needed", factory);
  psc_element_ghost_chain (decoder, queue, previous);
  decoder_sink = gst_element_get_static_pad (decoder, "sink");
  decoder_src = gst_element_get_static_pad (decoder, "src");
  self->decode_pad = gst_element_request_pad_simple (tee, "src_%u");
  gst_pad_add_probe (self->decode_pad, GST_PAD_PROBE_TYPE_BUFFER, on_decode_buffer, self,
      NULL);
  return psc_element_link_pads (self->decode_pad, decoder_sink, error) &&
      psc_element_link_pads (decoder_src, scale_sink, error);
}

PscStream *
psc_stream_new (const char *id, const PscSourceChoice *source,
    PscEncoderChoice *const encoders[PSC_CODEC_COUNT], PscCodec default_codec,
    const PscConfig *config, GError **error)
{
  g_autoptr (PscStream) self = NULL;
  g_autoptr (GstCaps) raw_caps = NULL;
  GstElement *source_bin, *previous = NULL, *capsfilter, *videorate, *raw_tee, *videoscale;
  g_autoptr (GstPad) capture_pad = NULL;
  g_autoptr (GstPad) raw_pad = NULL;
  GstBin *bin;

  g_return_val_if_fail (id != NULL && source != NULL && encoders != NULL && config != NULL,
      NULL);
  g_return_val_if_fail (encoders[default_codec] != NULL, NULL);

  if (psc_stream_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_stream_debug, "psc-stream", 0, "periscope stream");

  /* Every encoder description must build now, so a typo is reported at start-up and not
   * when the first viewer of that codec comes. */
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    g_autoptr (GstElement) check = NULL;
    if (encoders[c] == NULL)
      continue;
    check = psc_encoding_build_bin (encoders[c]->codec, encoders[c]->description, "check",
        error);
    if (check == NULL)
      return NULL;
  }

  self = g_object_new (PSC_TYPE_STREAM, NULL);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    if (encoders[c] == NULL)
      continue;
    self->encoders[c] = g_new0 (PscEncoderChoice, 1);
    *self->encoders[c] = *encoders[c];
    self->encoders[c]->factory = g_strdup (encoders[c]->factory);
    self->encoders[c]->description = g_strdup (encoders[c]->description);
    self->encoders[c]->reason = g_strdup (encoders[c]->reason);
  }
  self->info.id = g_strdup (id);
  self->info.source = g_strdup (source->description);
  self->info.source_reason = g_strdup (source->reason);
  self->info.codec = default_codec;
  self->info.encoder = g_strdup (encoders[default_codec]->factory ?
      encoders[default_codec]->factory : "encoder");
  self->info.hardware = encoders[default_codec]->hardware;
  self->info.width = config->width;
  self->info.height = config->height;
  self->info.framerate = config->framerate;
  self->info.bitrate = config->bitrate;
  self->release_delay_s = config->always_on ? 0 : PSC_STREAM_RELEASE_DELAY_S;
  self->context = g_main_context_ref_thread_default ();
  {
    g_autofree char *name = g_strdup_printf ("stream-%s", id);
    self->pipeline = gst_object_ref_sink (gst_pipeline_new (name));
  }
  bin = GST_BIN (self->pipeline);

  /* Each element joins the pipeline as soon as it is made, so a failure part way leaves
   * nothing behind but the pipeline, freed with the stream. */
  source_bin = psc_launch_parse_source (source->description, &self->h264_source, error);
  if (source_bin == NULL)
    return NULL;
  gst_object_ref_sink (source_bin);
  gst_element_set_name (source_bin, "source");
  self->loop = config->loop;
  /* The source bin is swapped for the slate and back (go_offline(), try_source()): it
   * links to videoscale (or the H.264 tee) by itself, outside the chain. */
  videoscale = psc_element_make ("videoscale", NULL, error);
  if (!psc_element_add_chain (bin, &previous, videoscale, error)) {
    gst_object_unref (source_bin);
    return NULL;
  }
  self->videoscale = gst_object_ref (videoscale);
  self->source_peer = gst_object_ref (videoscale);
  if (self->h264_source && !add_decoder (self, error)) {
    gst_object_unref (source_bin);
    return NULL;
  }
  if (!add_source_bin (self, source_bin, FALSE, error)) {
    gst_object_unref (source_bin);
    return NULL;
  }
  gst_object_unref (source_bin);
  /* A live source is never slower than asked; only ever drop frames, never duplicate. */
  videorate = psc_element_make ("videorate", NULL, error);
  if (videorate == NULL)
    return NULL;
  g_object_set (videorate, "drop-only", TRUE, NULL);
  if (!psc_element_add_chain (bin, &previous, videorate, error))
    return NULL;
  /* --framerate is a ceiling: videorate drops frames above it, and a camera that is slower
   * (many are in low light, or at large sizes) keeps its own rate instead of failing. */
  raw_caps = gst_caps_new_simple ("video/x-raw",
      "width", G_TYPE_INT, config->width, "height", G_TYPE_INT, config->height,
      "framerate", GST_TYPE_FRACTION_RANGE, 1, 1, config->framerate, 1,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  capsfilter = psc_element_make ("capsfilter", "raw-caps", error);
  if (capsfilter == NULL)
    return NULL;
  g_object_set (capsfilter, "caps", raw_caps, NULL);
  if (!psc_element_add_chain (bin, &previous, capsfilter, error))
    return NULL;
  raw_tee = psc_element_make ("tee", "raw-tee", error);
  if (raw_tee == NULL)
    return NULL;
  g_object_set (raw_tee, "allow-not-linked", TRUE, NULL);
  if (!psc_element_add_chain (bin, &previous, raw_tee, error))
    return NULL;
  self->raw_tee = gst_object_ref (raw_tee);

  raw_pad = gst_element_get_static_pad (capsfilter, "src");
  self->snapshot = psc_snapshot_new (raw_pad, id, self->context, on_snapshots_done, self);
  capture_pad = gst_element_get_static_pad (self->h264_source ? self->h264_tee :
      self->raw_tee, "sink");
  gst_pad_add_probe (capture_pad, GST_PAD_PROBE_TYPE_BUFFER, on_raw_buffer, self, NULL);
  if (self->h264_source) {
    self->last_running_time = GST_CLOCK_TIME_NONE;
    gst_segment_init (&self->source_segment, GST_FORMAT_UNDEFINED);
    gst_pad_add_probe (capture_pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, keep_h264_timeline, self, NULL);
  }
  if (config->latency_stamp) {
    /* Ahead of videorate, which pushes each frame on while it still holds a reference of its
     * own: here the frame is still writable, so stamping it copies nothing (1.4 MB a frame at
     * 720p). */
    g_autoptr (GstPad) rate_sink = gst_element_get_static_pad (videorate, "sink");
    psc_stamp_add_probe (rate_sink);
  }
  return g_steal_pointer (&self);
}

typedef enum {
  SOURCE_STREAM,        /* an element of the shared pipeline */
  SOURCE_CAPTURE,       /* inside the source bin (not the slate): the stream goes offline */
  SOURCE_BRANCH,        /* inside an attached branch */
  SOURCE_GONE,          /* inside a branch being detached, or no longer in the pipeline */
} ErrorSource;

/* Where an element that posted an error sits: walks up to the pipeline's direct child.
 * Errors a branch posts while it is being torn down (or queued on the bus before), or a
 * source bin swapped out since, concern nobody. Lock held. */
static ErrorSource
classify_error_source (PscStream *self, GstObject *object, GstElement **branch)
{
  g_autoptr (GstObject) current = object ? gst_object_ref (object) : NULL;

  while (current != NULL) {
    g_autoptr (GstObject) parent = gst_object_get_parent (current);
    if (parent == GST_OBJECT (self->pipeline)) {
      if (g_hash_table_contains (self->branches, current)) {
        *branch = GST_ELEMENT (g_steal_pointer (&current));
        return SOURCE_BRANCH;
      }
      if ((current == GST_OBJECT (self->source_bin) && !self->on_slate) ||
          current == GST_OBJECT (self->pending_bin))
        return SOURCE_CAPTURE;
      return g_hash_table_contains (self->detaching, current) ? SOURCE_GONE : SOURCE_STREAM;
    }
    g_clear_object (&current);
    current = g_steal_pointer (&parent);
  }
  return object == GST_OBJECT (self->pipeline) ? SOURCE_STREAM : SOURCE_GONE;
}

static GError *
describe_error (GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;
  g_autofree char *path = NULL;
  g_autofree char *said = NULL;
  g_autofree char *logged = NULL;
  const char *hint = "";
  GError *described;

  gst_message_parse_error (message, &error, &debug);
  path = gst_object_get_path_string (GST_MESSAGE_SRC (message));
  if (error->domain == GST_RESOURCE_ERROR)
    hint = " — check the device exists and is free (periscope --list-devices, fuser "
        "/dev/videoN), and that you may open it (the video group)";
  else if (error->domain == GST_STREAM_ERROR || error->domain == GST_CORE_ERROR)
    hint = " — the source may not offer the size/rate asked for: try other --width/--height/"
        "--framerate, a preset such as --preset v4l2-mjpeg, or GST_DEBUG=3 for details";
  described = g_error_new (error->domain, error->code, "%s: %s%s", path, error->message, hint);
  /* Debug info quotes URLs (souphttpsrc, rtspsrc): the password must not reach the log. */
  said = g_strdup_printf ("%s (%s)", described->message, debug ? debug : "no debug info");
  logged = psc_redact_credentials (said);
  GST_WARNING ("%s", logged);
  return described;
}

/* One line for the slate, the page and the API: the element and what it said. The whole
 * story, with what to try, is kept for the operator (go_offline() prints it once an outage). */
static char *
describe_source_error (PscStream *self, GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) described = describe_error (message);
  char *reason;

  g_free (self->source_error_detail);
  /* An element may quote its URL, password and all (souphttpsrc, rtspsrc). */
  self->source_error_detail = psc_redact_credentials (described->message);

  gst_message_parse_error (message, &error, NULL);
  reason = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (message), error->message);
  g_strdelimit (reason, "\r\n", ' ');
  return reason;
}

/* ---- Offline: the slate, and retrying the source (psc-supervisor) ---- */

/* The running time of @pipeline now: where a source that counts from 0 must start. Any
 * thread. */
static GstClockTime
running_time (GstElement *pipeline)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (pipeline);
  GstClockTime now, base = gst_element_get_base_time (pipeline);

  if (clock == NULL)
    return 0;
  now = gst_clock_get_time (clock);
  return now > base ? now - base : 0;
}

/* A source bin's clocksync paces a source that is not live to the clock; a live one's frames
 * are on time already, and it is left unpaced. */
static void
set_pace_sync (GstElement *bin, gboolean sync)
{
  g_autoptr (GstElement) pace = gst_bin_get_by_name (GST_BIN (bin), PSC_LAUNCH_SOURCE_PACE);

  if (pace != NULL)
    g_object_set (pace, "sync", sync, NULL);
}

static void
set_pacing (PscStream *self, GstElement *bin, gboolean live)
{
  GST_INFO_OBJECT (self->pipeline, "the source is %s", live ? "live" :
      "not live: paced at its own rate");
  set_pace_sync (bin, !live);
}

static GstPadProbeReturn
hold (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_OK;
}

/* The pipeline @object is in (a reference), or NULL once it is in none. */
static GstElement *
get_top_level (GstObject *object)
{
  GstObject *top = gst_object_ref (object), *parent;

  while ((parent = gst_object_get_parent (top)) != NULL) {
    gst_object_unref (top);
    top = parent;
  }
  if (!GST_IS_PIPELINE (top)) {
    gst_object_unref (top);
    return NULL;
  }
  return GST_ELEMENT (top);
}

/* Streaming thread, on a clocksync's sink: the first segment of a source bin just started.
 * A source that is not live starts at 0, and is shifted to the pipeline's running time now,
 * as its first segment reaches the pacing — not when the source was asked to start: a file's
 * preroll (typefinding, demuxing, the first frame decoded) takes its time, seconds on a
 * loaded machine (CI's ASan run), and frames stamped from the earlier moment came late,
 * passed the pacing at once, and the clip played unpaced until it caught up. An offset set
 * here applies to this very event (gst_pad_send_event_unchecked() re-applies an offset a
 * probe changed, gstpad.c); set later, it would wait for a next segment. A live source
 * (asked upstream, as set_start_pacing() does) timestamps in running time already and is
 * left as it is. */
static GstPadProbeReturn
on_source_segment (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  g_autoptr (GstQuery) query = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  gboolean live = FALSE, playing;
  GstClockTime now;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_SEGMENT)
    return GST_PAD_PROBE_OK;
  query = gst_query_new_latency ();
  if (gst_pad_peer_query (pad, query))
    gst_query_parse_latency (query, &live, NULL, NULL);
  pipeline = get_top_level (GST_OBJECT (pad));
  if (live || pipeline == NULL)
    return GST_PAD_PROBE_REMOVE;
  /* A pipeline not playing yet (its first start, waiting for this preroll) chooses its base
   * time when it gets there, and the file's 0 is on time then: its running time now would
   * be the clock's own. */
  GST_OBJECT_LOCK (pipeline);
  playing = GST_STATE (pipeline) == GST_STATE_PLAYING;
  GST_OBJECT_UNLOCK (pipeline);
  if (!playing)
    return GST_PAD_PROBE_REMOVE;
  now = running_time (pipeline);
  gst_pad_set_offset (pad, (gint64) now);
  GST_INFO_OBJECT (pipeline, "%" GST_PTR_FORMAT " starts at running time %" GST_TIME_FORMAT,
      pad, GST_TIME_ARGS (now));
  return GST_PAD_PROBE_REMOVE;
}

/* Main context, before @bin is (re)started: its first segment will be shifted to the running
 * time it comes at if the source is not live (on_source_segment()). Added before the state
 * change, so that no segment can pass first. */
static void
shift_to_first_segment (GstElement *bin)
{
  g_autoptr (GstElement) pace = gst_bin_get_by_name (GST_BIN (bin), PSC_LAUNCH_SOURCE_PACE);
  g_autoptr (GstPad) pace_sink = pace ? gst_element_get_static_pad (pace, "sink") : NULL;

  if (pace_sink == NULL)
    return;
  gst_pad_set_offset (pace_sink, 0);
  gst_pad_add_probe (pace_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_source_segment, NULL,
      NULL);
}

/* Main context: whether the pipeline plays (a source bin added now is started at once). */
static gboolean
is_running (PscStream *self)
{
  return !self->released && GST_STATE_TARGET (self->pipeline) == GST_STATE_PLAYING;
}

/* Main context: the bin in @slot, if any, is set to NULL and leaves the pipeline. */
static void
remove_source_bin (PscStream *self, GstElement **slot)
{
  g_autoptr (GstElement) old = g_steal_pointer (slot);

  if (old == NULL)
    return;
  psc_element_remove (GST_BIN (self->pipeline), old);
  GST_INFO_OBJECT (self->pipeline, "removed %s", GST_ELEMENT_NAME (old));
}

/* Main context: @bin, just added to the running pipeline, is brought up (see swap_source()).
 * Errors (a camera that is still not there) come on the bus, as any other time. */
static void
start_source_bin (PscStream *self, GstElement *bin)
{
  GstStateChangeReturn ret;

  /* PAUSED first: the step into PLAYING returns SUCCESS, live or not. The clocksync does
   * not sync meanwhile: one that does answers NO_PREROLL itself (gstclocksync.c), and
   * every source would be taken for live — a file started again (--loop, a retry) then
   * played as fast as it decodes. */
  set_pace_sync (bin, FALSE);
  shift_to_first_segment (bin);
  ret = gst_element_set_state (bin, GST_STATE_PAUSED);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return;
  set_pacing (self, bin, ret == GST_STATE_CHANGE_NO_PREROLL);
  gst_element_set_state (bin, GST_STATE_PLAYING);
}

/* Main context. Swaps the source bin for @bin (floating) at once — the slate for a source,
 * a source for the slate, a source that ended for its fresh start (--loop), or any while the
 * capture is released; a retry on the running slate is tried behind it instead
 * (try_behind_slate()). The old one is set to NULL,
 * unlinked and removed (its streaming thread has stopped when set_state() returns), @bin is
 * added, linked to videoscale's sink and brought up with the pipeline. A source added to a
 * running pipeline that is live (a camera, rtspsrc, the slate's videotestsrc is-live)
 * timestamps in running time already; one that is not (a file) starts its segment at 0 and
 * would be all late: its frames are shifted to the running time its first segment comes at
 * (a pad offset on its clocksync's sink, ahead of the pacing, so the pacing waits on the
 * shifted times; on_source_segment()). Whether the clocksync paces at all is told by the
 * state change's NO_PREROLL (live), while the bin's output is held by a blocking probe.
 *
 * @bin handles its own asynchronous state changes ("async-handling"), apart from the
 * pipeline's. A source that is not live (decodebin) completes its step to PAUSED only once
 * it has prerolled, after swap_source() has asked for PLAYING, and a bin inside another stops
 * there for its parent to continue it (gstbin.c, bin_handle_async_done()). The pipeline
 * does so only if it has taken the bin's ASYNC_START and is not marked failed — and any ERROR
 * it passes on marks it failed until its own next state change (gst_bin_handle_message_func()),
 * as a failed attempt's does while the stream runs on the slate. After one, the next file
 * stayed in PAUSED, its clocksync blocked, and sent nothing; worse, the failed attempt's
 * decodebin had had the pipeline lose its state to PAUSED for good, so a viewer's branch
 * brought up meanwhile (gst_element_sync_state_with_parent()) stopped at PAUSED too. Handling
 * its own, the bin goes on to PLAYING once prerolled, and the pipeline never sees its
 * preroll. */
static gboolean
swap_source (PscStream *self, GstElement *bin, gboolean slate, GError **error)
{
  g_autoptr (GstPad) output = gst_element_get_static_pad (bin, "src");
  gulong block;

  remove_source_bin (self, &self->source_bin);
  g_object_set (bin, "async-handling", TRUE, NULL);
  block = gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold, NULL, NULL);
  if (!add_source_bin (self, bin, slate, error)) {
    gst_pad_remove_probe (output, block);
    psc_element_stop (bin);
    gst_bin_remove (GST_BIN (self->pipeline), bin);
    return FALSE;
  }
  if (is_running (self))
    start_source_bin (self, bin);
  gst_pad_remove_probe (output, block);
  GST_INFO_OBJECT (self->pipeline, "swapped in %s", GST_ELEMENT_NAME (bin));
  return TRUE;
}

/* Streaming thread, on the output of a source tried behind the slate: its first frame,
 * held there until on_source_live() has put the source in the slate's place. */
static GstPadProbeReturn
on_pending_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  post_source_news (user_data, pad, FALSE);
  return GST_PAD_PROBE_OK;
}

/* Main context: the source being tried behind the slate, if any, is given up. */
static void
drop_pending (PscStream *self)
{
  self->pending_hold = 0;
  remove_source_bin (self, &self->pending_bin);
}

/* Main context, the pipeline running on the slate: @bin (floating), a fresh source, is
 * started next to the slate, not in its place — its output unlinked and held by a blocking
 * probe — so the viewers keep the slate's moving picture until the source has a frame to
 * give (a camera that never answers holds the attempt for its whole timeout, 10 s by
 * default). Then on_source_live() swaps it in (promote_pending()). */
static void
try_behind_slate (PscStream *self, GstElement *bin)
{
  g_autoptr (GstPad) output = gst_element_get_static_pad (bin, "src");

  drop_pending (self);
  g_object_set (bin, "async-handling", TRUE, NULL);
  gst_bin_add (GST_BIN (self->pipeline), bin);
  self->pending_bin = gst_object_ref (bin);
  gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_source_event, self, NULL);
  self->pending_hold = gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, on_pending_frame, self, NULL);
  start_source_bin (self, bin);
  GST_INFO_OBJECT (self->pipeline, "trying %s behind the slate", GST_ELEMENT_NAME (bin));
}

/* Main context: the source tried behind the slate has its first frame: it takes the slate's
 * place, and the frame goes on (the sticky events first: linking sends them again). */
static gboolean
promote_pending (PscStream *self)
{
  g_autoptr (GstElement) bin = g_steal_pointer (&self->pending_bin);
  g_autoptr (GstPad) output = gst_element_get_static_pad (bin, "src");
  g_autoptr (GError) error = NULL;

  remove_source_bin (self, &self->source_bin);
  if (!link_source_bin (self, bin, FALSE, &error)) {
    psc_element_remove (GST_BIN (self->pipeline), bin);
    go_offline (self, error->message);
    return FALSE;
  }
  gst_pad_remove_probe (output, self->pending_hold);
  self->pending_hold = 0;
  GST_INFO_OBJECT (self->pipeline, "swapped in %s", GST_ELEMENT_NAME (bin));
  return TRUE;
}

/* The slate of an H.264 source: @slate (floating, raw) encoded by the stream's H.264
 * encoder, so it reaches the H.264 viewers (and, decoded, the others) as the camera's
 * frames do. Without an H.264 encoder there is no slate. */
static GstElement *
encode_slate (PscStream *self, GstElement *slate, GError **error)
{
  g_autoptr (GstPad) encoded = NULL;
  GstElement *bin, *encoder;

  if (self->encoders[PSC_CODEC_H264] == NULL) {
    gst_object_unref (gst_object_ref_sink (slate));
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "no H.264 encoder to encode the slate of an H.264 source with");
    return NULL;
  }
  encoder = psc_encoding_build_bin (PSC_CODEC_H264, self->encoders[PSC_CODEC_H264]->description,
      "slate-encode", error);
  if (encoder == NULL) {
    gst_object_unref (gst_object_ref_sink (slate));
    return NULL;
  }
  gst_element_set_name (slate, "slate-raw");
  bin = gst_bin_new ("slate");
  gst_bin_add_many (GST_BIN (bin), slate, encoder, NULL);
  gst_object_unref (encoder);   /* psc_encoding_build_bin() gives a full reference */
  if (!psc_element_link (slate, encoder, error)) {
    gst_object_unref (gst_object_ref_sink (bin));
    return NULL;
  }
  encoded = gst_element_get_static_pad (encoder, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", encoded));
  return bin;
}

/* The slate: black at the source's last caps (so nothing downstream renegotiates: the
 * encoders and the viewers' webrtcbins carry on), "no signal — @reason" and the time. */
static GstElement *
make_slate (PscStream *self, const char *reason, GError **error)
{
  static const char description[] =
      "videotestsrc is-live=true pattern=black ! capsfilter name=slate-size ! "
      "textoverlay name=slate-text valignment=center halignment=center wrap-mode=none "
      "font-desc=\"Sans 12\" ! clockoverlay valignment=bottom halignment=center "
      "time-format=\"%Y-%m-%d %H:%M:%S\" font-desc=\"Sans 10\" ! videoconvert ! "
      "capsfilter name=slate-caps";
  g_autoptr (GstCaps) size = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstElement) size_filter = NULL;
  g_autoptr (GstElement) caps_filter = NULL;
  g_autoptr (GstElement) text = NULL;
  g_autofree char *markup = NULL;
  g_autofree char *line = NULL;
  int width = self->info.width, height = self->info.height;
  int fps_n = self->info.framerate, fps_d = 1;
  GstElement *bin;

  /* Only the output ghosted: a ghost of textoverlay's text_sink would count as linked, and
   * textoverlay would wait for text on it before each frame. */
  bin = gst_parse_bin_from_description (description, FALSE, error);
  if (bin == NULL)
    return NULL;
  if (self->last_caps != NULL) {
    GstStructure *s = gst_caps_get_structure (self->last_caps, 0);
    gst_structure_get_int (s, "width", &width);
    gst_structure_get_int (s, "height", &height);
    if (!gst_structure_get_fraction (s, "framerate", &fps_n, &fps_d) || fps_n <= 0) {
      fps_n = self->info.framerate;
      fps_d = 1;
    }
    /* An H.264 source's caps give the size and rate; the slate is encoded after. */
    if (gst_structure_has_name (s, "video/x-raw")) {
      caps = gst_caps_copy (self->last_caps);
      /* A variable-rate source says 0/1 (an RTSP camera without timing, a VFR file): the
       * slate has a rate of its own. */
      gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
    }
  }
  if (caps == NULL) {
    caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420",
        "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
        "framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
  }
  size = gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT, width,
      "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
  size_filter = gst_bin_get_by_name (GST_BIN (bin), "slate-size");
  caps_filter = gst_bin_get_by_name (GST_BIN (bin), "slate-caps");
  text = gst_bin_get_by_name (GST_BIN (bin), "slate-text");
  g_object_set (size_filter, "caps", size, NULL);
  g_object_set (caps_filter, "caps", caps, NULL);
  {
    g_autoptr (GstPad) output = gst_element_get_static_pad (caps_filter, "src");
    gst_element_add_pad (bin, gst_ghost_pad_new ("src", output));
  }
  /* One line, and not markup (textoverlay parses Pango markup). */
  line = g_strdup_printf ("no signal — %s", reason);
  g_strdelimit (line, "\r\n", ' ');
  markup = g_markup_escape_text (line, -1);
  g_object_set (text, "text", markup, NULL);
  gst_element_set_name (bin, "slate");
  return self->h264_source ? encode_slate (self, bin, error) : bin;
}

static gboolean on_retry_timer (gpointer user_data);

/* Main context. The source failed or ended (or did not start): the slate replaces it, the
 * stream is offline, and the next attempt is scheduled after the backoff. */
static void
go_offline (PscStream *self, const char *said)
{
  /* Shown on the slate and the page, in the API and the log: an element's error, or the
   * source's own description when it does not parse, may quote its password. */
  g_autofree char *reason = psc_redact_credentials (said);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (self->source_peer, "sink");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (sink);
  GstElement *slate;
  gboolean changed;
  guint64 delay;

  clear_source (&self->attempt_timer);
  clear_source (&self->retry_timer);
  self->retry_on_resume = FALSE;
  drop_pending (self);
  if (caps != NULL && gst_caps_is_fixed (caps))
    gst_caps_replace (&self->last_caps, caps);
  slate = make_slate (self, reason, &error);
  if (slate == NULL || !swap_source (self, slate, TRUE, &error)) {
    /* Nothing to fall back on (textoverlay missing?): the stream has failed. */
    g_prefix_error (&error, "stream %s cannot show its slate: ", self->info.id);
    self->failed = TRUE;
    g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
    return;
  }

  g_mutex_lock (&self->lock);
  changed = self->supervisor.state != PSC_STREAM_OFFLINE;
  delay = psc_supervisor_failed (&self->supervisor, g_get_monotonic_time () * GST_USECOND);
  self->stats.outages = self->supervisor.outages;
  g_free (self->offline_reason);
  self->offline_reason = g_strdup (reason);
  g_mutex_unlock (&self->lock);
  GST_WARNING_OBJECT (self->pipeline, "offline: %s; next attempt in %" G_GUINT64_FORMAT " s",
      reason, delay / GST_SECOND);
  self->retry_timer = add_timer (self->context, delay / GST_MSECOND, on_retry_timer, self);
  /* What to try goes to the operator once an outage, not with every retry. */
  if (changed && self->source_error_detail != NULL)
    g_message ("stream %s: %s", self->info.id, self->source_error_detail);
  g_clear_pointer (&self->source_error_detail, g_free);
  if (changed)
    g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, (guint) PSC_STREAM_OFFLINE, reason);
}

/* Main context: a started source has sent nothing in time. */
static gboolean
on_attempt_timeout (gpointer user_data)
{
  PscStream *self = user_data;
  g_autofree char *reason = g_strdup_printf ("no video from the source within %u ms",
      self->attempt_timeout_ms);

  clear_source (&self->attempt_timer);
  if (!self->on_slate || self->pending_bin != NULL)
    go_offline (self, reason);
  return G_SOURCE_REMOVE;
}

/* Main context: a fresh source bin in place of the slate (or, looping, of the source that
 * ended), given the start timeout for its first frame. */
static void
try_source (PscStream *self)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin;

  clear_source (&self->attempt_timer);
  GST_INFO_OBJECT (self->pipeline, "starting the source again");
  g_mutex_lock (&self->lock);
  self->stats.source_attempts++;
  g_mutex_unlock (&self->lock);
  bin = psc_launch_parse_source (self->info.source, NULL, &error);
  if (bin != NULL && self->on_slate && is_running (self)) {
    try_behind_slate (self, bin);
  } else if (bin == NULL || !swap_source (self, bin, FALSE, &error)) {
    go_offline (self, error->message);
    return;
  }
  self->attempt_timer = add_timer (self->context, self->attempt_timeout_ms,
      on_attempt_timeout, self);
}

static gboolean
on_retry_timer (gpointer user_data)
{
  PscStream *self = user_data;

  clear_source (&self->retry_timer);
  /* Released (nobody watching): the next viewer's resume_capture() tries. */
  if (self->released)
    self->retry_on_resume = TRUE;
  else
    try_source (self);
  return G_SOURCE_REMOVE;
}

gboolean
psc_stream_retry_now (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), FALSE);

  if (self->failed || self->bus_watch == NULL ||
      psc_stream_get_state (self) != PSC_STREAM_OFFLINE)
    return FALSE;
  clear_source (&self->retry_timer);
  if (self->released) {
    self->retry_on_resume = TRUE;
    return FALSE;
  }
  GST_INFO_OBJECT (self->pipeline, "told the source may be back: trying it now");
  try_source (self);
  return TRUE;
}

/* Main context: the source bin @bin ended. */
static void
on_source_ended (PscStream *self, GstElement *bin)
{
  if (bin == self->pending_bin) {
    go_offline (self, "the source ended (end of stream)");
    return;
  }
  if (bin != self->source_bin || self->on_slate)
    return;
  /* A source that ends before its first frame (an empty file) would be started again and
   * again at full speed: that is an outage, with its backoff. */
  if (self->loop && self->attempt_timer == NULL) {
    GST_INFO_OBJECT (self->pipeline, "the source ended: --loop starts it again");
    try_source (self);
    return;
  }
  go_offline (self, "the source ended (end of stream)");
}

/* Main context: the source bin @bin delivered its first frame. Back from offline, every
 * running encoder is asked for a keyframe at once, so the viewers' decoders switch to the
 * live picture without waiting for the next GOP. */
static void
on_source_live (PscStream *self, GstElement *bin)
{
  gboolean changed;

  if (bin == self->pending_bin && !promote_pending (self))
    return;
  if (bin != self->source_bin || self->on_slate)
    return;
  clear_source (&self->attempt_timer);
  g_mutex_lock (&self->lock);
  changed = psc_supervisor_live (&self->supervisor);
  g_clear_pointer (&self->offline_reason, g_free);
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  GST_WARNING_OBJECT (self->pipeline, "live again");
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    psc_stream_request_keyframe (self, c, PSC_KEYFRAME_JOIN);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, (guint) PSC_STREAM_LIVE, NULL);
}

/* Main context. */
static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer user_data)
{
  PscStream *self = user_data;
  g_autoptr (GError) error = NULL;
  GstElement *branch = NULL;
  ErrorSource source;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR)
    return G_SOURCE_CONTINUE;

  g_mutex_lock (&self->lock);
  source = classify_error_source (self, GST_MESSAGE_SRC (message), &branch);
  g_mutex_unlock (&self->lock);
  if (source == SOURCE_GONE)
    return G_SOURCE_CONTINUE;

  if (source == SOURCE_CAPTURE) {
    g_autofree char *reason = describe_source_error (self, message);
    go_offline (self, reason);
    return G_SOURCE_CONTINUE;
  }
  error = describe_error (message);
  if (source == SOURCE_BRANCH) {
    g_signal_emit (self, signals[SIGNAL_BRANCH_ERROR], 0, branch, error);
    gst_object_unref (branch);
  } else {
    GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS (GST_BIN (self->pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
        "periscope-error");
    self->failed = TRUE;
    g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
  }
  return G_SOURCE_CONTINUE;
}

/* Main thread, frames flowing at start-up: whether the source is live, from the latency
 * query (the pipeline's state change returned NO_PREROLL for it, but also for anything
 * else live in the pipeline). */
static void
set_start_pacing (PscStream *self)
{
  g_autoptr (GstQuery) query = gst_query_new_latency ();
  g_autoptr (GstElement) pace = gst_bin_get_by_name (GST_BIN (self->source_bin),
      PSC_LAUNCH_SOURCE_PACE);
  g_autoptr (GstPad) sink = pace ? gst_element_get_static_pad (pace, "sink") : NULL;
  gboolean live = FALSE;

  if (sink != NULL && gst_pad_peer_query (sink, query))
    gst_query_parse_latency (query, &live, NULL, NULL);
  set_pacing (self, self->source_bin, live);
}

/* Start-up, the main loop not running: the source failed, or sent nothing in time. The
 * pipeline starts again with the slate, and the retries begin once the loop runs. */
static void
start_offline (PscStream *self, GstBus *bus, const char *reason)
{
  psc_element_stop (self->pipeline);
  /* Whatever else the failed source posted concerns nobody now. */
  gst_bus_set_flushing (bus, TRUE);
  gst_bus_set_flushing (bus, FALSE);
  go_offline (self, reason);
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
}

gboolean
psc_stream_start (PscStream *self, guint timeout_ms, GError **error)
{
  g_autoptr (GstBus) bus = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean flowing = FALSE;
  g_autofree char *offline = NULL;

  g_return_val_if_fail (PSC_IS_STREAM (self), FALSE);

  self->attempt_timeout_ms = timeout_ms;
  bus = gst_element_get_bus (self->pipeline);
  /* The pipeline plays before a file has prerolled (seconds on a loaded machine): its frames
   * start at the running time they come at, as on any restart. */
  if (self->source_bin != NULL)
    shift_to_first_segment (self->source_bin);
  /* A source that cannot start (a camera not plugged in yet) posts its error, read below. */
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);

  while (!flowing && offline == NULL) {
    g_autoptr (GstMessage) message =
        gst_bus_timed_pop_filtered (bus, 20 * GST_MSECOND, GST_MESSAGE_ERROR);
    if (message != NULL) {
      GstElement *branch = NULL;
      ErrorSource source;

      g_mutex_lock (&self->lock);
      source = classify_error_source (self, GST_MESSAGE_SRC (message), &branch);
      g_mutex_unlock (&self->lock);
      if (source == SOURCE_CAPTURE) {
        offline = describe_source_error (self, message);
        break;
      }
      g_propagate_error (error, describe_error (message));
      psc_element_stop (self->pipeline);
      return FALSE;
    }
    g_mutex_lock (&self->lock);
    flowing = self->first_frame;
    g_mutex_unlock (&self->lock);
    if (!flowing && g_get_monotonic_time () > deadline)
      offline = g_strdup_printf ("no video from the source within %u ms", timeout_ms);
  }
  if (offline != NULL) {
    start_offline (self, bus, offline);
    if (self->failed) {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
          "stream %s: the source failed (%s) and the slate cannot be shown", self->info.id,
          offline);
      return FALSE;
    }
  } else {
    set_start_pacing (self);
    g_mutex_lock (&self->lock);
    psc_supervisor_live (&self->supervisor);
    g_mutex_unlock (&self->lock);
  }
  self->bus_watch = gst_bus_create_watch (bus);
  g_source_set_callback (self->bus_watch, (GSourceFunc) (void (*) (void)) on_bus_message, self,
      NULL);
  g_source_attach (self->bus_watch, self->context);
  schedule_release (self);
  return TRUE;
}

void
psc_stream_stop (PscStream *self)
{
  g_return_if_fail (PSC_IS_STREAM (self));

  clear_source (&self->bus_watch);
  clear_source (&self->release_timer);
  clear_source (&self->retry_timer);
  clear_source (&self->attempt_timer);
  psc_element_stop (self->pipeline);
}

/* ---- On-demand capture ---- */

/* Main context: whether anything needs frames — an encoder (running or being stopped: its
 * IDLE probe needs data flow to settle) or a snapshot. */
static gboolean
capture_needed (PscStream *self)
{
  gboolean needed = psc_snapshot_is_waiting (self->snapshot);

  g_mutex_lock (&self->lock);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    needed |= self->encodings[c] != NULL;
  needed |= g_hash_table_size (self->detaching) > 0;
  g_mutex_unlock (&self->lock);
  return needed;
}

static gboolean
on_release_timer (gpointer user_data)
{
  PscStream *self = user_data;

  clear_source (&self->release_timer);
  if (self->released || self->failed || capture_needed (self))
    return G_SOURCE_REMOVE;
  /* NULL, not READY: v4l2src closes the device only then, so another program may open it. */
  psc_element_stop (self->pipeline);
  self->released = TRUE;
  drop_pending (self);
  /* A source being tried cannot send its first frame now: not a failure, tried again when
   * the capture resumes. */
  if (self->attempt_timer != NULL) {
    clear_source (&self->attempt_timer);
    self->retry_on_resume = TRUE;
  }
  GST_INFO_OBJECT (self->pipeline, "capture released: nobody watching");
  return G_SOURCE_REMOVE;
}

/* Main context: once nothing needs frames, releases the capture after the delay. */
static void
schedule_release (PscStream *self)
{
  if (self->release_delay_s == 0 || self->released || self->release_timer != NULL ||
      self->bus_watch == NULL || capture_needed (self))
    return;
  self->release_timer = add_timer (self->context, self->release_delay_s * 1000,
      on_release_timer, self);
}

/* Main context: makes sure frames flow (again). */
static void
resume_capture (PscStream *self)
{
  clear_source (&self->release_timer);
  if (!self->released)
    return;
  self->released = FALSE;
  GST_INFO_OBJECT (self->pipeline, "capture resumed");
  /* The running time starts at 0 again, and so does a source that is not live, once it has
   * prerolled again (the pipeline does not wait for that: the bin handles its own). */
  shift_to_first_segment (self->source_bin);
  g_atomic_int_inc (&self->timeline_restarts);
  /* Errors (the camera gone meanwhile) come on the bus, as any other time. */
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
  if (self->retry_on_resume) {
    self->retry_on_resume = FALSE;
    try_source (self);
  }
}

/* Whether @codec's frames come from the source as they are, with no encoder. */
static gboolean
passes_through (PscStream *self, PscCodec codec)
{
  return self->h264_source && codec == PSC_CODEC_H264;
}

/* The tee @codec's encoding takes its input from. */
static GstElement *
input_tee (PscStream *self, PscCodec codec)
{
  return passes_through (self, codec) ? self->h264_tee : self->raw_tee;
}

/* What the encoder-started signal and the log call @codec's encoder. */
static const char *
encoder_name (PscStream *self, PscCodec codec)
{
  return passes_through (self, codec) ? "passthrough" : self->encoders[codec]->factory;
}

/* Main thread, lock not held. Starts @codec's encoder: its elements join the pipeline, the
 * stream's probes go on its tee, and the raw tee feeds it. Its first frame is a keyframe,
 * so no request is needed — but for a source passed through, which is asked for one when
 * the viewer connects (PSC_KEYFRAME_JOIN), as for any viewer. */
static EncodingState *
start_encoding (PscStream *self, PscCodec codec, GError **error)
{
  g_autofree char *name = g_strdup_printf ("encode-%s-%u", psc_codec_to_string (codec),
      ++self->encodings_started);
  EncodingState *state;
  PscEncoding *encoding;
  GstPad *tee_sink;

  encoding = psc_encoding_new (GST_BIN (self->pipeline), input_tee (self, codec), codec,
      passes_through (self, codec) ? NULL : self->encoders[codec]->description, name, error);
  if (encoding == NULL) {
    g_prefix_error (error, "stream %s cannot start its %s encoder: ", self->info.id,
        psc_codec_to_string (codec));
    return NULL;
  }
  state = g_new0 (EncodingState, 1);
  state->stream = self;
  state->encoding = encoding;
  psc_keyframe_policy_init (&state->keyframes);
  tee_sink = psc_encoding_get_tee_sink (encoding);
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER, on_encoded_buffer, state, NULL);
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, state,
      NULL);
  if (!psc_encoding_start (encoding, error)) {
    g_prefix_error (error, "stream %s cannot start its %s encoder: ", self->info.id,
        psc_codec_to_string (codec));
    encoding_state_free (state);
    return NULL;
  }
  GST_INFO_OBJECT (self->pipeline, "started encoder %s (%s)", encoder_name (self, codec),
      name);
  return state;
}

static void unlink_when_idle (PscStream *self, GstElement *element, GstElement *tee,
    GstPad *tee_pad, EncodingState *encoding);

/* Main context: stops @state's encoder if it is still running with no branch left — the
 * way a branch is detached, from the raw tee. */
static void
stop_encoding_if_unused (PscStream *self, EncodingState *state)
{
  PscCodec codec = psc_encoding_get_codec (state->encoding);
  gboolean unused;

  g_mutex_lock (&self->lock);
  unused = self->encodings[codec] == state && state->branches == 0;
  if (unused) {
    self->encodings[codec] = NULL;
    clear_source (&state->keyframe_timer);
    g_hash_table_add (self->detaching, gst_object_ref (psc_encoding_get_bin (state->encoding)));
  }
  g_mutex_unlock (&self->lock);
  if (!unused)
    return;
  GST_INFO_OBJECT (self->pipeline, "stopping the %s encoder: no viewer left",
      psc_codec_to_string (codec));
  update_decoding (self);
  unlink_when_idle (self, psc_encoding_get_bin (state->encoding), input_tee (self, codec),
      psc_encoding_get_raw_tee_pad (state->encoding), state);
}

/* psc_stream_attach() and psc_stream_attach_rtp(). */
static gboolean
attach (PscStream *self, GstElement *branch, PscCodec codec, gboolean payloaded,
    guint payload_type, const char *profile_level_id, GError **error)
{
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstElement) tee = NULL;
  EncodingState *state;
  BranchLink *link;
  GstPad *tee_pad;
  gboolean started = FALSE;

  if (!psc_stream_can_send (self, codec)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "stream %s has no working %s encoder", self->info.id, psc_codec_to_string (codec));
    return FALSE;
  }
  sink = gst_element_get_static_pad (branch, "sink");
  if (sink == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_PAD,
        "stream %s cannot attach %s: it has no \"sink\" pad", self->info.id,
        GST_ELEMENT_NAME (branch));
    return FALSE;
  }
  resume_capture (self);
  g_mutex_lock (&self->lock);
  state = self->encodings[codec];
  g_mutex_unlock (&self->lock);
  if (state == NULL) {
    state = start_encoding (self, codec, error);
    if (state == NULL) {
      schedule_release (self);
      return FALSE;
    }
    g_mutex_lock (&self->lock);
    self->encodings[codec] = state;
    g_mutex_unlock (&self->lock);
    started = TRUE;
    update_decoding (self);
  }

  /* Bring the branch up before linking, so the first buffer it sees finds it PLAYING. */
  if (!gst_bin_add (GST_BIN (self->pipeline), branch)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
        "stream %s cannot attach %s: the pipeline refuses it (an element of that name is "
        "there already, or it is in another bin)", self->info.id, GST_ELEMENT_NAME (branch));
    if (started)
      stop_encoding_if_unused (self, state);
    else
      schedule_release (self);
    return FALSE;
  }
  gst_element_sync_state_with_parent (branch);

  tee_pad = psc_encoding_request_pad (state->encoding, payloaded, payload_type,
      profile_level_id);
  tee = GST_ELEMENT (gst_pad_get_parent (tee_pad));
  if (!psc_element_link_pads (tee_pad, sink, error)) {
    g_prefix_error (error, "stream %s cannot attach %s: ", self->info.id,
        GST_ELEMENT_NAME (branch));
    gst_element_release_request_pad (tee, tee_pad);
    gst_object_unref (tee_pad);
    psc_element_remove (GST_BIN (self->pipeline), branch);
    /* An encoder started for this branch alone goes again; the release follows it. */
    if (started)
      stop_encoding_if_unused (self, state);
    else
      schedule_release (self);
    return FALSE;
  }
  /* The caps now, not with the next frame (see psc_stream_attach() in the header): pushed
   * under the tee's sink pad stream lock, which the tee's chain function holds while it
   * pushes a buffer to every source pad, so that no buffer goes out on the new pad meanwhile.
   * Two threads pushing on one pad race in sending its sticky events (the first clears the
   * pad's pending flag, then sends them; the other sees none pending and sends its buffer),
   * and the branch got a buffer before its segment: "data flow before segment event", then
   * a CRITICAL in the payloader (gst_segment_to_running_time), about once in 4,000 WHEP
   * joins under the soak. An IDLE probe on the tee's sink pad did not serialize this: a sink
   * pad counts as idle while its chain function runs. The tee pushes into the branches'
   * queues, which never block, so the lock is held only for as long as one buffer takes. */
  {
    g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (tee, "sink");

    GST_PAD_STREAM_LOCK (tee_sink);
    gst_pad_push_event (tee_pad, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
            gst_structure_new_empty (PSC_STREAM_LINKED_EVENT)));
    GST_PAD_STREAM_UNLOCK (tee_sink);
  }

  link = g_new0 (BranchLink, 1);
  link->tee_pad = tee_pad;
  link->tee = g_steal_pointer (&tee);
  link->encoding = state;
  g_mutex_lock (&self->lock);
  state->branches++;
  g_hash_table_insert (self->branches, gst_object_ref (branch), link);
  self->stats.viewers = g_hash_table_size (self->branches);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self->pipeline, "attached %s to %s", GST_ELEMENT_NAME (branch),
      GST_PAD_NAME (tee_pad));
  if (started)
    g_signal_emit (self, signals[SIGNAL_ENCODER_STARTED], 0, (guint) codec,
        encoder_name (self, codec));
  return TRUE;
}

gboolean
psc_stream_attach (PscStream *self, GstElement *branch, PscCodec codec, gboolean payloaded,
    GError **error)
{
  g_return_val_if_fail (PSC_IS_STREAM (self) && GST_IS_ELEMENT (branch), FALSE);
  g_return_val_if_fail (codec < PSC_CODEC_COUNT, FALSE);

  return attach (self, branch, codec, payloaded, PSC_PAYLOADER_DEFAULT_PT, NULL, error);
}

gboolean
psc_stream_attach_rtp (PscStream *self, GstElement *branch, PscCodec codec,
    guint payload_type, const char *profile_level_id, GError **error)
{
  g_return_val_if_fail (PSC_IS_STREAM (self) && GST_IS_ELEMENT (branch), FALSE);
  g_return_val_if_fail (codec < PSC_CODEC_COUNT, FALSE);
  g_return_val_if_fail (payload_type <= 127, FALSE);

  return attach (self, branch, codec, TRUE, payload_type, profile_level_id, error);
}

typedef struct {
  PscStream *stream;
  GstElement *element;          /* a branch, or an encoding's bin */
  GstElement *tee;              /* the tee it hangs off */
  GstPad *tee_pad;
  EncodingState *encoding;      /* set when the element is this encoding's bin: free it */
  gboolean unlinked;            /* the IDLE probe ran */
} Detach;

static void
detach_free (Detach *detach)
{
  g_object_unref (detach->stream);
  gst_object_unref (detach->element);
  gst_object_unref (detach->tee);
  gst_object_unref (detach->tee_pad);
  g_free (detach);
}

static void on_tee_pad_probe_gone (gpointer data);
static GstPadProbeReturn on_tee_pad_idle (GstPad *pad, GstPadProbeInfo *info,
    gpointer user_data);

/* Unlinks @element from @tee_pad when no buffer passes, then finishes on the main context.
 * The caller has put @element in self->detaching, in the same critical section that took it
 * out of service, so no error it posts meanwhile is taken for the stream's. */
static void
unlink_when_idle (PscStream *self, GstElement *element, GstElement *tee, GstPad *tee_pad,
    EncodingState *encoding)
{
  Detach *detach = g_new0 (Detach, 1);

  detach->stream = g_object_ref (self);
  detach->element = gst_object_ref (element);
  detach->tee = gst_object_ref (tee);
  detach->tee_pad = gst_object_ref (tee_pad);
  detach->encoding = encoding;
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_IDLE, on_tee_pad_idle, detach,
      on_tee_pad_probe_gone);
}

/* Main context: the element is unlinked, nothing flows into it any more. When a branch was
 * its encoding's last, the encoder stops too. */
static gboolean
finish_detach (gpointer user_data)
{
  Detach *detach = user_data;
  PscStream *self = detach->stream;
  EncodingState *idle = NULL;

  if (detach->encoding != NULL) {
    /* An encoder stopped: its tee and payloader go with it (its branches are all gone). */
    psc_encoding_stop (detach->encoding->encoding);
  } else {
    gst_element_release_request_pad (detach->tee, detach->tee_pad);
    psc_element_remove (GST_BIN (self->pipeline), detach->element);
  }
  GST_INFO_OBJECT (self->pipeline, "removed %s", GST_ELEMENT_NAME (detach->element));
  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->detaching, detach->element);
  g_mutex_unlock (&self->lock);

  if (detach->encoding != NULL) {
    encoding_state_free (detach->encoding);
    schedule_release (self);
    return G_SOURCE_REMOVE;
  }
  /* The branch's encoding, found by its tee: it may have been stopped and freed already. */
  g_mutex_lock (&self->lock);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    EncodingState *state = self->encodings[c];
    if (state != NULL && psc_encoding_has_tee (state->encoding, detach->tee))
      idle = state;
  }
  g_mutex_unlock (&self->lock);
  if (idle != NULL)
    stop_encoding_if_unused (self, idle);
  /* A branch's IDLE probe may fire after its encoder's: the last one out schedules. */
  schedule_release (self);
  return G_SOURCE_REMOVE;
}

/* Streaming thread (or the caller's, if the pad is idle already). */
static GstPadProbeReturn
on_tee_pad_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Detach *detach = user_data;
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);

  if (peer != NULL)
    gst_pad_unlink (pad, peer);
  detach->unlinked = TRUE;
  return GST_PAD_PROBE_REMOVE;
}

/* The IDLE probe is gone (right after it ran, on its thread; or unrun, the pad going away at
 * shutdown). It ran: finish on the main context — the tee pad is released there, as this may
 * run inside gst_pad_add_probe(). It did not: nothing to finish, and the references to the
 * stream and the element are dropped rather than kept forever. */
static void
on_tee_pad_probe_gone (gpointer data)
{
  Detach *detach = data;

  if (detach->unlinked)
    psc_defer (detach->stream->context, finish_detach, detach, (GDestroyNotify) detach_free);
  else
    detach_free (detach);
}

void
psc_stream_detach (PscStream *self, GstElement *branch)
{
  BranchLink *link;
  g_autoptr (GstPad) tee_pad = NULL;
  g_autoptr (GstElement) tee = NULL;

  g_return_if_fail (PSC_IS_STREAM (self) && GST_IS_ELEMENT (branch));

  g_mutex_lock (&self->lock);
  link = g_hash_table_lookup (self->branches, branch);
  if (link != NULL) {
    tee_pad = gst_object_ref (link->tee_pad);
    tee = gst_object_ref (link->tee);
    link->encoding->branches--;
    g_hash_table_add (self->detaching, gst_object_ref (branch));
    g_hash_table_remove (self->branches, branch);
    self->stats.viewers = g_hash_table_size (self->branches);
  }
  g_mutex_unlock (&self->lock);
  if (tee_pad == NULL)
    return;
  unlink_when_idle (self, branch, tee, tee_pad, NULL);
}

/* ---- Snapshots (psc-snapshot) ---- */

void
psc_stream_snapshot_async (PscStream *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (PSC_IS_STREAM (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, psc_stream_snapshot_async);
  psc_snapshot_take (self->snapshot, task);
  /* Once it is answered, on_snapshots_done() schedules the release again. */
  resume_capture (self);
  update_decoding (self);
}

GBytes *
psc_stream_snapshot_finish (PscStream *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
psc_stream_count_sent (PscStream *self, guint packets, gsize bytes)
{
  /* Every packet of every viewer comes here, each from its own queue's thread: atomics, not
   * the stream lock, so viewers never contend. On 32-bit systems the byte counter wraps at
   * 4 GiB, which Prometheus takes as a counter reset. */
  g_atomic_pointer_add (&self->rtp_packets_sent, packets);
  g_atomic_pointer_add (&self->rtp_bytes_sent, bytes);
}

const char *
psc_stream_get_id (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);
  return self->info.id;
}

const PscStreamInfo *
psc_stream_get_info (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);
  return &self->info;
}

gboolean
psc_stream_is_playing (PscStream *self)
{
  GstState state = GST_STATE_NULL;

  g_return_val_if_fail (PSC_IS_STREAM (self), FALSE);
  gst_element_get_state (self->pipeline, &state, NULL, 0);
  return (self->released || state == GST_STATE_PLAYING) && !self->failed &&
      psc_stream_get_state (self) != PSC_STREAM_OFFLINE;
}

PscStreamState
psc_stream_get_state (PscStream *self)
{
  PscStreamState state;

  g_return_val_if_fail (PSC_IS_STREAM (self), PSC_STREAM_OFFLINE);
  g_mutex_lock (&self->lock);
  state = self->supervisor.state;
  g_mutex_unlock (&self->lock);
  return state;
}

char *
psc_stream_dup_offline_reason (PscStream *self)
{
  char *reason;

  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);
  g_mutex_lock (&self->lock);
  reason = g_strdup (self->offline_reason);
  g_mutex_unlock (&self->lock);
  return reason;
}

gboolean
psc_stream_is_capturing (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), FALSE);

  return !self->released && psc_stream_is_playing (self);
}

const char *
psc_stream_get_state_name (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);

  if (self->failed)
    return "failed";
  if (psc_stream_get_state (self) == PSC_STREAM_OFFLINE)
    return "offline";
  if (self->released)
    return "idle";
  return psc_supervisor_state_to_string (psc_stream_get_state (self));
}

PscCodec
psc_stream_get_codec (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), PSC_CODEC_H264);
  return self->info.codec;
}

const PscEncoderChoice *
psc_stream_get_encoder (PscStream *self, PscCodec codec)
{
  g_return_val_if_fail (PSC_IS_STREAM (self) && codec < PSC_CODEC_COUNT, NULL);
  return self->encoders[codec];
}

gboolean
psc_stream_can_send (PscStream *self, PscCodec codec)
{
  g_return_val_if_fail (PSC_IS_STREAM (self) && codec < PSC_CODEC_COUNT, FALSE);
  return self->encoders[codec] != NULL || passes_through (self, codec);
}

gboolean
psc_stream_passes_through (PscStream *self, PscCodec codec)
{
  g_return_val_if_fail (PSC_IS_STREAM (self) && codec < PSC_CODEC_COUNT, FALSE);
  return passes_through (self, codec);
}

char *
psc_stream_dup_h264_profile_level_id (PscStream *self)
{
  g_autoptr (GstCaps) caps = NULL;
  const GstStructure *s;

  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);

  if (!self->h264_source)
    return NULL;
  g_mutex_lock (&self->lock);
  caps = self->h264_caps ? gst_caps_ref (self->h264_caps) : NULL;
  g_mutex_unlock (&self->lock);
  if (caps == NULL || gst_caps_is_empty (caps))
    return NULL;
  s = gst_caps_get_structure (caps, 0);
  return psc_payloader_h264_profile_level_id (gst_structure_get_string (s, "profile"),
      gst_structure_get_string (s, "level"));
}

gboolean
psc_stream_is_encoding (PscStream *self, PscCodec codec)
{
  gboolean running;

  g_return_val_if_fail (PSC_IS_STREAM (self) && codec < PSC_CODEC_COUNT, FALSE);
  g_mutex_lock (&self->lock);
  running = self->encodings[codec] != NULL;
  g_mutex_unlock (&self->lock);
  return running;
}

const char *
psc_stream_get_encoder_name (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);
  return self->info.encoder;
}

GstElement *
psc_stream_get_pipeline (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), NULL);
  return self->pipeline;
}

void
psc_stream_get_stats (PscStream *self, PscStreamStats *stats)
{
  g_return_if_fail (PSC_IS_STREAM (self) && stats != NULL);

  g_mutex_lock (&self->lock);
  *stats = self->stats;
  g_mutex_unlock (&self->lock);
  stats->rtp_packets_sent = (gsize) g_atomic_pointer_get (&self->rtp_packets_sent);
  stats->rtp_bytes_sent = (gsize) g_atomic_pointer_get (&self->rtp_bytes_sent);
}
