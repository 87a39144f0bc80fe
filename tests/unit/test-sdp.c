/* periscope unit tests: checking a viewer's answer against our offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <string.h>
#include "psc-sdp.h"

/* What webrtcbin offers (trimmed), and a Chromium-style answer to it. */
static const char *offer_text =
    "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE video0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=rtcp-mux\r\na=sendonly\r\n"
    "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=mid:video0\r\n"
    "a=fingerprint:sha-256 78:2C:71:FB:26:38:7E:CF:86:76:43:F7:9C:D1:D1:7B:C8:82:C0:2B:C4:7F:"
    "47:53:5C:16:04:C8:9F:23:B4:B2\r\n";

static const char *answer_text =
    "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE video0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:wxyz\r\n"
    "a=ice-pwd:0123456789abcdefghijklmn\r\n"
    "a=fingerprint:sha-256 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
    "CD:EF:01:23:45:67:89:AB:CD:EF\r\na=setup:active\r\na=mid:video0\r\na=recvonly\r\n"
    "a=rtcp-mux\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 rtx/90000\r\n";

static GstSDPMessage *
parse (const char *text)
{
  GstSDPMessage *sdp = NULL;
  g_assert_cmpint (gst_sdp_message_new_from_text (text, &sdp), ==, GST_SDP_OK);
  return sdp;
}

/* @answer_text with @from replaced by @to. */
static char *
mutate (const char *from, const char *to)
{
  g_autoptr (GString) s = g_string_new (answer_text);
  g_assert_nonnull (strstr (answer_text, from));
  g_string_replace (s, from, to, 1);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_valid (void)
{
  g_autoptr (GstSDPMessage) offer = parse (offer_text);
  g_autoptr (GstSDPMessage) answer = parse (answer_text);
  g_autoptr (GError) error = NULL;

  g_assert_true (psc_sdp_check_answer (offer, answer, &error));
  g_assert_no_error (error);
}

static void
test_invalid (void)
{
  static const struct {
    const char *from, *to, *fragment;
  } cases[] = {
    { "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=video 0 UDP/TLS/RTP/SAVPF 96 97", "port 0" },
    { "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=audio 9 UDP/TLS/RTP/SAVPF 96 97", "audio" },
    { "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=video 9 RTP/AVP 96 97", "protocol" },
    { "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=video 9 UDP/TLS/RTP/SAVPF 98", "98" },
    { "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=video 9 UDP/TLS/RTP/SAVPF 97", "RTX" },
    { "a=mid:video0", "a=mid:0", "mid" },
    { "a=recvonly", "a=sendrecv", "recvonly" },
    { "a=recvonly", "a=sendonly", "recvonly" },
    { "a=recvonly\r\n", "", "recvonly" },
    { "a=ice-ufrag:wxyz", "a=ice-ufrag:", "ice-ufrag" },
    { "a=ice-pwd:0123456789abcdefghijklmn\r\n", "", "ice-pwd" },
    { "a=fingerprint:sha-256 ", "a=fingerprint:sha-256 zz", "fingerprint" },
    { "a=fingerprint:sha-256 ", "a=fingerprint:", "fingerprint" },
    { "a=setup:active", "a=setup:actpass", "actpass" },
    { "a=setup:active\r\n", "", "a=setup" },
    { "a=rtcp-mux\r\n", "a=rtcp-mux\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "2 m-lines" },
  };
  g_autoptr (GstSDPMessage) offer = parse (offer_text);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *text = mutate (cases[i].from, cases[i].to);
    g_autoptr (GstSDPMessage) answer = parse (text);
    g_autoptr (GError) error = NULL;

    g_assert_false (psc_sdp_check_answer (offer, answer, &error));
    g_test_message ("%s -> %s", cases[i].to, error->message);
    g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_MISMATCH);
    g_assert_nonnull (strstr (error->message, cases[i].fragment));
  }
}

static void
test_session_level_credentials (void)
{
  g_autoptr (GstSDPMessage) offer = parse (offer_text);
  g_autoptr (GString) text = g_string_new (answer_text);
  g_autoptr (GstSDPMessage) answer = NULL;
  const GstSDPMedia *media;

  /* Move the credentials from the m-line to the session (RFC 8839 §5.4 allows both). */
  g_string_replace (text, "a=ice-ufrag:wxyz\r\na=ice-pwd:0123456789abcdefghijklmn\r\n", "", 1);
  g_string_replace (text, "t=0 0\r\n",
      "t=0 0\r\na=ice-ufrag:wxyz\r\na=ice-pwd:0123456789abcdefghijklmn\r\n", 1);
  answer = parse (text->str);
  media = gst_sdp_message_get_media (answer, 0);
  g_assert_null (gst_sdp_media_get_attribute_val (media, "ice-ufrag"));
  g_assert_nonnull (gst_sdp_message_get_attribute_val (answer, "ice-ufrag"));
  g_assert_true (psc_sdp_check_answer (offer, answer, NULL));
}

/* A WHEP offer with the given video formats (rtpmap/fmtp lines already in @lines). */
static GstSDPMessage *
whep_offer (const char *formats, const char *lines, const char *direction)
{
  g_autofree char *text = g_strdup_printf ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF %s\r\na=mid:1\r\n%sa=%s\r\n", formats, lines, direction);
  return parse (text);
}

static void
test_choose_codec (void)
{
  static const gboolean both[PSC_CODEC_COUNT] = { TRUE, TRUE };
  static const gboolean vp8_only[PSC_CODEC_COUNT] = { FALSE, TRUE };
  const char *chrome = "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n"
      "a=rtpmap:102 H264/90000\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n"
      "a=rtpmap:106 H264/90000\r\n"
      "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
      "a=rtpmap:45 AV1/90000\r\n";
  PscSdpCodecChoice choice;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstSDPMessage) h264_first = whep_offer ("102 106 96 97 45", chrome, "recvonly");
  g_autoptr (GstSDPMessage) vp8_first = whep_offer ("96 97 102 106 45", chrome, "sendrecv");
  g_autoptr (GstSDPMessage) av1_only = whep_offer ("45", chrome, "recvonly");
  g_autoptr (GstSDPMessage) sendonly = whep_offer ("96", chrome, "sendonly");

  /* The offer's order wins; H.264 needs packetization-mode=1, so 102 is skipped for 106. */
  g_assert_true (psc_sdp_choose_codec (h264_first, both, NULL, &choice, &error));
  g_assert_cmpint (choice.codec, ==, PSC_CODEC_H264);
  g_assert_cmpuint (choice.payload_type, ==, 106);
  g_assert_cmpstr (choice.profile_level_id, ==, "42e01f");
  g_assert_cmpstr (choice.mid, ==, "1");
  psc_sdp_codec_choice_clear (&choice);

  g_assert_true (psc_sdp_choose_codec (vp8_first, both, NULL, &choice, &error));
  g_assert_cmpint (choice.codec, ==, PSC_CODEC_VP8);
  g_assert_cmpuint (choice.payload_type, ==, 96);
  psc_sdp_codec_choice_clear (&choice);

  /* Only what the stream can produce. */
  g_assert_true (psc_sdp_choose_codec (h264_first, vp8_only, NULL, &choice, &error));
  g_assert_cmpint (choice.codec, ==, PSC_CODEC_VP8);
  psc_sdp_codec_choice_clear (&choice);

  g_assert_false (psc_sdp_choose_codec (av1_only, both, NULL, &choice, &error));
  g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_CODEC);
  g_assert_nonnull (strstr (error->message, "AV1"));
  g_clear_error (&error);

  g_assert_false (psc_sdp_choose_codec (sendonly, both, NULL, &choice, &error));
  g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_VIDEO);
}

/* Where gst_sdp_media_get_caps_from_media() reads an offer: names in any case, a static
 * payload type without an a=rtpmap, the clock rate. */
/* psc_sdp_choose_codec() on @offer, for a stream sending @stream_plid's H.264 (NULL: its
 * own encoder's), both codecs available: @codec (-1: refused, with @refusal in the message),
 * @payload_type and @profile_level_id chosen. */
static void
expect_choice (const GstSDPMessage *offer, const char *stream_plid, int codec,
    guint payload_type, const char *profile_level_id, const char *refusal)
{
  static const gboolean both[PSC_CODEC_COUNT] = { TRUE, TRUE };
  g_autoptr (GError) error = NULL;
  PscSdpCodecChoice choice;
  gboolean chosen = psc_sdp_choose_codec (offer, both, stream_plid, &choice, &error);

  g_test_message ("-> %s", chosen ? psc_codec_to_string (choice.codec) : error->message);
  if (codec < 0) {
    g_assert_false (chosen);
    g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_CODEC);
    g_assert_nonnull (strstr (error->message, refusal));
    return;
  }
  g_assert_true (chosen);
  g_assert_no_error (error);
  g_assert_cmpint (choice.codec, ==, codec);
  g_assert_cmpuint (choice.payload_type, ==, payload_type);
  g_assert_cmpstr (choice.profile_level_id, ==, profile_level_id);
  psc_sdp_codec_choice_clear (&choice);
}

static void
test_choose_codec_edges (void)
{
  static const struct {
    const char *formats, *lines;
    gint codec;                 /* -1: none in common */
    guint payload_type;
    const char *profile_level_id, *offered;
  } cases[] = {
    /* Encoding names and fmtp parameter names in lower or mixed case. */
    { "96", "a=rtpmap:96 vp8/90000\r\n", PSC_CODEC_VP8, 96, NULL, NULL },
    { "100", "a=rtpmap:100 h264/90000\r\n"
          "a=fmtp:100 Packetization-Mode=1;Profile-Level-Id=42E01F\r\n",
      PSC_CODEC_H264, 100, "42E01F", NULL },
    /* A static payload type without an a=rtpmap has no encoding name: skipped, unlisted. */
    { "34 96", "a=rtpmap:96 VP8/90000\r\n", PSC_CODEC_VP8, 96, NULL, NULL },
    { "34", "", -1, 0, NULL, "offered: none" },
    /* A dynamic one without an a=rtpmap is skipped. */
    { "98 96", "a=rtpmap:96 VP8/90000\r\n", PSC_CODEC_VP8, 96, NULL, NULL },
    /* The clock rate must be 90 kHz; without one, the name's registered rate (90000). */
    { "96", "a=rtpmap:96 VP8/900000\r\n", -1, 0, NULL, "offered: none" },
    { "96", "a=rtpmap:96 VP8/48000\r\n", -1, 0, NULL, "offered: none" },
    { "96", "a=rtpmap:96 VP8\r\n", PSC_CODEC_VP8, 96, NULL, NULL },
    /* H.264: packetization-mode=1 required; the profile must fit constrained baseline;
     * no profile-level-id means 42000A (RFC 6184 §8.1). */
    { "100", "a=rtpmap:100 H264/90000\r\na=fmtp:100 profile-level-id=42e01f\r\n",
      -1, 0, NULL, "offered: H264" },
    { "100", "a=rtpmap:100 H264/90000\r\n", -1, 0, NULL, "offered: H264" },
    { "100", "a=rtpmap:100 H264/90000\r\n"
          "a=fmtp:100 packetization-mode=1;profile-level-id=58e01f\r\n",
      -1, 0, NULL, "offered: H264" },
    { "100", "a=rtpmap:100 H264/90000\r\n"
          "a=fmtp:100 packetization-mode=1;profile-level-id=42e01\r\n",
      -1, 0, NULL, "offered: H264" },
    { "100", "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=1\r\n",
      PSC_CODEC_H264, 100, NULL, NULL },
    { "100", "a=rtpmap:100 H264/90000\r\n"
          "a=fmtp:100 packetization-mode=1; profile-level-id=640c1f\r\n",
      PSC_CODEC_H264, 100, "640c1f", NULL },
    /* level-asymmetry-allowed=1: GstSDP's caps then hold a profile, not the
     * profile-level-id, which the answer still repeats as offered. */
    { "100", "a=rtpmap:100 H264/90000\r\n"
          "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;Profile-Level-Id=4D001F\r\n",
      PSC_CODEC_H264, 100, "4D001F", NULL },
    { "100", "a=rtpmap:100 H264/90000\r\n"
          "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f\r\n",
      -1, 0, NULL, "offered: H264" },
    /* An fmtp line of another payload type does not count. */
    { "100", "a=rtpmap:100 H264/90000\r\na=fmtp:101 packetization-mode=1\r\n",
      -1, 0, NULL, "offered: H264" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GstSDPMessage) offer = whep_offer (cases[i].formats, cases[i].lines, "recvonly");

    g_test_message ("%s | %s", cases[i].formats, cases[i].lines);
    expect_choice (offer, NULL, cases[i].codec, cases[i].payload_type,
        cases[i].profile_level_id, cases[i].offered);
  }
}

/* H.264 passed through from a source: the payload type is the first whose profile decodes
 * the stream's (a browser lists Baseline, constrained baseline, Main and High, all at level
 * 3.1); a stream whose profile none decodes gets VP8, or a refusal naming its profile. */
static void
test_choose_codec_passthrough (void)
{
  static const char browser[] =
      "a=rtpmap:102 H264/90000\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
      "a=rtpmap:104 H264/90000\r\n"
      "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
      "a=rtpmap:106 H264/90000\r\n"
      "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
      "a=rtpmap:108 H264/90000\r\n"
      "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f\r\n"
      "a=rtpmap:110 H264/90000\r\n"
      "a=fmtp:110 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f\r\n"
      "a=rtpmap:96 VP8/90000\r\n";
  static const struct {
    const char *formats;
    const char *stream;
    int codec;                  /* -1: refused */
    guint payload_type;
    const char *profile_level_id;
  } cases[] = {
    { "102 104 106 108 96", "42e01f", PSC_CODEC_H264, 102, "42001f" },
    { "104 106 108 96", "42c028", PSC_CODEC_H264, 104, "42e01f" },
    { "102 104 106 108 96", "420028", PSC_CODEC_H264, 102, "42001f" },
    { "104 106 108 96", "420028", PSC_CODEC_H264, 104, "42e01f" },
    { "102 104 106 108 96", "4d0028", PSC_CODEC_H264, 106, "4d001f" },
    { "102 104 108 96", "4d0028", PSC_CODEC_H264, 108, "64001f" },
    { "102 104 106 108 96", "640028", PSC_CODEC_H264, 108, "64001f" },
    { "102 104 106 96", "640028", PSC_CODEC_VP8, 96, NULL },
    /* High 4:4:4 Predictive decoders (Debian's Chromium lists f4001f, no 64…) decode High,
     * Main and High 10; not constrained baseline (the browser lists that on its own). */
    { "102 104 106 110 96", "640028", PSC_CODEC_H264, 110, "f4001f" },
    { "102 104 110 96", "4d0028", PSC_CODEC_H264, 110, "f4001f" },
    { "102 104 106 108 110 96", "6e0028", PSC_CODEC_H264, 110, "f4001f" },
    { "110 96", "42e01f", PSC_CODEC_VP8, 96, NULL },
    { "102 104 106 108 96", "7a0028", PSC_CODEC_VP8, 96, NULL },
    { "102 104 106", "640028", -1, 0, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GstSDPMessage) offer = whep_offer (cases[i].formats, browser, "recvonly");

    g_test_message ("%s, stream %s", cases[i].formats, cases[i].stream);
    expect_choice (offer, cases[i].stream, cases[i].codec, cases[i].payload_type,
        cases[i].profile_level_id, cases[i].stream);
  }
}

static void
test_choose_codec_no_video (void)
{
  static const gboolean both[PSC_CODEC_COUNT] = { TRUE, TRUE };
  static const char *offers[] = {
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=recvonly\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=inactive\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (offers); i++) {
    g_autoptr (GstSDPMessage) offer = parse (offers[i]);
    g_autoptr (GError) error = NULL;
    PscSdpCodecChoice choice;

    g_assert_false (psc_sdp_choose_codec (offer, both, NULL, &choice, &error));
    g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_NO_VIDEO);
    g_assert_null (choice.profile_level_id);
    g_assert_null (choice.mid);
  }
}

/* RTX is told by the offer's a=rtpmap, whatever the case of its name. */
static void
test_answer_rtx_case (void)
{
  g_autoptr (GString) text = g_string_new (offer_text);
  g_autoptr (GstSDPMessage) offer = NULL;
  g_autofree char *only_rtx = mutate ("m=video 9 UDP/TLS/RTP/SAVPF 96 97",
      "m=video 9 UDP/TLS/RTP/SAVPF 97");
  g_autoptr (GstSDPMessage) answer = parse (only_rtx);
  g_autoptr (GError) error = NULL;

  g_string_replace (text, "a=rtpmap:97 rtx/90000", "a=rtpmap:97 RTX/90000", 1);
  offer = parse (text->str);
  g_assert_false (psc_sdp_check_answer (offer, answer, &error));
  g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "RTX"));
  g_clear_error (&error);

  /* Without an a=rtpmap the offer does not say 97 is RTX: accepted, as before. */
  g_string_replace (text, "a=rtpmap:97 RTX/90000\r\n", "", 1);
  g_clear_pointer (&offer, gst_sdp_message_free);
  offer = parse (text->str);
  g_assert_true (psc_sdp_check_answer (offer, answer, &error));
  g_assert_no_error (error);
}

static void
test_parse (void)
{
  static const struct {
    const char *text;
    gssize length;              /* -1: strlen */
  } invalid[] = {
    { "", -1 },
    { NULL, 0 },
    { "v=0\r\n", 0 },
    { "hello, world", -1 },
    { "\x01\x02\xff\xfe", -1 },
    { "o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 RTP/AVP 96\r\n", -1 },
  };
  g_autoptr (GstSDPMessage) sdp = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++) {
    gsize length = invalid[i].length < 0 ? strlen (invalid[i].text) : (gsize) invalid[i].length;
    g_autoptr (GstSDPMessage) refused = psc_sdp_parse (invalid[i].text, length, "the offer",
        &error);

    g_assert_null (refused);
    g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_INVALID);
    g_assert_true (g_str_has_prefix (error->message, "the offer is not SDP"));
    g_clear_error (&error);
  }

  /* Valid, and read only as far as @length: the text need not end with a NUL. */
  sdp = psc_sdp_parse (offer_text, strlen (offer_text) + 0, "the answer", &error);
  g_assert_no_error (error);
  g_assert_nonnull (sdp);
  g_assert_cmpstr (gst_sdp_message_get_version (sdp), ==, "0");
  g_assert_cmpuint (gst_sdp_message_medias_len (sdp), ==, 1);
  g_clear_pointer (&sdp, gst_sdp_message_free);

  sdp = psc_sdp_parse (offer_text, strstr (offer_text, "m=video") - offer_text, "the answer",
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gst_sdp_message_medias_len (sdp), ==, 0);
}

/* A viewer's offer (WHEP) with @from replaced by @to, or as is. */
static GstSDPMessage *
viewer_offer (const char *from, const char *to)
{
  g_autoptr (GString) s = g_string_new (answer_text);

  g_string_replace (s, "a=setup:active", "a=setup:actpass", 1);
  g_string_append (s, "a=ssrc:1234 cname:x\r\na=ssrc:5678 cname:x\r\n"
      "a=ssrc-group:FID 1234 5678\r\n");
  if (from != NULL) {
    g_assert_nonnull (strstr (s->str, from));
    g_string_replace (s, from, to, 1);
  }
  return parse (s->str);
}

static void
test_check_offer (void)
{
  static const struct {
    const char *from, *to, *fragment;
  } cases[] = {
    { "a=ice-ufrag:wxyz\r\n", "", "a=ice-ufrag" },
    { "a=ice-pwd:0123456789abcdefghijklmn\r\n", "", "a=ice-pwd" },
    { "a=ice-ufrag:wxyz", "a=ice-ufrag:", "a=ice-ufrag" },
    { "a=fingerprint:sha-256 01:23", "a=x-fingerprint:sha-256 01:23", "a=fingerprint" },
    { "a=fingerprint:sha-256 01:23", "a=fingerprint:sha-25601:23", "a=fingerprint" },
    { "a=ssrc:1234 cname:x", "a=ssrc:0 cname:x", "a=ssrc:0" },
    { "a=ssrc:1234 cname:x", "a=ssrc:4294967296 cname:x", "a=ssrc:4294967296" },
    { "a=ssrc:1234 cname:x", "a=ssrc:x cname:x", "a=ssrc:x" },
    { "a=ssrc:1234 cname:x", "a=ssrc: cname:x", "1 to 4294967295" },
    { "FID 1234 5678", "FID 1234 0", "a=ssrc-group:FID 1234 0" },
    { "FID 1234 5678", "FID 1234 56x", "a=ssrc-group" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GstSDPMessage) valid = viewer_offer (NULL, NULL);
  g_autoptr (GstSDPMessage) rejected = viewer_offer ("m=video 9", "m=video 0");
  g_autoptr (GstSDPMessage) session_level = NULL;
  g_autoptr (GString) text = g_string_new (answer_text);

  g_assert_true (psc_sdp_check_offer (valid, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GstSDPMessage) offer = viewer_offer (cases[i].from, cases[i].to);

    g_assert_false (psc_sdp_check_offer (offer, &error));
    g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_INCOMPLETE);
    g_test_message ("%s -> %s", cases[i].to, error->message);
    g_assert_true (g_str_has_prefix (error->message, "the offer "));
    g_assert_nonnull (strstr (error->message, cases[i].fragment));
    g_assert_null (strchr (error->message, '\n'));
    g_clear_error (&error);
  }

  /* A rejected m-line needs nothing; credentials may be given once, at session level. */
  g_assert_true (psc_sdp_check_offer (rejected, &error));
  g_string_replace (text, "a=ice-ufrag:wxyz\r\n", "", 1);
  g_string_replace (text, "t=0 0\r\n", "t=0 0\r\na=ice-ufrag:wxyz\r\n", 1);
  session_level = parse (text->str);
  g_assert_true (psc_sdp_check_offer (session_level, &error));
  g_assert_no_error (error);
}

static void
test_fragment (void)
{
  const char *cand = "a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host";
  g_autofree char *body = g_strdup_printf ("a=ice-ufrag:EsAw\r\na=ice-pwd:x\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n%s\r\n%s generation 0\n"
      "a=end-of-candidates\r\n", cand, cand);
  g_autoptr (GString) long_body = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) candidates = psc_sdp_parse_fragment (body, strlen (body), "EsAw", &error);
  g_auto (GStrv) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (candidates), ==, 2);
  g_assert_cmpstr (candidates[0], ==, cand + 2);
  g_assert_true (g_str_has_suffix (candidates[1], "host generation 0"));

  /* An empty body: its bytes may be NULL (found by fuzz-trickle: a critical, then a crash). */
  none = psc_sdp_parse_fragment (NULL, 0, "EsAw", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (none), ==, 0);

  /* A new ufrag is an ICE restart; so is any ufrag when the offer had none. */
  g_assert_null (psc_sdp_parse_fragment (body, strlen (body), "other", &error));
  g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_ICE_RESTART);
  g_clear_error (&error);
  g_assert_null (psc_sdp_parse_fragment (body, strlen (body), NULL, &error));
  g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_ICE_RESTART);
  g_clear_error (&error);

  /* 100 lines and empty ones pass; the 101st does not. */
  for (guint i = 0; i < PSC_SDP_MAX_FRAGMENT_LINES; i++)
    g_string_append_printf (long_body, "%s\r\n\r\n", cand);
  g_strfreev (psc_sdp_parse_fragment (long_body->str, long_body->len, "EsAw", &error));
  g_assert_no_error (error);
  g_string_append (long_body, cand);
  g_assert_null (psc_sdp_parse_fragment (long_body->str, long_body->len, "EsAw", &error));
  g_assert_error (error, PSC_SDP_ERROR, PSC_SDP_ERROR_TOO_LARGE);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdp/parse", test_parse);
  g_test_add_func ("/sdp/answer/valid", test_valid);
  g_test_add_func ("/sdp/answer/invalid", test_invalid);
  g_test_add_func ("/sdp/answer/session-level", test_session_level_credentials);
  g_test_add_func ("/sdp/answer/rtx-case", test_answer_rtx_case);
  g_test_add_func ("/sdp/offer/choose-codec", test_choose_codec);
  g_test_add_func ("/sdp/offer/choose-codec-edges", test_choose_codec_edges);
  g_test_add_func ("/sdp/offer/choose-codec-passthrough", test_choose_codec_passthrough);
  g_test_add_func ("/sdp/offer/no-video", test_choose_codec_no_video);
  g_test_add_func ("/sdp/offer/check", test_check_offer);
  g_test_add_func ("/sdp/fragment", test_fragment);
  return g_test_run ();
}
