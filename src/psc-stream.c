/* periscope — one camera, one encoder, every viewer: the shared media pipeline
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-stream.h"
#include "psc-launch.h"

#include <gio/gio.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (psc_stream_debug);
#define GST_CAT_DEFAULT psc_stream_debug

/* A request this young that has not produced a keyframe yet covers new ones. */
#define KEYFRAME_PENDING_NS (1 * GST_SECOND)
/* Forced keyframes are at least this far apart; later requests wait for the gap. */
#define KEYFRAME_MIN_GAP_NS (200 * GST_MSECOND)
/* One viewer's keyframe requests are at least this far apart. */
#define KEYFRAME_BRANCH_GAP_NS (1 * GST_SECOND)

struct _PscStream {
  GObject parent;

  PscStreamInfo info;
  gboolean failed;              /* main context: an error or EOS was reported */
  GstElement *pipeline;
  GstElement *tee;
  GstPad *tee_sink;
  GMainContext *context;
  guint bus_watch;

  GMutex lock;                  /* guards everything below */
  GHashTable *branches;         /* GstElement* branch -> GstPad* tee src pad (both ref'd) */
  GHashTable *detaching;        /* GstElement* branches being detached (ref'd) */
  gboolean keyframe_pending;
  GstClockTime keyframe_requested_at;   /* monotonic ns */
  GstClockTime keyframe_forced_at;      /* monotonic ns */
  guint keyframe_timer;         /* a request deferred by KEYFRAME_MIN_GAP_NS */
  PscKeyframeReason deferred_reason;
  PscStreamStats stats;
  gboolean first_frame;
  GCond first_frame_cond;

  GPtrArray *snapshot_tasks;    /* main context: GTask*, waiting for a frame */
  GstPad *raw_pad;              /* where snapshots take their frame */
  gboolean snapshot_probe;      /* main context: a one-shot probe is waiting for a frame */
  guint snapshot_timeout;
};

G_DEFINE_FINAL_TYPE (PscStream, psc_stream, G_TYPE_OBJECT)

enum {
  SIGNAL_ERROR,
  SIGNAL_BRANCH_ERROR,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
psc_stream_finalize (GObject *object)
{
  PscStream *self = PSC_STREAM (object);

  if (self->bus_watch != 0)
    g_source_remove (self->bus_watch);
  if (self->keyframe_timer != 0)
    g_source_remove (self->keyframe_timer);
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->branches, g_hash_table_unref);
  g_clear_pointer (&self->detaching, g_hash_table_unref);
  g_clear_pointer (&self->snapshot_tasks, g_ptr_array_unref);
  g_clear_handle_id (&self->snapshot_timeout, g_source_remove);
  g_clear_object (&self->raw_pad);
  g_clear_object (&self->tee_sink);
  g_clear_object (&self->tee);
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->info.id);
  g_free (self->info.source);
  g_free (self->info.source_reason);
  g_free (self->info.encoder);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->first_frame_cond);
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
   * The shared pipeline failed (camera unplugged, encoder error) or its source ended: every
   * viewer is affected. Emitted on the main context.
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
}

static void
psc_stream_init (PscStream *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->first_frame_cond);
  self->branches = g_hash_table_new_full (NULL, NULL, gst_object_unref, gst_object_unref);
  self->detaching = g_hash_table_new_full (NULL, NULL, gst_object_unref, NULL);
  self->snapshot_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->keyframe_forced_at = 0;
}

/* Main context. */
static gboolean
report_end_of_stream (gpointer user_data)
{
  PscStream *self = user_data;
  g_autoptr (GError) error = g_error_new (GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
      "stream %s: the source ended (end of stream)", self->info.id);

  self->failed = TRUE;
  g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
  return G_SOURCE_REMOVE;
}

/* Streaming thread. A live source never ends; one that does (a file, a camera that went
 * away) is a failure. The bus never says so: a bin posts EOS when all its sinks have, and
 * with no viewer there is no sink. */
static GstPadProbeReturn
on_encoded_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS) {
    GSource *source = g_idle_source_new ();
    g_source_set_callback (source, report_end_of_stream, g_object_ref (self), g_object_unref);
    g_source_attach (source, self->context);
    g_source_unref (source);
  }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: count frames, and note when a requested keyframe has gone out. */
static GstPadProbeReturn
on_encoded_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  g_mutex_lock (&self->lock);
  self->stats.frames++;
  if (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT)) {
    self->stats.keyframes++;
    self->keyframe_pending = FALSE;
  }
  if (!self->first_frame) {
    self->first_frame = TRUE;
    g_cond_broadcast (&self->first_frame_cond);
  }
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_OK;
}

typedef enum {
  KEYFRAME_FORWARD,
  KEYFRAME_COALESCE,
  KEYFRAME_DEFER,
} KeyframeDecision;

static gboolean on_keyframe_timer (gpointer user_data);

/* Any thread, lock held. Decides what to do with a keyframe request and books it. */
static KeyframeDecision
decide_keyframe (PscStream *self, PscKeyframeReason reason)
{
  GstClockTime now = g_get_monotonic_time () * GST_USECOND;

  if ((self->keyframe_pending && now - self->keyframe_requested_at < KEYFRAME_PENDING_NS) ||
      self->keyframe_timer != 0) {
    self->stats.keyframe_requests_coalesced++;
    return KEYFRAME_COALESCE;
  }
  if (self->keyframe_forced_at != 0 && now - self->keyframe_forced_at < KEYFRAME_MIN_GAP_NS) {
    GSource *source = g_timeout_source_new (
        (KEYFRAME_MIN_GAP_NS - (now - self->keyframe_forced_at)) / GST_MSECOND + 1);
    g_source_set_callback (source, on_keyframe_timer, g_object_ref (self), g_object_unref);
    self->keyframe_timer = g_source_attach (source, self->context);
    self->deferred_reason = reason;
    g_source_unref (source);
    return KEYFRAME_DEFER;
  }
  self->keyframe_pending = TRUE;
  self->keyframe_requested_at = now;
  self->keyframe_forced_at = now;
  if (reason == PSC_KEYFRAME_JOIN)
    self->stats.keyframes_forced_join++;
  else
    self->stats.keyframes_forced_pli++;
  return KEYFRAME_FORWARD;
}

/* Marks our own requests, which pass the upstream probe on the tee's sink pad already
 * booked by decide_keyframe(). */
#define OWN_REQUEST_FIELD "periscope-booked"

static void
push_keyframe_request (PscStream *self)
{
  /* all-headers: SPS/PPS with the IDR, so a viewer that just joined can decode it. */
  GstEvent *event = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0);
  gst_structure_set (gst_event_writable_structure (event), OWN_REQUEST_FIELD, G_TYPE_BOOLEAN,
      TRUE, NULL);
  gst_pad_push_event (self->tee_sink, event);
}

static gboolean
on_keyframe_timer (gpointer user_data)
{
  PscStream *self = user_data;
  KeyframeDecision decision;

  g_mutex_lock (&self->lock);
  self->keyframe_timer = 0;
  decision = decide_keyframe (self, self->deferred_reason);
  g_mutex_unlock (&self->lock);
  if (decision == KEYFRAME_FORWARD)
    push_keyframe_request (self);
  return G_SOURCE_REMOVE;
}

void
psc_stream_request_keyframe (PscStream *self, PscKeyframeReason reason)
{
  KeyframeDecision decision;

  g_return_if_fail (PSC_IS_STREAM (self));

  g_mutex_lock (&self->lock);
  decision = decide_keyframe (self, reason);
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self->pipeline, "keyframe request (%s): %s",
      reason == PSC_KEYFRAME_JOIN ? "join" : "PLI",
      decision == KEYFRAME_FORWARD ? "forwarded" :
      decision == KEYFRAME_COALESCE ? "coalesced" : "deferred");
  if (decision == KEYFRAME_FORWARD)
    push_keyframe_request (self);
}

/* Streaming thread of a viewer: a PLI/FIR turned into GstForceKeyUnit by rtpsession on
 * its way to the encoder. Let it pass, or fold it into the pending one. */
static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  KeyframeDecision decision;

  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  if (gst_structure_has_field (gst_event_get_structure (event), OWN_REQUEST_FIELD))
    return GST_PAD_PROBE_OK;

  g_mutex_lock (&self->lock);
  decision = decide_keyframe (self, PSC_KEYFRAME_PLI);
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self->pipeline, "PLI/FIR from a viewer: %s",
      decision == KEYFRAME_FORWARD ? "forwarded" : "held back");
  return decision == KEYFRAME_FORWARD ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static gboolean
add_chain (GstBin *bin, GstElement **previous, GstElement *element, GError **error)
{
  gst_bin_add (bin, element);
  if (*previous != NULL && !gst_element_link (*previous, element)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link %s to %s: their pads are not compatible", GST_ELEMENT_NAME (*previous),
        GST_ELEMENT_NAME (element));
    return FALSE;
  }
  *previous = element;
  return TRUE;
}

static GstElement *
make (const char *factory, const char *name)
{
  GstElement *element = gst_element_factory_make (factory, name);
  if (element == NULL)
    g_error ("GStreamer element %s is missing; install gstreamer1.0-plugins-base/-good/-bad",
        factory);
  return element;
}

PscStream *
psc_stream_new (const char *id, const PscSourceChoice *source, const PscEncoderChoice *encoder,
    const PscConfig *config, GError **error)
{
  g_autoptr (PscStream) self = NULL;
  g_autoptr (GstCaps) raw_caps = NULL;
  GstElement *source_bin, *encoder_bin, *previous = NULL, *capsfilter, *queue, *videorate;
  GstBin *bin;

  g_return_val_if_fail (id != NULL && source != NULL && encoder != NULL && config != NULL,
      NULL);

  if (psc_stream_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_stream_debug, "psc-stream", 0, "periscope stream");

  source_bin = psc_launch_parse_bin ("--source", source->description, error);
  if (source_bin == NULL)
    return NULL;
  encoder_bin = psc_launch_parse_bin ("--encoder", encoder->description, error);
  if (encoder_bin == NULL) {
    gst_object_unref (gst_object_ref_sink (source_bin));
    return NULL;
  }
  gst_element_set_name (source_bin, "source");
  gst_element_set_name (encoder_bin, "encoder");

  self = g_object_new (PSC_TYPE_STREAM, NULL);
  self->info.id = g_strdup (id);
  self->info.source = g_strdup (source->description);
  self->info.source_reason = g_strdup (source->reason);
  self->info.codec = encoder->codec;
  self->info.encoder = g_strdup (encoder->factory ? encoder->factory : "encoder");
  self->info.hardware = encoder->hardware;
  self->info.width = config->width;
  self->info.height = config->height;
  self->info.framerate = config->framerate;
  self->info.bitrate = config->bitrate;
  self->context = g_main_context_ref_thread_default ();
  {
    g_autofree char *name = g_strdup_printf ("stream-%s", id);
    self->pipeline = gst_object_ref_sink (gst_pipeline_new (name));
  }
  bin = GST_BIN (self->pipeline);

  /* --framerate is a ceiling: videorate drops frames above it, and a camera that is slower
   * (many are in low light, or at large sizes) keeps its own rate instead of failing. */
  raw_caps = gst_caps_new_simple ("video/x-raw",
      "width", G_TYPE_INT, config->width, "height", G_TYPE_INT, config->height,
      "framerate", GST_TYPE_FRACTION_RANGE, 1, 1, config->framerate, 1,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  capsfilter = make ("capsfilter", "raw-caps");
  g_object_set (capsfilter, "caps", raw_caps, NULL);
  /* A live source is never slower than asked; only ever drop frames, never duplicate. */
  videorate = make ("videorate", NULL);
  g_object_set (videorate, "drop-only", TRUE, NULL);
  queue = make ("queue", "encoder-queue");
  g_object_set (queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
      (guint64) 0, "leaky", 2 /* downstream: drop the oldest */, NULL);

  if (!add_chain (bin, &previous, source_bin, error) ||
      !add_chain (bin, &previous, make ("videoconvert", NULL), error) ||
      !add_chain (bin, &previous, make ("videoscale", NULL), error) ||
      !add_chain (bin, &previous, videorate, error) ||
      !add_chain (bin, &previous, capsfilter, error) ||
      !add_chain (bin, &previous, queue, error) ||
      !add_chain (bin, &previous, make ("videoconvert", "encoder-convert"), error) ||
      !add_chain (bin, &previous, encoder_bin, error))
    return NULL;

  if (self->info.codec == PSC_CODEC_H264) {
    GstElement *parse = make ("h264parse", "parse");
    GstElement *parsed = make ("capsfilter", "parsed-caps");
    g_autoptr (GstCaps) caps = gst_caps_from_string (
        "video/x-h264,stream-format=byte-stream,alignment=au");
    /* SPS/PPS in band before every IDR, whatever the encoder does by itself. */
    g_object_set (parse, "config-interval", -1, NULL);
    g_object_set (parsed, "caps", caps, NULL);
    if (!add_chain (bin, &previous, parse, error) || !add_chain (bin, &previous, parsed, error))
      return NULL;
  }

  self->raw_pad = gst_element_get_static_pad (capsfilter, "src");
  self->tee = gst_object_ref (make ("tee", "tee"));
  g_object_set (self->tee, "allow-not-linked", TRUE, NULL);
  if (!add_chain (bin, &previous, self->tee, error))
    return NULL;

  self->tee_sink = gst_element_get_static_pad (self->tee, "sink");
  gst_pad_add_probe (self->tee_sink, GST_PAD_PROBE_TYPE_BUFFER, on_encoded_buffer, self, NULL);
  gst_pad_add_probe (self->tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event,
      self, NULL);
  gst_pad_add_probe (self->tee_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_encoded_event,
      self, NULL);
  return g_steal_pointer (&self);
}

typedef enum {
  SOURCE_STREAM,        /* an element of the shared pipeline */
  SOURCE_BRANCH,        /* inside an attached branch */
  SOURCE_GONE,          /* inside a branch being detached, or no longer in the pipeline */
} ErrorSource;

/* Where an element that posted an error sits: walks up to the pipeline's direct child.
 * Errors a branch posts while it is being torn down (or queued on the bus before) concern
 * nobody. Lock held. */
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
  GST_WARNING ("%s (%s)", described->message, debug ? debug : "no debug info");
  return described;
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

gboolean
psc_stream_start (PscStream *self, guint timeout_ms, GError **error)
{
  g_autoptr (GstBus) bus = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean flowing = FALSE;

  g_return_val_if_fail (PSC_IS_STREAM (self), FALSE);

  bus = gst_element_get_bus (self->pipeline);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_autoptr (GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (message != NULL)
      g_propagate_error (error, describe_error (message));
    else
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
          "stream %s: the pipeline cannot start (GST_DEBUG=3 shows why)", self->info.id);
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
    return FALSE;
  }

  while (!flowing) {
    g_autoptr (GstMessage) message =
        gst_bus_timed_pop_filtered (bus, 20 * GST_MSECOND, GST_MESSAGE_ERROR);
    if (message != NULL) {
      g_propagate_error (error, describe_error (message));
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      return FALSE;
    }
    g_mutex_lock (&self->lock);
    flowing = self->first_frame;
    g_mutex_unlock (&self->lock);
    if (!flowing && g_get_monotonic_time () > deadline) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
          "stream %s: no video from the source within %u ms", self->info.id, timeout_ms);
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      return FALSE;
    }
  }
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  return TRUE;
}

void
psc_stream_stop (PscStream *self)
{
  g_return_if_fail (PSC_IS_STREAM (self));

  if (self->bus_watch != 0) {
    g_source_remove (self->bus_watch);
    self->bus_watch = 0;
  }
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
}

/* Streaming thread. A branch must never hold up the tee. A serialized query (an encoder's
 * ALLOCATION after renegotiating, a DRAIN) waits until every branch has processed what is
 * queued before it, and a viewer's webrtcbin holds buffers back until its SDP negotiation
 * completes: one viewer that never answers would stall them all. The encoded stream
 * needs nothing from the branches' allocators, so the tee pad answers such queries itself. */
static GstPadProbeReturn
on_branch_query (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);

  if (!GST_QUERY_IS_SERIALIZED (query))
    return GST_PAD_PROBE_OK;
  return GST_PAD_PROBE_HANDLED;
}

/* Streaming thread. The encoded caps are fixed for every branch; a new branch's RECONFIGURE
 * must not make the shared encoder renegotiate. And one viewer asking for keyframes in a loop
 * (a PLI storm, a broken client) gets at most one request per KEYFRAME_BRANCH_GAP_NS through,
 * so it cannot spend everyone's bitrate on keyframes; the stream-wide policy then applies. */
static GstPadProbeReturn
on_branch_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  if (GST_EVENT_TYPE (event) == GST_EVENT_RECONFIGURE)
    return GST_PAD_PROBE_DROP;
  if (gst_video_event_is_force_key_unit (event)) {
    gint64 *last = user_data;
    gint64 now = g_get_monotonic_time () * GST_USECOND;
    /* Only this pad's streaming thread (the viewer's queue) pushes upstream events here. */
    if (*last != 0 && now - *last < KEYFRAME_BRANCH_GAP_NS)
      return GST_PAD_PROBE_DROP;
    *last = now;
  }
  return GST_PAD_PROBE_OK;
}

void
psc_stream_attach (PscStream *self, GstElement *branch)
{
  g_autoptr (GstPad) sink = NULL;
  GstPad *tee_pad;

  g_return_if_fail (PSC_IS_STREAM (self) && GST_IS_ELEMENT (branch));

  /* Bring the branch up before linking, so the first buffer it sees finds it PLAYING. */
  gst_bin_add (GST_BIN (self->pipeline), branch);
  gst_element_sync_state_with_parent (branch);

  tee_pad = gst_element_request_pad_simple (self->tee, "src_%u");
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_branch_query, NULL, NULL);
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_branch_upstream_event,
      g_new0 (gint64, 1), g_free);
  sink = gst_element_get_static_pad (branch, "sink");
  if (gst_pad_link (tee_pad, sink) != GST_PAD_LINK_OK)
    g_critical ("cannot link %s to the tee of stream %s", GST_ELEMENT_NAME (branch), self->info.id);

  g_mutex_lock (&self->lock);
  g_hash_table_insert (self->branches, gst_object_ref (branch), tee_pad);
  self->stats.viewers = g_hash_table_size (self->branches);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self->pipeline, "attached %s to %s", GST_ELEMENT_NAME (branch),
      GST_PAD_NAME (tee_pad));
}

typedef struct {
  PscStream *stream;
  GstElement *branch;
  GstPad *tee_pad;
} Detach;

static void
detach_free (Detach *detach)
{
  g_object_unref (detach->stream);
  gst_object_unref (detach->branch);
  gst_object_unref (detach->tee_pad);
  g_free (detach);
}

/* Main context: the branch is unlinked, nothing flows into it any more. */
static gboolean
finish_detach (gpointer user_data)
{
  Detach *detach = user_data;

  PscStream *self = detach->stream;

  gst_element_release_request_pad (self->tee, detach->tee_pad);
  gst_element_set_state (detach->branch, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (self->pipeline), detach->branch);
  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->detaching, detach->branch);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self->pipeline, "detached %s", GST_ELEMENT_NAME (detach->branch));
  return G_SOURCE_REMOVE;
}

/* Streaming thread (or the caller's, if the pad is idle already). */
static GstPadProbeReturn
on_tee_pad_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Detach *detach = user_data;
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);

  GSource *source;

  if (peer != NULL)
    gst_pad_unlink (pad, peer);
  /* Always through an idle source, never inline: this may run inside gst_pad_add_probe(),
   * where releasing the very pad would pull the rug from under it. */
  source = g_idle_source_new ();
  g_source_set_callback (source, finish_detach, detach, (GDestroyNotify) detach_free);
  g_source_attach (source, detach->stream->context);
  g_source_unref (source);
  return GST_PAD_PROBE_REMOVE;
}

void
psc_stream_detach (PscStream *self, GstElement *branch)
{
  Detach *detach;
  GstPad *tee_pad;

  g_return_if_fail (PSC_IS_STREAM (self) && GST_IS_ELEMENT (branch));

  g_mutex_lock (&self->lock);
  tee_pad = g_hash_table_lookup (self->branches, branch);
  if (tee_pad != NULL) {
    gst_object_ref (tee_pad);
    g_hash_table_add (self->detaching, gst_object_ref (branch));
    g_hash_table_remove (self->branches, branch);
    self->stats.viewers = g_hash_table_size (self->branches);
  }
  g_mutex_unlock (&self->lock);
  if (tee_pad == NULL)
    return;

  detach = g_new0 (Detach, 1);
  detach->stream = g_object_ref (self);
  detach->branch = gst_object_ref (branch);
  detach->tee_pad = tee_pad;
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_IDLE, on_tee_pad_idle, detach, NULL);
}

/* ---- Snapshots ---- */

#define SNAPSHOT_TIMEOUT_MS 3000

/* Main context: answers every waiting request with @bytes or @error. */
static void
complete_snapshots (PscStream *self, GBytes *bytes, const GError *error)
{
  g_autoptr (GPtrArray) tasks = g_steal_pointer (&self->snapshot_tasks);

  self->snapshot_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  g_clear_handle_id (&self->snapshot_timeout, g_source_remove);
  for (guint i = 0; i < tasks->len; i++) {
    GTask *task = g_ptr_array_index (tasks, i);
    if (bytes != NULL)
      g_task_return_pointer (task, g_bytes_ref (bytes), (GDestroyNotify) g_bytes_unref);
    else
      g_task_return_error (task, g_error_copy (error));
  }
}

static void
on_snapshot_converted (GstSample *sample, GError *error, gpointer user_data)
{
  PscStream *self = user_data;

  if (sample != NULL) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    GstMapInfo map;
    g_autoptr (GBytes) bytes = NULL;

    gst_buffer_map (buffer, &map, GST_MAP_READ);
    bytes = g_bytes_new (map.data, map.size);
    gst_buffer_unmap (buffer, &map);
    complete_snapshots (self, bytes, NULL);
    gst_sample_unref (sample);
  } else {
    complete_snapshots (self, NULL, error);
  }
  g_clear_error (&error);
}

typedef struct {
  PscStream *stream;
  GstSample *sample;
} Frame;

/* Main context. */
static gboolean
convert_frame (gpointer user_data)
{
  Frame *frame = user_data;
  PscStream *self = frame->stream;
  g_autoptr (GstCaps) jpeg = gst_caps_new_empty_simple ("image/jpeg");

  self->snapshot_probe = FALSE;
  if (self->snapshot_tasks->len > 0)
    gst_video_convert_sample_async (frame->sample, jpeg, 5 * GST_SECOND, on_snapshot_converted,
        g_object_ref (self), g_object_unref);
  gst_sample_unref (frame->sample);
  g_object_unref (frame->stream);
  g_free (frame);
  return G_SOURCE_REMOVE;
}

/* Streaming thread: the next raw frame, once. */
static GstPadProbeReturn
on_snapshot_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  Frame *frame;
  GSource *source;

  if (caps == NULL)
    return GST_PAD_PROBE_OK;
  frame = g_new0 (Frame, 1);
  frame->stream = g_object_ref (self);
  frame->sample = gst_sample_new (GST_PAD_PROBE_INFO_BUFFER (info), caps, NULL, NULL);
  source = g_idle_source_new ();
  g_source_set_callback (source, convert_frame, frame, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
  return GST_PAD_PROBE_REMOVE;
}

static gboolean
on_snapshot_timeout (gpointer user_data)
{
  PscStream *self = user_data;
  g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
      "stream %s: no frame within %d ms", self->info.id, SNAPSHOT_TIMEOUT_MS);

  self->snapshot_timeout = 0;
  complete_snapshots (self, NULL, error);
  return G_SOURCE_REMOVE;
}

void
psc_stream_snapshot_async (PscStream *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (PSC_IS_STREAM (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, psc_stream_snapshot_async);
  g_ptr_array_add (self->snapshot_tasks, task);
  if (self->snapshot_timeout == 0)
    self->snapshot_timeout = g_timeout_add (SNAPSHOT_TIMEOUT_MS, on_snapshot_timeout, self);
  /* One probe at a time: it stays until a frame comes, however many requests wait. */
  if (!self->snapshot_probe) {
    self->snapshot_probe = TRUE;
    gst_pad_add_probe (self->raw_pad, GST_PAD_PROBE_TYPE_BUFFER, on_snapshot_frame,
        g_object_ref (self), g_object_unref);
  }
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
  g_mutex_lock (&self->lock);
  self->stats.rtp_packets_sent += packets;
  self->stats.rtp_bytes_sent += bytes;
  g_mutex_unlock (&self->lock);
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
  return state == GST_STATE_PLAYING && !self->failed;
}

PscCodec
psc_stream_get_codec (PscStream *self)
{
  g_return_val_if_fail (PSC_IS_STREAM (self), PSC_CODEC_H264);
  return self->info.codec;
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
}
