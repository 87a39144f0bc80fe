/* periscope — one codec's encoder in the shared pipeline, its tee and shared payloader
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-encoding.h"
#include "psc-element.h"
#include "psc-keyframe.h"
#include "psc-launch.h"
#include "psc-payloader.h"

#include <gst/video/video.h>

struct _PscEncoding {
  GstBin *pipeline;
  GstElement *raw_tee;
  PscCodec codec;
  GstElement *bin;
  GstElement *tee;
  GstPad *tee_sink;
  GstElement *payloader;
  GstElement *rtp_tee;
  GstPad *payloader_pad;        /* the tee's pad feeding the payloader */
  GstPad *raw_tee_pad;          /* nullable: not started */
  gboolean in_pipeline;         /* bin, tees and payloader are the pipeline's children */
  char *name;
  GPtrArray *targets;           /* (element-type Target): at most PSC_ENCODING_MAX_TARGETS */
  guint targets_made;           /* for unique names */
};

/* The RTP of the shared payloader made one kind of viewer's (psc_encoding_request_pad()):
 * `rtp-tee ! [retarget probe] tee`, shared by every viewer whose SDP says this payload type
 * and profile-level-id. */
typedef struct {
  guint8 payload_type;
  char *profile_level_id;       /* nullable: the payloader's */
  GstElement *tee;
  GstPad *rtp_tee_pad;          /* the RTP tee's pad feeding it */
} Target;

/* Adds `videoconvert ! ENCODER [! h264parse ! caps]` after *@previous in @bin. */
static gboolean
add_encoder (GstBin *bin, GstElement **previous, PscCodec codec, const char *description,
    GError **error)
{
  GstElement *encoder;

  if (!psc_element_add_chain (bin, previous, psc_element_make ("videoconvert", NULL, error),
          error))
    return FALSE;
  encoder = psc_launch_parse_bin ("--encoder", description, error);
  if (!psc_element_add_chain (bin, previous, encoder, error))
    return FALSE;
  if (codec == PSC_CODEC_H264) {
    GstElement *parse = psc_element_make ("h264parse", NULL, error);
    GstElement *parsed;
    g_autoptr (GstCaps) caps = gst_caps_from_string (
        "video/x-h264,stream-format=byte-stream,alignment=au");

    if (!psc_element_add_chain (bin, previous, parse, error))
      return FALSE;
    /* SPS/PPS in band before every IDR, whatever the encoder does by itself. */
    g_object_set (parse, "config-interval", -1, NULL);
    parsed = psc_element_make ("capsfilter", NULL, error);
    if (parsed == NULL)
      return FALSE;
    g_object_set (parsed, "caps", caps, NULL);
    if (!psc_element_add_chain (bin, previous, parsed, error))
      return FALSE;
  }
  return TRUE;
}

GstElement *
psc_encoding_build_bin (PscCodec codec, const char *description, const char *name,
    GError **error)
{
  g_autoptr (GstElement) bin = NULL;
  GstElement *queue, *previous = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  bin = gst_object_ref_sink (gst_bin_new (name));
  queue = psc_element_make ("queue", NULL, error);
  if (!psc_element_add_chain (GST_BIN (bin), &previous, queue, error))
    return NULL;
  /* Passed through (no description), the queue alone: a thread of its own between the
   * source and the viewers, not leaky (a dropped H.264 frame would break every frame up to
   * the next IDR). */
  if (description != NULL) {
    g_object_set (queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
        (guint64) 0, "leaky", 2 /* downstream: drop the oldest */, NULL);
    if (!add_encoder (GST_BIN (bin), &previous, codec, description, error))
      return NULL;
  }
  psc_element_ghost_chain (bin, queue, previous);
  return g_steal_pointer (&bin);
}

/* Streaming thread.
 * WORKAROUND(GStreamer 1.22): tee forwards a serialized query (an encoder's ALLOCATION after
 * renegotiating, a DRAIN) to every src pad and waits for all of them; in a viewer's branch it
 * waits behind what is queued before it, and webrtcbin holds buffers back until its SDP
 * negotiation completes, so one viewer that never answers would stall every viewer (the
 * integration test bad-input caught this). The encoded stream needs nothing from the
 * branches' allocators, so instead each tee src pad answers such queries itself.
 * Upstream: not reported.
 * Remove when: tee no longer waits on one blocked branch to answer a serialized query, or
 * webrtcbin no longer holds buffers back before negotiation. */
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
 * WORKAROUND(GStreamer 1.22): rtpsession sends "GstRTPCollision" upstream when an RTCP
 * packet from a viewer claims our SSRC, and a payloader that gets it picks a new SSRC. The
 * shared payloader must not: every other viewer would get an SSRC its SDP does not announce,
 * and one viewer could force that on purpose, our SSRC being in the offer. So it is dropped
 * here; the colliding viewer's own session is its own affair.
 * Upstream: not reported.
 * Remove when: the payloaders are no longer shared, or rtpsession resolves a collision
 * without changing what other sessions receive. */
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
 * (is_branch_local), and one viewer's keyframe requests are spaced
 * (psc_keyframe_viewer_gap_pass); the encoder's policy then applies. */
static GstPadProbeReturn
on_branch_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  guint64 *last_ns = user_data;

  if (is_branch_local (event))
    return GST_PAD_PROBE_DROP;
  /* Only this pad's streaming thread (the viewer's queue) pushes upstream events here. */
  if (gst_video_event_is_force_key_unit (event) &&
      !psc_keyframe_viewer_gap_pass (last_ns, (guint64) g_get_monotonic_time () * 1000))
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_OK;
}

static GstElement *
make_tee (const char *name, GError **error)
{
  GstElement *tee = psc_element_make ("tee", name, error);

  if (tee == NULL)
    return NULL;
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  return gst_object_ref_sink (tee);
}

static void
target_free (gpointer data)
{
  Target *target = data;

  g_free (target->profile_level_id);
  g_clear_object (&target->tee);
  g_clear_object (&target->rtp_tee_pad);
  g_free (target);
}

/* Streaming thread (the payloader's), ahead of the retarget probe: a target whose viewers
 * have all gone costs no copy. */
static GstPadProbeReturn
on_target_output (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstElement *tee = user_data;
  gboolean watched;

  GST_OBJECT_LOCK (tee);
  watched = tee->numsrcpads > 0;
  GST_OBJECT_UNLOCK (tee);
  return watched ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* A new pad of @tee for a branch (psc_encoding_request_pad()). */
static GstPad *
request_branch_pad (GstElement *tee)
{
  GstPad *pad = gst_element_request_pad_simple (tee, "src_%u");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_branch_query, NULL, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_branch_upstream_event,
      g_new0 (guint64, 1), g_free);
  return pad;
}

/* Main thread: the target of @payload_type and @profile_level_id, made and started if there
 * is none yet and room for it; %NULL when PSC_ENCODING_MAX_TARGETS are there already. */
static Target *
get_target (PscEncoding *encoding, guint payload_type, const char *profile_level_id)
{
  g_autofree char *name = NULL;
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) rtp_tee_sink = NULL;
  Target *target;

  for (guint i = 0; i < encoding->targets->len; i++) {
    target = g_ptr_array_index (encoding->targets, i);
    /* Hex digits: "42E01F" and "42e01f" are one profile (RFC 6184 §8.1, base16). */
    if (target->payload_type == payload_type &&
        (target->profile_level_id == NULL ? profile_level_id == NULL :
            profile_level_id != NULL &&
            g_ascii_strcasecmp (target->profile_level_id, profile_level_id) == 0))
      return target;
  }
  if (encoding->targets->len >= PSC_ENCODING_MAX_TARGETS)
    return NULL;

  name = g_strdup_printf ("%s-rtp-%u", encoding->name, encoding->targets_made++);
  target = g_new0 (Target, 1);
  target->payload_type = payload_type;
  target->profile_level_id = g_strdup (profile_level_id);
  target->tee = make_tee (name, NULL);
  if (target->tee == NULL) {    /* tee is in GStreamer's core: not seen */
    target_free (target);
    return NULL;
  }
  gst_bin_add (encoding->pipeline, target->tee);
  gst_element_sync_state_with_parent (target->tee);
  /* Upstream, what a branch sends goes through the target's own pad first
   * (on_branch_upstream_event: its keyframe requests spaced), then this one. */
  target->rtp_tee_pad = gst_element_request_pad_simple (encoding->rtp_tee, "src_%u");
  gst_pad_add_probe (target->rtp_tee_pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      on_branch_query, NULL, NULL);
  gst_pad_add_probe (target->rtp_tee_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      on_payloader_upstream_event, NULL, NULL);
  gst_pad_add_probe (target->rtp_tee_pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, on_target_output, target->tee, NULL);
  psc_payloader_retarget (target->rtp_tee_pad, payload_type, profile_level_id);
  sink = gst_element_get_static_pad (target->tee, "sink");
  gst_pad_link (target->rtp_tee_pad, sink);
  g_ptr_array_add (encoding->targets, target);

  /* The sticky events (caps) into the new tee now, rewritten, so that its first branch gets
   * them when it is linked, not with the next frame: a serialized event sends a pad's pending
   * sticky events first, and the RTP tee's sink pad stream lock keeps its chain function from
   * pushing on the new pad meanwhile (as psc_stream_attach() does for a branch). */
  rtp_tee_sink = gst_element_get_static_pad (encoding->rtp_tee, "sink");
  GST_PAD_STREAM_LOCK (rtp_tee_sink);
  gst_pad_push_event (target->rtp_tee_pad, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new_empty ("periscope-target-linked")));
  GST_PAD_STREAM_UNLOCK (rtp_tee_sink);
  GST_INFO_OBJECT (encoding->pipeline, "%s: RTP at payload type %u, profile-level-id %s",
      name, payload_type, profile_level_id ? profile_level_id : "(the payloader's)");
  return target;
}

/* Main thread: takes whatever of @encoding is in the pipeline out of it. Each element's
 * state is locked first: the pipeline may be finishing an asynchronous state change (a
 * branch's sink prerolling) on a thread of its own, and would bring an element set to NULL
 * back to PLAYING before it is removed. */
static void
remove_from_pipeline (PscEncoding *encoding)
{
  if (encoding->raw_tee_pad != NULL) {
    gst_element_release_request_pad (encoding->raw_tee, encoding->raw_tee_pad);
    g_clear_object (&encoding->raw_tee_pad);
  }
  if (!encoding->in_pipeline)
    return;
  psc_element_remove (encoding->pipeline, encoding->bin);
  /* Its branches are all gone, and nothing flows into the rest any more. */
  if (encoding->payloader_pad != NULL) {
    gst_element_release_request_pad (encoding->tee, encoding->payloader_pad);
    g_clear_object (&encoding->payloader_pad);
  }
  psc_element_remove (encoding->pipeline, encoding->tee);
  psc_element_remove (encoding->pipeline, encoding->payloader);
  for (guint i = 0; i < encoding->targets->len; i++) {
    Target *target = g_ptr_array_index (encoding->targets, i);

    gst_element_release_request_pad (encoding->rtp_tee, target->rtp_tee_pad);
    psc_element_remove (encoding->pipeline, target->tee);
  }
  g_ptr_array_set_size (encoding->targets, 0);
  psc_element_remove (encoding->pipeline, encoding->rtp_tee);
  encoding->in_pipeline = FALSE;
}

PscEncoding *
psc_encoding_new (GstBin *pipeline, GstElement *raw_tee, PscCodec codec,
    const char *description, const char *name, GError **error)
{
  PscEncoding *encoding;
  g_autofree char *tee_name = NULL;
  g_autofree char *rtp_tee_name = NULL;
  g_autoptr (GstPad) payloader_sink = NULL;
  GstElement *payloader;

  g_return_val_if_fail (GST_IS_BIN (pipeline) && GST_IS_ELEMENT (raw_tee), NULL);
  g_return_val_if_fail (codec < PSC_CODEC_COUNT && name != NULL, NULL);

  encoding = g_new0 (PscEncoding, 1);
  encoding->pipeline = gst_object_ref (pipeline);
  encoding->raw_tee = gst_object_ref (raw_tee);
  encoding->codec = codec;
  encoding->name = g_strdup (name);
  encoding->targets = g_ptr_array_new_with_free_func (target_free);
  tee_name = g_strconcat (name, "-tee", NULL);
  rtp_tee_name = g_strconcat (name, "-rtp-tee", NULL);

  /* Our references stay ours; the pipeline takes its own (the elements are not floating). */
  encoding->bin = psc_encoding_build_bin (codec, description, name, error);
  if (encoding->bin == NULL || (encoding->tee = make_tee (tee_name, error)) == NULL)
    goto failed;
  /* The shared payloader: payloading once serves every viewer, WebSocket or WHEP (a branch
   * rewrites at most the payload type, psc_payloader_retarget()); each branch's webrtcbin
   * encrypts and sends. */
  payloader = psc_payloader_new (codec, error);
  if (payloader == NULL)
    goto failed;
  encoding->payloader = gst_object_ref_sink (payloader);
  encoding->rtp_tee = make_tee (rtp_tee_name, error);
  if (encoding->rtp_tee == NULL)
    goto failed;

  gst_bin_add_many (pipeline, encoding->bin, encoding->tee, encoding->payloader,
      encoding->rtp_tee, NULL);
  encoding->in_pipeline = TRUE;
  if (!psc_element_link (encoding->bin, encoding->tee, error) ||
      !psc_element_link (encoding->payloader, encoding->rtp_tee, error))
    goto failed;
  encoding->tee_sink = gst_element_get_static_pad (encoding->tee, "sink");

  encoding->payloader_pad = gst_element_request_pad_simple (encoding->tee, "src_%u");
  gst_pad_add_probe (encoding->payloader_pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      on_branch_query, NULL, NULL);
  gst_pad_add_probe (encoding->payloader_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      on_payloader_upstream_event, NULL, NULL);
  payloader_sink = gst_element_get_static_pad (encoding->payloader, "sink");
  if (!psc_element_link_pads (encoding->payloader_pad, payloader_sink, error))
    goto failed;
  return encoding;

failed:
  psc_encoding_free (encoding);
  return NULL;
}

gboolean
psc_encoding_start (PscEncoding *encoding, GError **error)
{
  g_autoptr (GstPad) sink = NULL;

  g_return_val_if_fail (encoding != NULL && encoding->in_pipeline, FALSE);
  g_return_val_if_fail (encoding->raw_tee_pad == NULL, FALSE);

  /* Downstream first, so the first frame finds everything PLAYING. */
  gst_element_sync_state_with_parent (encoding->rtp_tee);
  gst_element_sync_state_with_parent (encoding->payloader);
  gst_element_sync_state_with_parent (encoding->tee);
  gst_element_sync_state_with_parent (encoding->bin);

  encoding->raw_tee_pad = gst_element_request_pad_simple (encoding->raw_tee, "src_%u");
  sink = gst_element_get_static_pad (encoding->bin, "sink");
  if (!psc_element_link_pads (encoding->raw_tee_pad, sink, error)) {
    remove_from_pipeline (encoding);
    return FALSE;
  }
  return TRUE;
}

void
psc_encoding_stop (PscEncoding *encoding)
{
  g_return_if_fail (encoding != NULL);

  remove_from_pipeline (encoding);
}

void
psc_encoding_free (PscEncoding *encoding)
{
  if (encoding == NULL)
    return;
  remove_from_pipeline (encoding);
  g_clear_object (&encoding->tee_sink);
  g_clear_object (&encoding->bin);
  g_clear_object (&encoding->tee);
  g_clear_object (&encoding->payloader);
  g_clear_object (&encoding->rtp_tee);
  g_clear_object (&encoding->raw_tee);
  g_clear_object (&encoding->pipeline);
  g_clear_pointer (&encoding->targets, g_ptr_array_unref);
  g_free (encoding->name);
  g_free (encoding);
}

GstPad *
psc_encoding_request_pad (PscEncoding *encoding, gboolean payloaded, guint payload_type,
    const char *profile_level_id)
{
  Target *target = NULL;
  GstPad *pad;

  g_return_val_if_fail (encoding != NULL && encoding->in_pipeline, NULL);
  g_return_val_if_fail (payload_type <= 127, NULL);

  if (!payloaded)
    return request_branch_pad (encoding->tee);
  if (payload_type == PSC_PAYLOADER_DEFAULT_PT && profile_level_id == NULL)
    return request_branch_pad (encoding->rtp_tee);
  target = get_target (encoding, payload_type, profile_level_id);
  if (target != NULL)
    return request_branch_pad (target->tee);
  /* Every target taken: this branch's own, on the payloader's thread. */
  pad = request_branch_pad (encoding->rtp_tee);
  psc_payloader_retarget (pad, payload_type, profile_level_id);
  return pad;
}

gboolean
psc_encoding_has_tee (PscEncoding *encoding, GstElement *tee)
{
  g_return_val_if_fail (encoding != NULL, FALSE);

  if (tee == encoding->tee || tee == encoding->rtp_tee)
    return TRUE;
  for (guint i = 0; i < encoding->targets->len; i++)
    if (((Target *) g_ptr_array_index (encoding->targets, i))->tee == tee)
      return TRUE;
  return FALSE;
}

GstPad *
psc_encoding_get_tee_sink (PscEncoding *encoding)
{
  g_return_val_if_fail (encoding != NULL, NULL);
  return encoding->tee_sink;
}

GstElement *
psc_encoding_get_bin (PscEncoding *encoding)
{
  g_return_val_if_fail (encoding != NULL, NULL);
  return encoding->bin;
}

GstPad *
psc_encoding_get_raw_tee_pad (PscEncoding *encoding)
{
  g_return_val_if_fail (encoding != NULL, NULL);
  return encoding->raw_tee_pad;
}

PscCodec
psc_encoding_get_codec (PscEncoding *encoding)
{
  g_return_val_if_fail (encoding != NULL, PSC_CODEC_H264);
  return encoding->codec;
}
