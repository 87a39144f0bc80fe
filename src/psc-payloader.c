/* periscope — RTP payloaders, and the caps webrtcbin turns into the SDP offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-payloader.h"
#include "psc-element.h"

#include <gst/pbutils/pbutils.h>
#include <gst/rtp/rtp.h>
#include <stdlib.h>

char *
psc_payloader_h264_profile_level_id (const char *profile, const char *level)
{
  /* pbutils names profiles from the SPS (gst_codec_utils_h264_get_profile()) but has no way
   * back from a name, and constrained-baseline is announced with constraint_set0..2, not as
   * x264 writes it: hence this table. */
  static const struct {
    const char *name;
    guint idc_iop;
  } profiles[] = {
    { "constrained-baseline", 0x42e0 },
    { "baseline", 0x4200 },
    { "main", 0x4d00 },
    { "high", 0x6400 },
  };
  guint level_idc;

  if (profile == NULL || level == NULL)
    return NULL;
  /* RFC 6184 §8.1: level 1b of the Baseline, Main and Extended profiles is level_idc 11;
   * pbutils gives 9, the code the High profiles use for it. */
  level_idc = g_str_equal (level, "1b") ? 11 : gst_codec_utils_h264_get_level_idc (level);
  if (level_idc == 0)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (profiles); i++) {
    if (g_str_equal (profile, profiles[i].name))
      return g_strdup_printf ("%04x%02x", profiles[i].idc_iop, level_idc);
  }
  return NULL;
}

/* Streaming thread: the payloader's caps become the SDP's a=fmtp line. */
static GstPadProbeReturn
on_h264_caps (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  g_autoptr (GstElement) payloader = NULL;
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstCaps) h264_caps = NULL;
  g_autofree char *plid = NULL;
  GstCaps *caps, *rewritten;
  GstStructure *structure;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;

  payloader = gst_pad_get_parent_element (pad);
  sink = gst_element_get_static_pad (payloader, "sink");
  h264_caps = gst_pad_get_current_caps (sink);
  if (h264_caps != NULL) {
    const GstStructure *s = gst_caps_get_structure (h264_caps, 0);
    plid = psc_payloader_h264_profile_level_id (gst_structure_get_string (s, "profile"),
        gst_structure_get_string (s, "level"));
  }

  gst_event_parse_caps (event, &caps);
  rewritten = gst_caps_copy (caps);
  structure = gst_caps_get_structure (rewritten, 0);
  gst_structure_remove_fields (structure, "sprop-parameter-sets", "sprop-level-parameter-sets",
      NULL);
  gst_structure_set (structure, "packetization-mode", G_TYPE_STRING, "1", NULL);
  if (plid != NULL)
    gst_structure_set (structure, "profile-level-id", G_TYPE_STRING, plid, NULL);

  GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_caps (rewritten);
  gst_caps_unref (rewritten);
  gst_event_unref (event);
  return GST_PAD_PROBE_OK;
}

/* The packets of the access unit in progress, held back until its last one (RTP marker bit,
 * RFC 6184 §5.1, RFC 7741 §4.1) so that the whole unit goes downstream in one buffer list. */
typedef struct {
  GstBufferList *pending;
  guint32 timestamp;            /* the pending packets' RTP timestamp */
  gboolean pushing;             /* our own push of @pending is passing the probe */
  gboolean off;                 /* a unit ended without a marker: hold nothing back (until the
                                 * next stream-start) */
} AccessUnit;

static void
access_unit_free (gpointer data)
{
  AccessUnit *unit = data;

  g_clear_pointer (&unit->pending, gst_buffer_list_unref);
  g_free (unit);
}

/* The RTP timestamp and marker bit of @buffer; FALSE if it is not RTP. */
static gboolean
read_rtp_header (GstBuffer *buffer, guint32 *timestamp, gboolean *marker)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  if (!gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return FALSE;
  if (marker != NULL)
    *marker = gst_rtp_buffer_get_marker (&rtp);
  if (timestamp != NULL)
    *timestamp = gst_rtp_buffer_get_timestamp (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  return TRUE;
}

static GstFlowReturn
push_pending (GstPad *pad, AccessUnit *unit)
{
  GstFlowReturn ret;

  if (unit->pending == NULL)
    return GST_FLOW_OK;
  unit->pushing = TRUE;
  ret = gst_pad_push_list (pad, g_steal_pointer (&unit->pending));
  unit->pushing = FALSE;
  return ret;
}

/* Streaming thread.
 * WORKAROUND(GStreamer 1.22): rtph264pay pushes each NAL unit on its own (a list of FU-A
 * fragments, or a single packet), even with alignment=au in and aggregate-mode=zero-latency,
 * so a frame of two slices took two trips through every viewer's queue, webrtcbin and socket.
 * Instead the packets before the marker are held for the microseconds until the payloader
 * pushes the last one, from the same input buffer (access units in, as the encoders' caps
 * require), and go on with it as one list.
 * Upstream: not reported.
 * Remove when: rtph264pay pushes an access unit as one buffer list (then
 * /integration/h264/frame-in-one-push passes without this probe). */
static GstPadProbeReturn
on_payloader_output (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  AccessUnit *unit = user_data;
  GstBuffer *first, *last;
  guint32 timestamp;
  gboolean marker;
  GstFlowReturn ret;

  if (unit->pushing)
    return GST_PAD_PROBE_OK;
  if (info->type & (GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH)) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP ||
        GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START) {
      /* What is held belongs to data flushed away, or to a run before the capture was
       * released (a push that failed as the pipeline stopped): never send it on. */
      g_clear_pointer (&unit->pending, gst_buffer_list_unref);
      unit->off = FALSE;
    } else if (GST_EVENT_IS_SERIALIZED (event)) {
      push_pending (pad, unit);   /* nothing overtakes an event; a failure shows in the next push */
    }
    return GST_PAD_PROBE_OK;
  }
  if (unit->off)
    return GST_PAD_PROBE_OK;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    guint length = gst_buffer_list_length (list);
    if (length == 0)
      return GST_PAD_PROBE_OK;
    first = gst_buffer_list_get (list, 0);
    last = gst_buffer_list_get (list, length - 1);
  } else {
    first = last = GST_PAD_PROBE_INFO_BUFFER (info);
  }
  if (!read_rtp_header (first, &timestamp, NULL) || !read_rtp_header (last, NULL, &marker))
    return GST_PAD_PROBE_OK;

  if (unit->pending != NULL && timestamp != unit->timestamp) {
    GST_INFO_OBJECT (pad, "an access unit ended without an RTP marker: packets are no "
        "longer gathered per access unit");
    unit->off = TRUE;
    push_pending (pad, unit);   /* a failure shows in this push's own result */
    return GST_PAD_PROBE_OK;
  }
  if (!marker || unit->pending != NULL) {
    if (unit->pending == NULL)
      unit->pending = gst_buffer_list_new ();
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        gst_buffer_list_add (unit->pending, gst_buffer_ref (gst_buffer_list_get (list, i)));
    } else {
      gst_buffer_list_add (unit->pending, gst_buffer_ref (first));
    }
    unit->timestamp = timestamp;
  }
  if (!marker)
    return GST_PAD_PROBE_DROP;
  if (unit->pending == NULL)
    return GST_PAD_PROBE_OK;
  ret = push_pending (pad, unit);
  gst_mini_object_unref (GST_PAD_PROBE_INFO_DATA (info));
  GST_PAD_PROBE_INFO_DATA (info) = NULL;
  GST_PAD_PROBE_INFO_FLOW_RETURN (info) = ret;
  return GST_PAD_PROBE_HANDLED;
}

/* What one viewer's branch makes of the shared payloader's output (psc_payloader_retarget()). */
typedef struct {
  guint8 payload_type;
  char *profile_level_id;       /* nullable */
} Retarget;

static void
retarget_free (gpointer data)
{
  Retarget *retarget = data;

  g_free (retarget->profile_level_id);
  g_free (retarget);
}

/* Whether @buffer is an RTP packet whose payload type is not @payload_type. */
static gboolean
needs_retarget (GstBuffer *buffer, guint8 payload_type)
{
  GstMemory *header;
  GstMapInfo map;
  gboolean differs;

  if (gst_buffer_n_memory (buffer) == 0)
    return FALSE;
  header = gst_buffer_peek_memory (buffer, 0);
  if (!gst_memory_map (header, &map, GST_MAP_READ))
    return FALSE;
  /* RFC 3550 §5.1: version 2, then the marker bit and the payload type in the second byte. */
  differs = map.size >= 2 && (map.data[0] >> 6) == 2 && (map.data[1] & 0x7f) != payload_type;
  gst_memory_unmap (header, &map);
  return differs;
}

/* @buffer (taken) with @payload_type, its marker bit kept: a copy of the whole packet in one
 * memory of its own, never @buffer itself, which the tee's other branches hold too.
 * A copy that shared the payload's memory with the original — gst_buffer_make_writable(),
 * then the header alone copied on mapping it for writing — cost more than copying the 1,200
 * bytes: every copy adds itself to the shared memory's parents and removes itself again, and
 * the viewers' threads, each doing so for the same packet at the same moment, contend for
 * that memory's lock (gst_mini_object_add_parent/remove_parent were 15 % of the viewers'
 * threads at 30 WHEP viewers, perf). */
static GstBuffer *
retarget_packet (GstBuffer *buffer, guint8 payload_type)
{
  GstBuffer *copy;
  GstMapInfo map;

  if (!needs_retarget (buffer, payload_type))
    return buffer;
  copy = gst_buffer_copy_region (buffer, GST_BUFFER_COPY_METADATA | GST_BUFFER_COPY_MEMORY |
      GST_BUFFER_COPY_MERGE | GST_BUFFER_COPY_DEEP, 0, -1);
  if (copy == NULL || !gst_buffer_map (copy, &map, GST_MAP_READWRITE)) {
    g_clear_pointer (&copy, gst_buffer_unref);
    return buffer;      /* not seen: the copy and its mapping only fail on bad buffers */
  }
  map.data[1] = (map.data[1] & 0x80) | payload_type;
  gst_buffer_unmap (copy, &map);
  gst_buffer_unref (buffer);
  return copy;
}

/* The payloader's streaming thread (the RTP tee pushing). */
static GstPadProbeReturn
on_retarget (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Retarget *retarget = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps;
    GstStructure *structure;

    if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
      return GST_PAD_PROBE_OK;
    gst_event_parse_caps (event, &caps);
    caps = gst_caps_copy (caps);
    structure = gst_caps_get_structure (caps, 0);
    gst_structure_set (structure, "payload", G_TYPE_INT, (gint) retarget->payload_type, NULL);
    if (retarget->profile_level_id != NULL)
      gst_structure_set (structure, "profile-level-id", G_TYPE_STRING,
          retarget->profile_level_id, NULL);
    GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_caps (caps);
    gst_caps_unref (caps);
    gst_event_unref (event);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    /* A list of its own, not gst_buffer_list_make_writable(): that copy would add itself to
     * the shared packets' parents, as above. It stays one list, one push, to the viewer's
     * socket (psc-sendpath.h). */
    GstBufferList *shared = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    guint length = gst_buffer_list_length (shared);
    GstBufferList *list = gst_buffer_list_new_sized (length);

    for (guint i = 0; i < length; i++)
      gst_buffer_list_add (list, retarget_packet (gst_buffer_ref (gst_buffer_list_get (shared,
                      i)), retarget->payload_type));
    gst_buffer_list_unref (shared);
    GST_PAD_PROBE_INFO_DATA (info) = list;
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GST_PAD_PROBE_INFO_DATA (info) = retarget_packet (GST_PAD_PROBE_INFO_BUFFER (info),
        retarget->payload_type);
  }
  return GST_PAD_PROBE_OK;
}

void
psc_payloader_retarget (GstPad *pad, guint payload_type, const char *profile_level_id)
{
  Retarget *retarget;
  GstPadProbeType types = GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM;

  g_return_if_fail (GST_IS_PAD (pad) && GST_PAD_IS_SRC (pad));
  g_return_if_fail (payload_type <= 127);

  retarget = g_new0 (Retarget, 1);
  retarget->payload_type = payload_type;
  retarget->profile_level_id = g_strdup (profile_level_id);
  /* At the payloader's own payload type the packets go on untouched, shared with the other
   * branches: only the caps (profile-level-id) are the viewer's. */
  if (payload_type != PSC_PAYLOADER_DEFAULT_PT)
    types |= GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST;
  gst_pad_add_probe (pad, types, on_retarget, retarget, retarget_free);
}

GstElement *
psc_payloader_new (PscCodec codec, GError **error)
{
  g_autoptr (GstPad) output = NULL;
  GstElement *payloader;

  g_return_val_if_fail (codec < PSC_CODEC_COUNT, NULL);

  switch (codec) {
    case PSC_CODEC_H264: {
      g_autoptr (GstPad) src = NULL;
      payloader = psc_element_make ("rtph264pay", NULL, error);
      if (payloader == NULL)
        return NULL;
      g_object_set (payloader, "config-interval", -1, NULL);
      gst_util_set_object_arg (G_OBJECT (payloader), "aggregate-mode", "zero-latency");
      src = gst_element_get_static_pad (payloader, "src");
      gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_h264_caps, NULL, NULL);
      break;
    }
    case PSC_CODEC_VP8:
      payloader = psc_element_make ("rtpvp8pay", NULL, error);
      if (payloader == NULL)
        return NULL;
      gst_util_set_object_arg (G_OBJECT (payloader), "picture-id-mode", "15-bit");
      break;
    default:
      g_return_val_if_reached (NULL);
  }
  g_object_set (payloader, "pt", PSC_PAYLOADER_DEFAULT_PT, "mtu", PSC_PAYLOADER_MTU, NULL);
  output = gst_element_get_static_pad (payloader, "src");
  gst_pad_add_probe (output, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH, on_payloader_output,
      g_new0 (AccessUnit, 1), access_unit_free);
  return payloader;
}
