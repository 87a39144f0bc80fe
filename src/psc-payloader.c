/* periscope — RTP payloaders, and the caps webrtcbin turns into the SDP offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-payloader.h"

#include <stdlib.h>

char *
psc_payloader_h264_profile_level_id (const char *profile, const char *level)
{
  static const struct {
    const char *name;
    guint idc_iop;
  } profiles[] = {
    { "constrained-baseline", 0x42e0 },
    { "baseline", 0x4200 },
    { "main", 0x4d00 },
    { "high", 0x6400 },
  };
  guint major = 0, minor = 0, level_idc;
  char *end = NULL;

  if (profile == NULL || level == NULL)
    return NULL;
  if (g_str_equal (level, "1b")) {
    level_idc = 11;     /* RFC 6184 §8.1: level 1b is level_idc 11 (with constraint_set3) */
  } else {
    major = (guint) g_ascii_strtoull (level, &end, 10);
    if (end == level || major == 0 || major > 6)
      return NULL;
    if (*end == '.') {
      const char *digits = end + 1;
      minor = (guint) g_ascii_strtoull (digits, &end, 10);
      if (end == digits || minor > 9)
        return NULL;
    }
    if (*end != '\0')
      return NULL;
    level_idc = major * 10 + minor;
  }
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

  if (user_data != NULL) {
    g_free (plid);
    plid = g_strdup (user_data);
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

GstElement *
psc_payloader_new (PscCodec codec, guint payload_type, const char *profile_level_id)
{
  GstElement *payloader;

  switch (codec) {
    case PSC_CODEC_H264: {
      g_autoptr (GstPad) src = NULL;
      payloader = gst_element_factory_make ("rtph264pay", NULL);
      g_object_set (payloader, "config-interval", -1, NULL);
      gst_util_set_object_arg (G_OBJECT (payloader), "aggregate-mode", "zero-latency");
      src = gst_element_get_static_pad (payloader, "src");
      gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_h264_caps,
          g_strdup (profile_level_id), g_free);
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
