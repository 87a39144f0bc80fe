/* periscope — checking a viewer's SDP answer against our offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-sdp.h"

#include <string.h>

G_DEFINE_QUARK (psc-sdp-error-quark, psc_sdp_error)

GstSDPMessage *
psc_sdp_parse (const char *text, gsize length, const char *what, GError **error)
{
  g_autoptr (GstSDPMessage) sdp = NULL;

  g_return_val_if_fail (what != NULL, NULL);

  /* gst_sdp_message_parse_buffer() asserts on an empty buffer. */
  if (text == NULL || length == 0 || gst_sdp_message_new (&sdp) != GST_SDP_OK ||
      gst_sdp_message_parse_buffer ((const guint8 *) text, (guint) MIN (length, G_MAXUINT),
          sdp) != GST_SDP_OK || gst_sdp_message_get_version (sdp) == NULL) {
    g_set_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_INVALID,
        "%s is not SDP (RFC 8866): it must start with \"v=0\"", what);
    return NULL;
  }
  return g_steal_pointer (&sdp);
}

GStrv
psc_sdp_parse_fragment (const char *text, gsize length, const char *ufrag, GError **error)
{
  /* An empty body's bytes may be NULL (g_bytes_get_data()); g_strndup() makes that NULL. */
  g_autofree char *copy = length > 0 ? g_strndup (text, length) : g_strdup ("");
  g_auto (GStrv) lines = g_strsplit_set (copy, "\r\n", -1);
  g_autoptr (GStrvBuilder) candidates = g_strv_builder_new ();
  guint n_lines = 0;

  /* "\r\n" splits into an empty string between the two: count the lines that are not. */
  for (guint i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] == '\0')
      continue;
    if (++n_lines > PSC_SDP_MAX_FRAGMENT_LINES) {
      g_set_error_literal (error, PSC_SDP_ERROR, PSC_SDP_ERROR_TOO_LARGE,
          "the fragment has over " G_STRINGIFY (PSC_SDP_MAX_FRAGMENT_LINES) " lines");
      return NULL;
    }
    if (g_str_has_prefix (lines[i], "a=ice-ufrag:") &&
        g_strcmp0 (lines[i] + strlen ("a=ice-ufrag:"), ufrag) != 0) {
      g_set_error_literal (error, PSC_SDP_ERROR, PSC_SDP_ERROR_ICE_RESTART,
          "ICE restart is not supported: start a new session");
      return NULL;
    }
    if (g_str_has_prefix (lines[i], "a=candidate:"))
      g_strv_builder_add (candidates, lines[i] + 2);
  }
  return g_strv_builder_end (candidates);
}

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
  g_set_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_MISMATCH, "the answer %s", text);
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

/* What GstSDP makes of payload type @format in @media: application/x-unknown caps with
 * encoding-name (upper case), clock-rate (the a=rtpmap's, else the one registered for the
 * name or the static type), and each a=fmtp parameter as a string field with its name in
 * lower case (RFC 2045 §5.1: parameter names are case-insensitive). NULL for a format that is
 * not a payload type, or a dynamic one without a parseable a=rtpmap. */
static GstCaps *
format_caps (const GstSDPMedia *media, const char *format)
{
  guint64 pt;

  if (!g_ascii_string_to_unsigned (format, 10, 0, 127, &pt, NULL))
    return NULL;
  return gst_sdp_media_get_caps_from_media (media, (gint) pt);
}

/* Whether payload type @format is RTX (RFC 4588) in @media's rtpmap lines. */
static gboolean
is_rtx (const GstSDPMedia *media, const char *format)
{
  g_autoptr (GstCaps) caps = format_caps (media, format);

  return caps != NULL && g_strcmp0 (gst_structure_get_string (
          gst_caps_get_structure (caps, 0), "encoding-name"), "RTX") == 0;
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

/* The offer's second m-line, if any, is the chat data channel's (SCTP over DTLS, RFC 8841):
 * the answer's must be one too, with the same mid. Its port may be 0: a browser that turns
 * the channel down still watches. */
static gboolean
check_application (const GstSDPMessage *offer, const GstSDPMessage *answer, GError **error)
{
  const GstSDPMedia *offered, *media;

  if (gst_sdp_message_medias_len (offer) < 2)
    return TRUE;
  offered = gst_sdp_message_get_media (offer, 1);
  media = gst_sdp_message_get_media (answer, 1);
  if (g_strcmp0 (gst_sdp_media_get_media (media), "application") != 0)
    return bad (error, "has a %s m-line where the offer had the data channel (application)",
        gst_sdp_media_get_media (media));
  if (gst_sdp_media_get_port (media) != 0 &&
      g_strcmp0 (gst_sdp_media_get_proto (media), gst_sdp_media_get_proto (offered)) != 0)
    return bad (error, "uses protocol %s for the data channel; the offer said %s",
        gst_sdp_media_get_proto (media), gst_sdp_media_get_proto (offered));
  if (g_strcmp0 (gst_sdp_media_get_attribute_val (media, "mid"),
          gst_sdp_media_get_attribute_val (offered, "mid")) != 0)
    return bad (error, "names its data channel m-line a=mid:%s; the offer's is %s",
        gst_sdp_media_get_attribute_val (media, "mid"),
        gst_sdp_media_get_attribute_val (offered, "mid"));
  return TRUE;
}

gboolean
psc_sdp_check_answer (const GstSDPMessage *offer, const GstSDPMessage *answer, GError **error)
{
  const GstSDPMedia *offered, *media;
  const char *ufrag, *pwd, *setup, *mid, *offered_mid;
  gboolean codec = FALSE;

  g_return_val_if_fail (offer != NULL && answer != NULL, FALSE);

  if (gst_sdp_message_medias_len (answer) != gst_sdp_message_medias_len (offer))
    return bad (error, "has %u m-lines; the offer had %u", gst_sdp_message_medias_len (answer),
        gst_sdp_message_medias_len (offer));
  if (!check_application (offer, answer, error))
    return FALSE;
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

static gboolean
bad_offer (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad_offer (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_INCOMPLETE, "the offer %s", text);
  return FALSE;
}

/* Whether @text starts with an SSRC (RFC 5576 §4.1: 1 to 2^32-1; webrtcbin takes 0 for "none")
 * followed by the end or a space; sets *@end past it. */
static gboolean
ssrc_is_valid (const char *text, const char **end)
{
  guint64 ssrc = 0;
  const char *p = text;

  for (; g_ascii_isdigit (*p) && ssrc <= G_MAXUINT32; p++)
    ssrc = ssrc * 10 + (guint64) (*p - '0');
  if (end != NULL)
    *end = p;
  return p != text && ssrc >= 1 && ssrc <= G_MAXUINT32 && (*p == '\0' || *p == ' ');
}

gboolean
psc_sdp_check_offer (const GstSDPMessage *offer, GError **error)
{
  g_return_val_if_fail (offer != NULL, FALSE);

  for (guint i = 0; i < gst_sdp_message_medias_len (offer); i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (offer, i);
    const char *ufrag = attribute (offer, media, "ice-ufrag");
    const char *pwd = attribute (offer, media, "ice-pwd");

    if (gst_sdp_media_get_port (media) == 0)
      continue;
    if (ufrag == NULL || ufrag[0] == '\0' || pwd == NULL || pwd[0] == '\0')
      return bad_offer (error, "lacks a=ice-ufrag or a=ice-pwd on m-line %u (RFC 8839 §5.4)",
          i);
    if (!fingerprint_is_valid (attribute (offer, media, "fingerprint")))
      return bad_offer (error, "lacks a valid a=fingerprint on m-line %u "
          "(\"sha-256 AB:CD:…\", RFC 8122 §5)", i);
    for (guint a = 0; a < gst_sdp_media_attributes_len (media); a++) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
      const char *p = attr->value ? attr->value : "";

      if (g_strcmp0 (attr->key, "ssrc") == 0 && !ssrc_is_valid (p, NULL))
        return bad_offer (error, "has a=ssrc:%.20s on m-line %u: an SSRC is a number from 1 "
            "to 4294967295 (RFC 5576 §4.1)", p, i);
      if (g_strcmp0 (attr->key, "ssrc-group") == 0) {
        /* "SEMANTICS SSRC SSRC…" */
        const char *ssrcs = strchr (p, ' ');
        while (ssrcs != NULL && *ssrcs == ' ') {
          if (!ssrc_is_valid (ssrcs + 1, &ssrcs))
            return bad_offer (error, "has a=ssrc-group:%.40s on m-line %u: an SSRC is a "
                "number from 1 to 4294967295 (RFC 5576 §4.2)", p, i);
        }
      }
    }
  }
  return TRUE;
}

void
psc_sdp_codec_choice_clear (PscSdpCodecChoice *choice)
{
  g_clear_pointer (&choice->profile_level_id, g_free);
  g_clear_pointer (&choice->mid, g_free);
}

/* The profile-level-id of H.264 payload type @pt, as its a=fmtp line gives it. The caps of
 * gst_sdp_media_get_caps_from_media() do not keep it when the line also says
 * level-asymmetry-allowed=1, as browsers' do: for depayloaders, GstSDP turns it into a
 * `profile` field and drops the level. An answer repeats the offer's, so it is read here. */
static char *
fmtp_profile_level_id (const GstSDPMedia *media, gint pt)
{
  const char *fmtp;

  for (guint i = 0; (fmtp = gst_sdp_media_get_attribute_val_n (media, "fmtp", i)) != NULL;
      i++) {
    g_auto (GStrv) params = NULL;
    char *end = NULL;

    if (g_ascii_strtoll (fmtp, &end, 10) != pt || end == fmtp || *end != ' ')
      continue;
    params = g_strsplit (end + 1, ";", -1);
    for (guint j = 0; params[j] != NULL; j++) {
      char *param = g_strstrip (params[j]);
      if (g_ascii_strncasecmp (param, "profile-level-id=", 17) == 0)
        return g_strdup (g_strstrip (param + 17));
    }
    return NULL;
  }
  return NULL;
}

/* profile_idc and the constraint flags (profile-iop) of profile-level-id @plid (RFC 6184
 * §8.1); NULL, as the RFC says of an absent one, is 42000A: Baseline. */
static gboolean
parse_profile (const char *plid, guint *profile_idc, guint *iop)
{
  guint64 value;
  char *end = NULL;

  if (plid == NULL)
    plid = "42000a";
  value = g_ascii_strtoull (plid, &end, 16);
  if (end == plid || *end != '\0' || strlen (plid) != 6)
    return FALSE;
  *profile_idc = (value >> 16) & 0xff;
  *iop = (value >> 8) & 0xff;
  return TRUE;
}

/* The High profiles, each decoder of which decodes the ones before it (H.264 A.2.4–A.2.7):
 * High, High 10, High 4:2:2, High 4:4:4 Predictive. */
static int
high_rank (guint profile_idc)
{
  static const guint high[] = { 0x64, 0x6e, 0x7a, 0xf4 };

  for (guint i = 0; i < G_N_ELEMENTS (high); i++) {
    if (high[i] == profile_idc)
      return (int) i;
  }
  return -1;
}

gboolean
psc_sdp_h264_profile_decodes (const char *offered, const char *stream)
{
  guint offered_idc, offered_iop, stream_idc = 0x42, stream_iop = 0x40;

  if (!parse_profile (offered, &offered_idc, &offered_iop) ||
      (stream != NULL && !parse_profile (stream, &stream_idc, &stream_iop)))
    return FALSE;
  /* Constrained baseline (0x42 with constraint_set1, 0x40 in profile-iop): the profiles
   * browsers list for it. */
  if (stream_idc == 0x42 && (stream_iop & 0x40) != 0)
    return offered_idc == 0x42 || offered_idc == 0x4d || offered_idc == 0x64;
  if (stream_idc == 0x4d)
    return offered_idc == 0x4d || high_rank (offered_idc) >= 0;
  if (high_rank (stream_idc) >= 0)
    return high_rank (offered_idc) >= high_rank (stream_idc);
  return offered_idc == stream_idc;
}

gboolean
psc_sdp_choose_codec (const GstSDPMessage *offer, const gboolean available[PSC_CODEC_COUNT],
    const char *h264_profile_level_id, PscSdpCodecChoice *choice, GError **error)
{
  const GstSDPMedia *media = NULL;
  g_autoptr (GString) offered = g_string_new (NULL);

  g_return_val_if_fail (offer != NULL && available != NULL && choice != NULL, FALSE);
  memset (choice, 0, sizeof *choice);

  for (guint i = 0; i < gst_sdp_message_medias_len (offer) && media == NULL; i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (offer, i);
    if (g_strcmp0 (gst_sdp_media_get_media (m), "video") == 0 && gst_sdp_media_get_port (m) != 0)
      media = m;
  }
  if (media == NULL) {
    g_set_error_literal (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_VIDEO,
        "the offer has no video m-line");
    return FALSE;
  }
  if (gst_sdp_media_get_attribute_val (media, "sendonly") != NULL ||
      gst_sdp_media_get_attribute_val (media, "inactive") != NULL) {
    g_set_error_literal (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_VIDEO,
        "the offer's video m-line must be recvonly (or sendrecv) to receive the stream");
    return FALSE;
  }

  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++) {
    g_autoptr (GstCaps) caps = format_caps (media, gst_sdp_media_get_format (media, i));
    const GstStructure *s;
    const char *name;
    gint clock_rate = 0, payload_type = 0;
    PscCodec codec;

    if (caps == NULL)
      continue;
    s = gst_caps_get_structure (caps, 0);
    name = gst_structure_get_string (s, "encoding-name");
    if (name == NULL || !gst_structure_get_int (s, "clock-rate", &clock_rate) ||
        clock_rate != 90000)
      continue;
    g_string_append_printf (offered, "%s%s", offered->len ? ", " : "", name);
    if (!psc_codec_from_string (name, &codec) || !available[codec])
      continue;
    gst_structure_get_int (s, "payload", &payload_type);
    if (codec == PSC_CODEC_H264) {
      g_autofree char *plid = fmtp_profile_level_id (media, payload_type);
      if (g_strcmp0 (gst_structure_get_string (s, "packetization-mode"), "1") != 0 ||
          !psc_sdp_h264_profile_decodes (plid, h264_profile_level_id))
        continue;
      choice->profile_level_id = g_steal_pointer (&plid);
    }
    choice->codec = codec;
    choice->payload_type = (guint) payload_type;
    choice->mid = g_strdup (gst_sdp_media_get_attribute_val (media, "mid"));
    return TRUE;
  }
  if (h264_profile_level_id != NULL && available[PSC_CODEC_H264])
    g_set_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_CODEC,
        "the offer lists no codec this stream can send (offered: %s; the stream's H.264 "
        "comes from the source as profile-level-id %s, which none of the offered H.264 "
        "profiles decodes)", offered->len ? offered->str : "none", h264_profile_level_id);
  else
    g_set_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_CODEC,
        "the offer lists no codec this stream can send (offered: %s; periscope sends H.264 "
        "with packetization-mode=1, and VP8)", offered->len ? offered->str : "none");
  return FALSE;
}
