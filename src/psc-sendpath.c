/* periscope — a viewer's send path inside webrtcbin: one frame, one buffer list, to the socket
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-sendpath.h"

GST_DEBUG_CATEGORY_STATIC (psc_sendpath_debug);
#define GST_CAT_DEFAULT psc_sendpath_debug

/* rtpulpfecenc's "pt" when no FEC payload type is set: it then pushes every packet on
 * untouched (gst_rtp_ulpfec_enc_chain, UNDEF_PT). */
#define ULPFEC_PT_UNSET 255

/* Streaming thread (the viewer's queue): what would pass the FEC encoder untouched goes
 * around it, a list staying a list. */
static GstPadProbeReturn
push_past_fec (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstPad *fec_src = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    GST_PAD_PROBE_INFO_FLOW_RETURN (info) =
        gst_pad_push_list (fec_src, GST_PAD_PROBE_INFO_BUFFER_LIST (info));
  else
    GST_PAD_PROBE_INFO_FLOW_RETURN (info) =
        gst_pad_push (fec_src, GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = NULL;
  return GST_PAD_PROBE_HANDLED;
}

static gboolean
is_factory (GstElement *element, const char *name)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  return factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), name);
}

/* Whether @bin holds just `rtpulpfecenc ! rtpredenc`, both set to pass packets on untouched:
 * ulpfecenc without a FEC payload type, redenc without redundancy and without RED headers
 * (gst_rtp_red_enc_chain: distance 0 and allow-no-red-blocks off) — and no RED caps have
 * left it (redenc announces RED in its caps while allow-no-red-blocks is on). */
static gboolean
is_pass_through_fec (GstElement *bin, GstPad *src)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_elements (GST_BIN (bin));
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (src);
  GValue item = G_VALUE_INIT;
  gboolean ulpfec = FALSE, red = FALSE, other = FALSE;
  GstIteratorResult result;

  while ((result = gst_iterator_next (it, &item)) != GST_ITERATOR_DONE) {
    GstElement *child;

    if (result != GST_ITERATOR_OK) {   /* the bin changed under us: not what we know */
      other = TRUE;
      break;
    }
    child = g_value_get_object (&item);
    if (is_factory (child, "rtpulpfecenc")) {
      guint pt = 0;
      g_object_get (child, "pt", &pt, NULL);
      ulpfec = pt == ULPFEC_PT_UNSET;
    } else if (is_factory (child, "rtpredenc")) {
      guint distance = 1;
      gboolean no_red_blocks = TRUE;
      g_object_get (child, "distance", &distance, "allow-no-red-blocks", &no_red_blocks, NULL);
      red = distance == 0 && !no_red_blocks;
    } else {
      other = TRUE;
    }
    g_value_reset (&item);
  }
  g_value_unset (&item);
  if (caps != NULL && !gst_caps_is_empty (caps) &&
      g_strcmp0 (gst_structure_get_string (gst_caps_get_structure (caps, 0), "encoding-name"),
          "RED") == 0)
    return FALSE;
  return ulpfec && red && !other;
}

/* WORKAROUND(GStreamer 1.22): webrtcbin puts `rtpulpfecenc ! rtpredenc` on every send stream,
 * FEC negotiated or not, and neither implements chain_list: every frame's buffer list is split
 * into packets there, and the rest of the send path runs once per packet (psc-sendpath.h).
 * RTP goes around the pair while both pass packets on untouched.
 * Upstream: not reported.
 * Remove when: periscope requires a GStreamer whose webrtcbin adds no FEC encoder without FEC,
 * or whose rtpulpfecenc and rtpredenc handle buffer lists. */
guint
psc_sendpath_skip_fec (GstElement *webrtc)
{
  static gsize debug_once = 0;
  g_autoptr (GstIterator) it = NULL;
  GValue item = G_VALUE_INIT;
  guint skipped = 0;

  g_return_val_if_fail (GST_IS_BIN (webrtc), 0);
  if (g_once_init_enter (&debug_once)) {
    GST_DEBUG_CATEGORY_INIT (psc_sendpath_debug, "psc-sendpath", 0, "periscope send path");
    g_once_init_leave (&debug_once, 1);
  }

  it = gst_bin_iterate_recurse (GST_BIN (webrtc));
  for (;;) {
    GstIteratorResult result = gst_iterator_next (it, &item);
    g_autoptr (GstObject) parent = NULL;
    g_autoptr (GstPad) sink = NULL;
    g_autoptr (GstPad) src = NULL;
    GstElement *fec_encoder;

    if (result == GST_ITERATOR_RESYNC) {
      gst_iterator_resync (it);
      continue;
    }
    if (result != GST_ITERATOR_OK)
      break;
    fec_encoder = g_value_get_object (&item);
    if (is_factory (fec_encoder, "rtpulpfecenc"))
      parent = gst_object_get_parent (GST_OBJECT (fec_encoder));
    if (parent != NULL && GST_IS_BIN (parent) && parent != GST_OBJECT (webrtc)) {
      sink = gst_element_get_static_pad (GST_ELEMENT (parent), "sink");
      src = gst_element_get_static_pad (GST_ELEMENT (parent), "src");
    }
    g_value_reset (&item);
    if (sink == NULL || src == NULL || g_object_get_data (G_OBJECT (parent), "psc-fec-skipped"))
      continue;
    if (!is_pass_through_fec (GST_ELEMENT (parent), src)) {
      GST_DEBUG_OBJECT (webrtc, "%" GST_PTR_FORMAT " is not a pass-through FEC encoder: "
          "RTP goes through it", parent);
      continue;
    }
    gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
        push_past_fec, g_steal_pointer (&src), gst_object_unref);
    g_object_set_data (G_OBJECT (parent), "psc-fec-skipped", GINT_TO_POINTER (TRUE));
    GST_DEBUG_OBJECT (webrtc, "RTP goes around the pass-through %" GST_PTR_FORMAT, parent);
    skipped++;
  }
  g_value_unset (&item);
  if (skipped == 0)
    GST_DEBUG_OBJECT (webrtc, "no FEC encoder (left) to go around");
  return skipped;
}
