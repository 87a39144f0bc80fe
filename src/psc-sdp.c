/* periscope — checking a viewer's SDP answer against our offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-sdp.h"
#include "psc-protocol.h"

#include <string.h>

/* A media-level attribute, else the session-level one. */
static const char *
attribute (const GstSDPMessage *sdp, const GstSDPMedia *media, const char *key)
{
  const char *value = gst_sdp_media_get_attribute_val (media, key);
  return value != NULL ? value : gst_sdp_message_get_attribute_val (sdp, key);
}

static gboolean
bad (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_BAD_SDP, "the answer %s", text);
  return FALSE;
}

static gboolean
has_format (const GstSDPMedia *media, const char *format)
{
  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++) {
    if (g_strcmp0 (gst_sdp_media_get_format (media, i), format) == 0)
      return TRUE;
  }
  return FALSE;
}

/* Whether payload type @format is RTX (RFC 4588) in @media's rtpmap lines. */
static gboolean
is_rtx (const GstSDPMedia *media, const char *format)
{
  g_autofree char *prefix = g_strdup_printf ("%s ", format);

  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
    if (g_strcmp0 (a->key, "rtpmap") == 0 && a->value != NULL &&
        g_str_has_prefix (a->value, prefix))
      return g_ascii_strncasecmp (a->value + strlen (prefix), "rtx/", 4) == 0;
  }
  return FALSE;
}

static gboolean
fingerprint_is_valid (const char *value)
{
  const char *space = value ? strchr (value, ' ') : NULL;
  const char *p;
  guint octets = 0;

  if (space == NULL || space == value)
    return FALSE;
  /* HASH SP 2HEX *(":" 2HEX) */
  for (p = space + 1; g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1]); p += 2) {
    octets++;
    if (p[2] != ':')
      return p[2] == '\0' && octets >= 16;
    p++;
  }
  return FALSE;
}

gboolean
psc_sdp_check_answer (const GstSDPMessage *offer, const GstSDPMessage *answer, GError **error)
{
  const GstSDPMedia *offered, *media;
  const char *ufrag, *pwd, *setup, *mid, *offered_mid;
  gboolean codec = FALSE;

  g_return_val_if_fail (offer != NULL && answer != NULL, FALSE);

  if (gst_sdp_message_medias_len (answer) != 1)
    return bad (error, "has %u m-lines; the offer had 1 (video)",
        gst_sdp_message_medias_len (answer));
  offered = gst_sdp_message_get_media (offer, 0);
  media = gst_sdp_message_get_media (answer, 0);

  if (g_strcmp0 (gst_sdp_media_get_media (media), "video") != 0)
    return bad (error, "has a %s m-line where the offer had video",
        gst_sdp_media_get_media (media));
  if (gst_sdp_media_get_port (media) == 0)
    return bad (error, "rejects the video m-line (port 0): no codec in common?");
  if (g_strcmp0 (gst_sdp_media_get_proto (media), gst_sdp_media_get_proto (offered)) != 0)
    return bad (error, "uses protocol %s; the offer said %s", gst_sdp_media_get_proto (media),
        gst_sdp_media_get_proto (offered));

  mid = gst_sdp_media_get_attribute_val (media, "mid");
  offered_mid = gst_sdp_media_get_attribute_val (offered, "mid");
  if (mid != NULL && offered_mid != NULL && g_strcmp0 (mid, offered_mid) != 0)
    return bad (error, "names its m-line a=mid:%s; the offer's is %s", mid, offered_mid);

  if (gst_sdp_media_formats_len (media) == 0)
    return bad (error, "lists no payload type");
  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++) {
    const char *format = gst_sdp_media_get_format (media, i);
    if (!has_format (offered, format))
      return bad (error, "uses payload type %s, which was not offered", format);
    codec = codec || !is_rtx (offered, format);
  }
  if (!codec)
    return bad (error, "accepts only retransmission (RTX), no video codec");

  if (gst_sdp_media_get_attribute_val (media, "sendonly") != NULL ||
      gst_sdp_media_get_attribute_val (media, "sendrecv") != NULL ||
      (gst_sdp_media_get_attribute_val (media, "recvonly") == NULL &&
          gst_sdp_media_get_attribute_val (media, "inactive") == NULL))
    return bad (error, "must be a=recvonly (or a=inactive): the offer is sendonly");

  ufrag = attribute (answer, media, "ice-ufrag");
  pwd = attribute (answer, media, "ice-pwd");
  if (ufrag == NULL || ufrag[0] == '\0' || pwd == NULL || pwd[0] == '\0')
    return bad (error, "lacks a=ice-ufrag or a=ice-pwd (RFC 8839 §5.4)");
  if (!fingerprint_is_valid (attribute (answer, media, "fingerprint")))
    return bad (error, "lacks a valid a=fingerprint (\"sha-256 AB:CD:…\", RFC 8122 §5)");
  setup = attribute (answer, media, "setup");
  if (g_strcmp0 (setup, "active") != 0 && g_strcmp0 (setup, "passive") != 0)
    return bad (error, "must say a=setup:active or a=setup:passive, not %s (RFC 8842 §3.1)",
        setup ? setup : "nothing");
  return TRUE;
}
