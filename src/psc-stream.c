/* periscope — one camera, one encoder, every viewer: the shared media pipeline
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-stream.h"
#include "psc-stamp.h"
#include "psc-payloader.h"
#include "psc-defer.h"
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

/* One codec's encoder, started when its first viewer comes and stopped when its last one
 * leaves: `queue leaky ! videoconvert ! encoder [! h264parse ! caps] ! tee`, fed by a
 * request pad of the raw tee; and, off that tee, the shared payloader:
 * `payloader ! rtp-tee`. */
typedef struct {
  PscStream *stream;            /* not owned */
  PscCodec codec;
  GstElement *bin;
  GstElement *tee;
  GstPad *tee_sink;
  GstPad *raw_tee_pad;
  GstElement *payloader;
  GstElement *rtp_tee;
  GstPad *payloader_pad;        /* the tee's pad feeding the payloader */

  /* stream->lock */
  guint branches;
  gboolean keyframe_pending;
  GstClockTime keyframe_requested_at;   /* monotonic ns */
  GstClockTime keyframe_forced_at;      /* monotonic ns */
  guint keyframe_timer;         /* a request deferred by KEYFRAME_MIN_GAP_NS */
  PscKeyframeReason deferred_reason;
} PscEncoding;

/* An attached branch: its tee pad, that tee (the encoding's, or its RTP tee) and the
 * encoding it hangs off. */
typedef struct {
  GstPad *tee_pad;
  GstElement *tee;
  PscEncoding *encoding;
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
  gboolean failed;              /* main context: an error or EOS was reported */
  GstElement *pipeline;
  GstElement *raw_tee;
  PscEncoderChoice *encoders[PSC_CODEC_COUNT];  /* nullable: no working encoder */
  guint encodings_started;      /* for unique bin names */
  GMainContext *context;
  guint bus_watch;
  guint release_delay_s;        /* 0: the capture runs while nobody watches (--always-on) */
  gboolean released;            /* main context: the pipeline is NULL, the camera closed */
  guint release_timer;

  GMutex lock;                  /* guards everything below */
  PscEncoding *encodings[PSC_CODEC_COUNT];      /* running, nullable */
  GHashTable *branches;         /* GstElement* branch -> BranchLink* (branch ref'd) */
  GHashTable *detaching;        /* GstElement* being torn down: branches, encoders (ref'd) */
  PscStreamStats stats;         /* but for the RTP counters, which are atomics: */
  gsize rtp_packets_sent;
  gsize rtp_bytes_sent;
  gboolean first_frame;

  GPtrArray *snapshot_tasks;    /* main context: GTask*, waiting for a frame */
  GstPad *raw_pad;              /* where snapshots take their frame */
  gboolean snapshot_probe;      /* main context: a one-shot probe is waiting for a frame */
  guint snapshot_timeout;
};

G_DEFINE_FINAL_TYPE (PscStream, psc_stream, G_TYPE_OBJECT)

static void encoding_free (PscEncoding *encoding);
static void schedule_release (PscStream *self);
static GstPadProbeReturn on_branch_query (GstPad *pad, GstPadProbeInfo *info,
    gpointer user_data);
static GstPadProbeReturn on_payloader_upstream_event (GstPad *pad, GstPadProbeInfo *info,
    gpointer user_data);

enum {
  SIGNAL_ERROR,
  SIGNAL_BRANCH_ERROR,
  SIGNAL_ENCODER_STARTED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
psc_stream_finalize (GObject *object)
{
  PscStream *self = PSC_STREAM (object);

  if (self->bus_watch != 0)
    g_source_remove (self->bus_watch);
  g_clear_handle_id (&self->release_timer, g_source_remove);
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    g_clear_pointer (&self->encoders[c], psc_encoder_choice_free);
    g_clear_pointer (&self->encodings[c], encoding_free);
  }
  g_clear_pointer (&self->branches, g_hash_table_unref);
  g_clear_pointer (&self->detaching, g_hash_table_unref);
  g_clear_pointer (&self->snapshot_tasks, g_ptr_array_unref);
  g_clear_handle_id (&self->snapshot_timeout, g_source_remove);
  g_clear_object (&self->raw_pad);
  g_clear_object (&self->raw_tee);
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

  /**
   * PscStream::encoder-started:
   * @stream: the stream
   * @codec: the codec (a #PscCodec)
   * @encoder: the encoder element's factory name
   *
   * A codec's first viewer arrived and its encoder started. Main context.
   */
  signals[SIGNAL_ENCODER_STARTED] = g_signal_new ("encoder-started", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
psc_stream_init (PscStream *self)
{
  g_mutex_init (&self->lock);
  self->branches = g_hash_table_new_full (NULL, NULL, gst_object_unref,
      (GDestroyNotify) branch_link_free);
  self->detaching = g_hash_table_new_full (NULL, NULL, gst_object_unref, NULL);
  self->snapshot_tasks = g_ptr_array_new_with_free_func (g_object_unref);
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
on_raw_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscStream *self = user_data;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    psc_defer (self->context, report_end_of_stream, g_object_ref (self), g_object_unref);
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: the capture delivers. */
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

/* Streaming thread: count encoded frames, and note when a requested keyframe has gone out. */
static GstPadProbeReturn
on_encoded_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscEncoding *encoding = user_data;
  PscStream *self = encoding->stream;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  GST_LOG_OBJECT (pad, "encoded frame %" GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (buffer)));
  g_mutex_lock (&self->lock);
  self->stats.frames++;
  if (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT)) {
    self->stats.keyframes++;
    encoding->keyframe_pending = FALSE;
    GST_DEBUG_OBJECT (pad, "keyframe out of the encoder: %" G_GSIZE_FORMAT " bytes",
        gst_buffer_get_size (buffer));
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
decide_keyframe (PscEncoding *encoding, PscKeyframeReason reason)
{
  PscStream *self = encoding->stream;
  GstClockTime now = g_get_monotonic_time () * GST_USECOND;

  if ((encoding->keyframe_pending && now - encoding->keyframe_requested_at < KEYFRAME_PENDING_NS)
      || encoding->keyframe_timer != 0) {
    self->stats.keyframe_requests_coalesced++;
    return KEYFRAME_COALESCE;
  }
  if (encoding->keyframe_forced_at != 0 &&
      now - encoding->keyframe_forced_at < KEYFRAME_MIN_GAP_NS) {
    GSource *source = g_timeout_source_new (
        (KEYFRAME_MIN_GAP_NS - (now - encoding->keyframe_forced_at)) / GST_MSECOND + 1);
    g_source_set_callback (source, on_keyframe_timer, encoding, NULL);
    encoding->keyframe_timer = g_source_attach (source, self->context);
    encoding->deferred_reason = reason;
    g_source_unref (source);
    return KEYFRAME_DEFER;
  }
  encoding->keyframe_pending = TRUE;
  encoding->keyframe_requested_at = now;
  encoding->keyframe_forced_at = now;
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
  PscEncoding *encoding = user_data;
  PscStream *self = encoding->stream;
  g_autoptr (GstPad) tee_sink = NULL;

  g_mutex_lock (&self->lock);
  encoding->keyframe_timer = 0;
  if (decide_keyframe (encoding, encoding->deferred_reason) == KEYFRAME_FORWARD)
    tee_sink = gst_object_ref (encoding->tee_sink);
  g_mutex_unlock (&self->lock);
  if (tee_sink != NULL)
    push_keyframe_request (tee_sink);
  return G_SOURCE_REMOVE;
}

void
psc_stream_request_keyframe (PscStream *self, PscCodec codec, PscKeyframeReason reason)
{
  KeyframeDecision decision = KEYFRAME_COALESCE;
  g_autoptr (GstPad) tee_sink = NULL;

  g_return_if_fail (PSC_IS_STREAM (self) && codec < PSC_CODEC_COUNT);

  g_mutex_lock (&self->lock);
  if (self->encodings[codec] != NULL) {
    decision = decide_keyframe (self->encodings[codec], reason);
    if (decision == KEYFRAME_FORWARD)
      tee_sink = gst_object_ref (self->encodings[codec]->tee_sink);
  }
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self->pipeline, "keyframe request (%s, %s): %s",
      psc_codec_to_string (codec), reason == PSC_KEYFRAME_JOIN ? "join" : "PLI",
      decision == KEYFRAME_FORWARD ? "forwarded" :
      decision == KEYFRAME_COALESCE ? "coalesced" : "deferred");
  if (tee_sink != NULL)
    push_keyframe_request (tee_sink);
}

/* Streaming thread of a viewer: a PLI/FIR turned into GstForceKeyUnit by rtpsession on
 * its way to the encoder. Let it pass, or fold it into the pending one. */
static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscEncoding *encoding = user_data;
  PscStream *self = encoding->stream;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  KeyframeDecision decision;

  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  if (gst_structure_has_field (gst_event_get_structure (event), OWN_REQUEST_FIELD))
    return GST_PAD_PROBE_OK;

  g_mutex_lock (&self->lock);
  decision = decide_keyframe (encoding, PSC_KEYFRAME_PLI);
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

/* Builds `queue leaky(2) ! videoconvert ! encoder [! h264parse ! caps]` for @codec, with
 * ghost pads; the tee that fans it out sits beside it in the pipeline (pads can only be
 * linked between siblings).
 * The queue keeps at most two raw frames and drops the oldest, so a slow encoder costs
 * frames, never latency. */
static GstElement *
build_encoding_bin (const PscEncoderChoice *choice, const char *name, GError **error)
{
  g_autoptr (GstElement) bin = gst_object_ref_sink (gst_bin_new (name));
  GstElement *encoder, *queue, *previous = NULL;
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) src = NULL;

  encoder = psc_launch_parse_bin ("--encoder", choice->description, error);
  if (encoder == NULL)
    return NULL;
  queue = make ("queue", NULL);
  g_object_set (queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
      (guint64) 0, "leaky", 2 /* downstream: drop the oldest */, NULL);
  if (!add_chain (GST_BIN (bin), &previous, queue, error) ||
      !add_chain (GST_BIN (bin), &previous, make ("videoconvert", NULL), error) ||
      !add_chain (GST_BIN (bin), &previous, encoder, error))
    return NULL;
  if (choice->codec == PSC_CODEC_H264) {
    GstElement *parse = make ("h264parse", NULL);
    GstElement *parsed = make ("capsfilter", NULL);
    g_autoptr (GstCaps) caps = gst_caps_from_string (
        "video/x-h264,stream-format=byte-stream,alignment=au");
    /* SPS/PPS in band before every IDR, whatever the encoder does by itself. */
    g_object_set (parse, "config-interval", -1, NULL);
    g_object_set (parsed, "caps", caps, NULL);
    if (!add_chain (GST_BIN (bin), &previous, parse, error) ||
        !add_chain (GST_BIN (bin), &previous, parsed, error))
      return NULL;
  }
  sink = gst_element_get_static_pad (queue, "sink");
  src = gst_element_get_static_pad (previous, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", sink));
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", src));
  return g_steal_pointer (&bin);
}

static void
encoding_free (PscEncoding *encoding)
{
  g_clear_handle_id (&encoding->keyframe_timer, g_source_remove);
  g_clear_object (&encoding->tee_sink);
  g_clear_object (&encoding->raw_tee_pad);
  g_clear_object (&encoding->bin);
  g_clear_object (&encoding->tee);
  g_clear_object (&encoding->payloader_pad);
  g_clear_object (&encoding->payloader);
  g_clear_object (&encoding->rtp_tee);
  g_free (encoding);
}

PscStream *
psc_stream_new (const char *id, const PscSourceChoice *source,
    PscEncoderChoice *const encoders[PSC_CODEC_COUNT], PscCodec default_codec,
    const PscConfig *config, GError **error)
{
  g_autoptr (PscStream) self = NULL;
  g_autoptr (GstCaps) raw_caps = NULL;
  GstElement *source_bin, *previous = NULL, *capsfilter, *videorate;
  g_autoptr (GstPad) raw_tee_sink = NULL;
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
    check = build_encoding_bin (encoders[c], "check", error);
    if (check == NULL)
      return NULL;
  }
  source_bin = psc_launch_parse_bin ("--source", source->description, error);
  if (source_bin == NULL)
    return NULL;
  gst_element_set_name (source_bin, "source");

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

  self->raw_tee = gst_object_ref (make ("tee", "raw-tee"));
  g_object_set (self->raw_tee, "allow-not-linked", TRUE, NULL);
  if (!add_chain (bin, &previous, source_bin, error) ||
      !add_chain (bin, &previous, make ("videoconvert", NULL), error) ||
      !add_chain (bin, &previous, make ("videoscale", NULL), error) ||
      !add_chain (bin, &previous, videorate, error) ||
      !add_chain (bin, &previous, capsfilter, error) ||
      !add_chain (bin, &previous, self->raw_tee, error))
    return NULL;

  self->raw_pad = gst_element_get_static_pad (capsfilter, "src");
  raw_tee_sink = gst_element_get_static_pad (self->raw_tee, "sink");
  gst_pad_add_probe (raw_tee_sink, GST_PAD_PROBE_TYPE_BUFFER, on_raw_buffer, self, NULL);
  gst_pad_add_probe (raw_tee_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_raw_event, self,
      NULL);
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
  schedule_release (self);
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
  g_clear_handle_id (&self->release_timer, g_source_remove);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
}

/* ---- On-demand capture ---- */

/* Main context: whether anything needs frames — an encoder (running or being stopped: its
 * IDLE probe needs data flow to settle) or a snapshot. */
static gboolean
capture_needed (PscStream *self)
{
  gboolean needed = self->snapshot_tasks->len > 0;

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

  self->release_timer = 0;
  if (self->released || self->failed || capture_needed (self))
    return G_SOURCE_REMOVE;
  /* NULL, not READY: v4l2src closes the device only then, so another program may open it. */
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  self->released = TRUE;
  GST_INFO_OBJECT (self->pipeline, "capture released: nobody watching");
  return G_SOURCE_REMOVE;
}

/* Main context: once nothing needs frames, releases the capture after the delay. */
static void
schedule_release (PscStream *self)
{
  if (self->release_delay_s == 0 || self->released || self->release_timer != 0 ||
      self->bus_watch == 0 || capture_needed (self))
    return;
  self->release_timer = g_timeout_add_seconds (self->release_delay_s, on_release_timer, self);
}

/* Main context: makes sure frames flow (again). */
static void
resume_capture (PscStream *self)
{
  g_clear_handle_id (&self->release_timer, g_source_remove);
  if (!self->released)
    return;
  self->released = FALSE;
  GST_INFO_OBJECT (self->pipeline, "capture resumed");
  /* Errors (the camera gone meanwhile) come on the bus, as any other time. */
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
}

/* Main thread, lock not held. Starts @codec's encoder: adds its bin and links it to a new
 * pad of the raw tee. Its first frame is a keyframe, so no request is needed. */
static PscEncoding *
start_encoding (PscStream *self, PscCodec codec, GError **error)
{
  g_autofree char *name = g_strdup_printf ("encode-%s-%u", psc_codec_to_string (codec),
      ++self->encodings_started);
  PscEncoding *encoding = g_new0 (PscEncoding, 1);
  g_autoptr (GstPad) sink = NULL;

  encoding->stream = self;
  encoding->codec = codec;
  g_autofree char *tee_name = g_strconcat (name, "-tee", NULL);

  encoding->bin = build_encoding_bin (self->encoders[codec], name, error);
  if (encoding->bin == NULL) {
    g_free (encoding);
    return NULL;
  }
  encoding->tee = gst_object_ref_sink (make ("tee", tee_name));
  g_object_set (encoding->tee, "allow-not-linked", TRUE, NULL);
  encoding->tee_sink = gst_element_get_static_pad (encoding->tee, "sink");
  gst_pad_add_probe (encoding->tee_sink, GST_PAD_PROBE_TYPE_BUFFER, on_encoded_buffer,
      encoding, NULL);
  gst_pad_add_probe (encoding->tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event,
      encoding, NULL);

  /* Our references stay ours; the pipeline takes its own (the elements are not floating). */
  gst_bin_add_many (GST_BIN (self->pipeline), encoding->bin, encoding->tee, NULL);
  if (!gst_element_link (encoding->bin, encoding->tee))
    g_critical ("cannot link the %s encoder to its tee", psc_codec_to_string (codec));
  gst_element_sync_state_with_parent (encoding->tee);
  gst_element_sync_state_with_parent (encoding->bin);

  /* The shared payloader: payloading once serves every viewer that takes periscope's own
   * payload type (all WebSocket viewers); each branch's webrtcbin encrypts and sends. */
  {
    g_autofree char *rtp_tee_name = g_strconcat (name, "-rtp-tee", NULL);
    g_autoptr (GstPad) payloader_sink = NULL;

    encoding->payloader = gst_object_ref_sink (psc_payloader_new (codec,
            PSC_PAYLOADER_DEFAULT_PT, NULL));
    encoding->rtp_tee = gst_object_ref_sink (make ("tee", rtp_tee_name));
    g_object_set (encoding->rtp_tee, "allow-not-linked", TRUE, NULL);
    gst_bin_add_many (GST_BIN (self->pipeline), encoding->payloader, encoding->rtp_tee, NULL);
    if (!gst_element_link (encoding->payloader, encoding->rtp_tee))
      g_critical ("cannot link the %s payloader to its tee", psc_codec_to_string (codec));
    gst_element_sync_state_with_parent (encoding->rtp_tee);
    gst_element_sync_state_with_parent (encoding->payloader);
    encoding->payloader_pad = gst_element_request_pad_simple (encoding->tee, "src_%u");
    gst_pad_add_probe (encoding->payloader_pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
        on_branch_query, NULL, NULL);
    gst_pad_add_probe (encoding->payloader_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
        on_payloader_upstream_event, NULL, NULL);
    payloader_sink = gst_element_get_static_pad (encoding->payloader, "sink");
    if (gst_pad_link (encoding->payloader_pad, payloader_sink) != GST_PAD_LINK_OK)
      g_critical ("cannot link the %s payloader", psc_codec_to_string (codec));
  }

  encoding->raw_tee_pad = gst_element_request_pad_simple (self->raw_tee, "src_%u");
  sink = gst_element_get_static_pad (encoding->bin, "sink");
  if (gst_pad_link (encoding->raw_tee_pad, sink) != GST_PAD_LINK_OK)
    g_critical ("cannot link the %s encoder of stream %s", psc_codec_to_string (codec),
        self->info.id);
  GST_INFO_OBJECT (self->pipeline, "started encoder %s (%s)", self->encoders[codec]->factory,
      name);
  return encoding;
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

/* Upstream events that one branch must not send to what all branches share. RECONFIGURE (a
 * new branch): the encoded caps are fixed, the shared encoder must not renegotiate.
 * rtpsession's "GstRTPCollision" (an RTCP packet from a viewer claimed our SSRC): a
 * payloader that gets it picks a new SSRC, and the shared one must not — every other viewer
 * would get an SSRC its SDP does not announce — while one viewer could force that on
 * purpose, our SSRC being in the offer. */
static gboolean
is_branch_local (GstEvent *event)
{
  return GST_EVENT_TYPE (event) == GST_EVENT_RECONFIGURE ||
      (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM &&
      gst_event_has_name (event, "GstRTPCollision"));
}

/* Streaming thread: what the shared payloader sends up towards the encoder's tee. */
static GstPadProbeReturn
on_payloader_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return is_branch_local (GST_PAD_PROBE_INFO_EVENT (info)) ? GST_PAD_PROBE_DROP :
      GST_PAD_PROBE_OK;
}

/* Streaming thread: what a branch sends up to its tee. Nothing branch-local goes further
 * (is_branch_local). And one viewer asking for keyframes in a loop
 * (a PLI storm, a broken client) gets at most one request per KEYFRAME_BRANCH_GAP_NS through,
 * so it cannot spend everyone's bitrate on keyframes; the stream-wide policy then applies. */
static GstPadProbeReturn
on_branch_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  if (is_branch_local (event))
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

gboolean
psc_stream_attach (PscStream *self, GstElement *branch, PscCodec codec, gboolean payloaded,
    GError **error)
{
  g_autoptr (GstPad) sink = NULL;
  PscEncoding *encoding;
  BranchLink *link;
  GstPad *tee_pad;
  gboolean started = FALSE;

  g_return_val_if_fail (PSC_IS_STREAM (self) && GST_IS_ELEMENT (branch), FALSE);
  g_return_val_if_fail (codec < PSC_CODEC_COUNT, FALSE);

  if (self->encoders[codec] == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "stream %s has no working %s encoder", self->info.id, psc_codec_to_string (codec));
    return FALSE;
  }
  resume_capture (self);
  g_mutex_lock (&self->lock);
  encoding = self->encodings[codec];
  g_mutex_unlock (&self->lock);
  if (encoding == NULL) {
    encoding = start_encoding (self, codec, error);
    if (encoding == NULL) {
      schedule_release (self);
      return FALSE;
    }
    g_mutex_lock (&self->lock);
    self->encodings[codec] = encoding;
    g_mutex_unlock (&self->lock);
    started = TRUE;
  }

  /* Bring the branch up before linking, so the first buffer it sees finds it PLAYING. */
  gst_bin_add (GST_BIN (self->pipeline), branch);
  gst_element_sync_state_with_parent (branch);

  tee_pad = gst_element_request_pad_simple (payloaded ? encoding->rtp_tee : encoding->tee,
      "src_%u");
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_branch_query, NULL, NULL);
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_branch_upstream_event,
      g_new0 (gint64, 1), g_free);
  sink = gst_element_get_static_pad (branch, "sink");
  if (gst_pad_link (tee_pad, sink) != GST_PAD_LINK_OK)
    g_critical ("cannot link %s to the tee of stream %s", GST_ELEMENT_NAME (branch),
        self->info.id);
  /* The caps now, not with the next frame (see psc_stream_attach() in the header). From the
   * main thread, like any application event: the branch's queue serializes it with the
   * buffers the tee pushes meanwhile. */
  gst_pad_push_event (tee_pad, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new_empty (PSC_STREAM_LINKED_EVENT)));

  link = g_new0 (BranchLink, 1);
  link->tee_pad = tee_pad;
  link->tee = gst_object_ref (payloaded ? encoding->rtp_tee : encoding->tee);
  link->encoding = encoding;
  g_mutex_lock (&self->lock);
  encoding->branches++;
  g_hash_table_insert (self->branches, gst_object_ref (branch), link);
  self->stats.viewers = g_hash_table_size (self->branches);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self->pipeline, "attached %s to %s", GST_ELEMENT_NAME (branch),
      GST_PAD_NAME (tee_pad));
  if (started)
    g_signal_emit (self, signals[SIGNAL_ENCODER_STARTED], 0, (guint) codec,
        self->encoders[codec]->factory);
  return TRUE;
}

typedef struct {
  PscStream *stream;
  GstElement *element;          /* a branch, or an encoding's bin */
  GstElement *tee;              /* the tee it hangs off */
  GstPad *tee_pad;
  PscEncoding *encoding;        /* set when the element is this encoding's bin: free it */
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

static GstPadProbeReturn on_tee_pad_idle (GstPad *pad, GstPadProbeInfo *info,
    gpointer user_data);

/* Unlinks @element from @tee_pad when no buffer passes, then finishes on the main context.
 * The caller has put @element in self->detaching, in the same critical section that took it
 * out of service, so no error it posts meanwhile is taken for the stream's. */
static void
unlink_when_idle (PscStream *self, GstElement *element, GstElement *tee, GstPad *tee_pad,
    PscEncoding *encoding)
{
  Detach *detach = g_new0 (Detach, 1);

  detach->stream = g_object_ref (self);
  detach->element = gst_object_ref (element);
  detach->tee = gst_object_ref (tee);
  detach->tee_pad = gst_object_ref (tee_pad);
  detach->encoding = encoding;
  gst_pad_add_probe (tee_pad, GST_PAD_PROBE_TYPE_IDLE, on_tee_pad_idle, detach, NULL);
}

/* Main context: the element is unlinked, nothing flows into it any more. When a branch was
 * its encoding's last, the encoder stops too. */
static gboolean
finish_detach (gpointer user_data)
{
  Detach *detach = user_data;
  PscStream *self = detach->stream;
  PscEncoding *idle = NULL;

  gst_element_release_request_pad (detach->tee, detach->tee_pad);
  gst_element_set_state (detach->element, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (self->pipeline), detach->element);
  GST_INFO_OBJECT (self->pipeline, "removed %s", GST_ELEMENT_NAME (detach->element));
  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->detaching, detach->element);
  g_mutex_unlock (&self->lock);

  if (detach->encoding != NULL) {
    /* An encoder stopped: its tee and payloader go with it (its branches are all gone, and
     * nothing flows into them any more). */
    gst_element_set_state (detach->encoding->tee, GST_STATE_NULL);
    gst_element_set_state (detach->encoding->payloader, GST_STATE_NULL);
    gst_element_set_state (detach->encoding->rtp_tee, GST_STATE_NULL);
    gst_element_release_request_pad (detach->encoding->tee, detach->encoding->payloader_pad);
    gst_bin_remove_many (GST_BIN (self->pipeline), detach->encoding->tee,
        detach->encoding->payloader, detach->encoding->rtp_tee, NULL);
    encoding_free (detach->encoding);
    schedule_release (self);
    return G_SOURCE_REMOVE;
  }
  g_mutex_lock (&self->lock);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    PscEncoding *encoding = self->encodings[c];
    if (encoding != NULL && (encoding->tee == detach->tee || encoding->rtp_tee == detach->tee) &&
        encoding->branches == 0) {
      self->encodings[c] = NULL;
      g_clear_handle_id (&encoding->keyframe_timer, g_source_remove);
      g_hash_table_add (self->detaching, gst_object_ref (encoding->bin));
      idle = encoding;
    }
  }
  g_mutex_unlock (&self->lock);
  if (idle != NULL) {
    GST_INFO_OBJECT (self->pipeline, "stopping the %s encoder: no viewer left",
        psc_codec_to_string (idle->codec));
    unlink_when_idle (self, idle->bin, self->raw_tee, idle->raw_tee_pad, idle);
  }
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
  /* This may run inside gst_pad_add_probe(): the tee pad is released later, there. */
  psc_defer (detach->stream->context, finish_detach, detach, (GDestroyNotify) detach_free);
  return GST_PAD_PROBE_REMOVE;
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
  schedule_release (self);
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

  if (caps == NULL)
    return GST_PAD_PROBE_OK;
  frame = g_new0 (Frame, 1);
  frame->stream = g_object_ref (self);
  frame->sample = gst_sample_new (GST_PAD_PROBE_INFO_BUFFER (info), caps, NULL, NULL);
  psc_defer (self->context, convert_frame, frame, NULL);
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
  resume_capture (self);
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
  return (self->released || state == GST_STATE_PLAYING) && !self->failed;
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

  return !psc_stream_is_playing (self) ? "failed" : self->released ? "idle" : "playing";
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
