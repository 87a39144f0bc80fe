/* periscope — RTP payloaders, and the caps webrtcbin turns into the SDP offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-payloader.h"

#include <stdlib.h>

char *
psc_payloader_normalize_profile_level_id (const char *profile_level_id)
{
  char *end = NULL;
  guint64 value;

  g_return_val_if_fail (profile_level_id != NULL, NULL);

  value = g_ascii_strtoull (profile_level_id, &end, 16);
  if (end == NULL || *end != '\0' || end - profile_level_id != 6)
    return g_strdup (profile_level_id);

  /* profile_idc 0x42 (Baseline) with constraint_set1_flag (0x40 in profile-iop):
   * Constrained Baseline, RFC 6184 Table 5. */
  if (((value >> 16) & 0xff) == 0x42 && ((value >> 8) & 0x40) != 0)
    return g_strdup_printf ("42e0%02x", (guint) (value & 0xff));
  return g_strdup (profile_level_id);
}

/* Streaming thread: the payloader's caps become the SDP's a=fmtp line. */
static GstPadProbeReturn
on_h264_caps (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstCaps *caps;
  GstStructure *structure;
  const char *plid;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  structure = gst_caps_get_structure (caps, 0);
  plid = gst_structure_get_string (structure, "profile-level-id");
  if (plid != NULL) {
    g_autofree char *normalized = psc_payloader_normalize_profile_level_id (plid);
    if (g_strcmp0 (normalized, plid) != 0) {
      GstCaps *rewritten = gst_caps_copy (caps);
      gst_caps_set_simple (rewritten, "profile-level-id", G_TYPE_STRING, normalized, NULL);
      GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_caps (rewritten);
      gst_caps_unref (rewritten);
      gst_event_unref (event);
    }
  }
  return GST_PAD_PROBE_OK;
}

GstElement *
psc_payloader_new (PscCodec codec, guint payload_type)
{
  GstElement *payloader;

  switch (codec) {
    case PSC_CODEC_H264: {
      g_autoptr (GstPad) src = NULL;
      payloader = gst_element_factory_make ("rtph264pay", NULL);
      g_object_set (payloader, "config-interval", -1, NULL);
      gst_util_set_object_arg (G_OBJECT (payloader), "aggregate-mode", "zero-latency");
      src = gst_element_get_static_pad (payloader, "src");
      gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_h264_caps, NULL, NULL);
      break;
    }
    case PSC_CODEC_VP8:
      payloader = gst_element_factory_make ("rtpvp8pay", NULL);
      gst_util_set_object_arg (G_OBJECT (payloader), "picture-id-mode", "15-bit");
      break;
    default:
      g_return_val_if_reached (NULL);
  }
  g_object_set (payloader, "pt", payload_type, "mtu", PSC_PAYLOADER_MTU, NULL);
  return payloader;
}
