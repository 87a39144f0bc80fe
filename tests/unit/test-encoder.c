/* periscope unit tests: encoder ranking and probing
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <gst/gst.h>
#include <string.h>

#include "psc-encoder.h"

/* A probe that accepts the factories named in @user_data, so ranking is tested apart from
 * what this machine has. */
static gboolean
fake_probe (const PscEncoderCandidate *candidate, const char *description, gpointer user_data,
    GError **error)
{
  if (g_strv_contains (user_data, candidate->factory))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s fails (fake)", candidate->factory);
  return FALSE;
}

static PscEncoderChoice *
select_with (PscCodec codec, const char *const *working, GError **error)
{
  g_autoptr (PscConfig) config = psc_config_new ();

  config->codec = codec;
  g_assert_true (psc_config_validate (config, NULL));
  return psc_encoder_select (config, fake_probe, (gpointer) working, error);
}

static void
test_ranking (void)
{
  const char *all[] = { "x264enc", "openh264enc", "vah264enc", "v4l2h264enc", "vp8enc",
    "vaapivp8enc", NULL };
  const char *software[] = { "openh264enc", "x264enc", "vp8enc", NULL };
  const char *openh264_only[] = { "openh264enc", NULL };
  const char *none[] = { NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscEncoderChoice) best = select_with (PSC_CODEC_H264, all, &error);
  g_autoptr (PscEncoderChoice) sw = NULL;
  g_autoptr (PscEncoderChoice) fallback = NULL;
  g_autoptr (PscEncoderChoice) vp8 = NULL;
  g_autoptr (PscEncoderChoice) nothing = NULL;

  /* Hardware first: V4L2 M2M before VA. */
  g_assert_no_error (error);
  g_assert_cmpstr (best->factory, ==, "v4l2h264enc");
  g_assert_true (best->hardware);
  g_assert_nonnull (strstr (best->description, "video_bitrate=2000000"));

  /* Among software, x264 before openh264 whatever order they are found in. */
  sw = select_with (PSC_CODEC_H264, software, &error);
  g_assert_cmpstr (sw->factory, ==, "x264enc");
  g_assert_false (sw->hardware);
  g_assert_nonnull (strstr (sw->description, "bitrate=2000 "));
  g_assert_nonnull (strstr (sw->description, "key-int-max=60"));

  fallback = select_with (PSC_CODEC_H264, openh264_only, &error);
  g_assert_cmpstr (fallback->factory, ==, "openh264enc");

  vp8 = select_with (PSC_CODEC_VP8, all, &error);
  g_assert_cmpstr (vp8->factory, ==, "vaapivp8enc");
  g_assert_cmpint (vp8->codec, ==, PSC_CODEC_VP8);

  /* Nothing works: the error lists what was tried and why. */
  nothing = select_with (PSC_CODEC_H264, none, &error);
  g_assert_null (nothing);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "x264enc fails (fake)"));
  g_assert_nonnull (strstr (error->message, "v4l2h264enc fails (fake)"));
}

static void
test_candidates_ordered (void)
{
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    guint n;
    const PscEncoderCandidate *candidates = psc_encoder_candidates (c, &n);
    gboolean seen_software = FALSE;

    g_assert_cmpuint (n, >, 0);
    for (guint i = 0; i < n; i++) {
      g_assert_cmpint (candidates[i].codec, ==, c);
      if (!candidates[i].hardware)
        seen_software = TRUE;
      else
        g_assert_false (seen_software);   /* no hardware after software */
    }
    g_assert_true (seen_software);        /* a software fallback always exists */
  }
}

/* The real probe, on this machine: an element that exists and works, one that is missing,
 * and one that exists but cannot produce what is asked of it. */
static void
test_real_probe (void)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  const PscEncoderCandidate x264 = { "x264enc", PSC_CODEC_H264, FALSE, "x264" };
  const PscEncoderCandidate missing = { "nosuchenc", PSC_CODEC_H264, TRUE, "x264" };
  const PscEncoderCandidate broken = { "x264enc", PSC_CODEC_H264, FALSE, "x264" };
  g_autofree char *description = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (psc_config_validate (config, NULL));
  description = psc_encoder_candidate_description (&x264, config, &error);
  g_assert_no_error (error);
  g_assert_true (psc_encoder_probe (&x264, description, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (psc_encoder_probe (&missing, description, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* x264enc exists, but cannot output VP8: the pipeline fails to negotiate. */
  g_assert_false (psc_encoder_probe (&broken, "x264enc ! video/x-vp8", NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
}

static void
test_user_encoder (void)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (PscEncoderChoice) vp8 = NULL;
  g_autoptr (PscEncoderChoice) conflict = NULL;
  g_autoptr (PscEncoderChoice) no_encoder = NULL;

  g_assert_true (psc_config_validate (config, NULL));
  config->encoder = g_strdup ("vp8enc deadline=1 target-bitrate=${bitrate_bps}");
  vp8 = psc_encoder_select (config, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vp8->codec, ==, PSC_CODEC_VP8);
  g_assert_cmpstr (vp8->factory, ==, "vp8enc");
  g_assert_cmpstr (vp8->description, ==, "vp8enc deadline=1 target-bitrate=2000000");

  config->codec = PSC_CODEC_H264;
  config->codec_explicit = TRUE;
  conflict = psc_encoder_select (config, NULL, NULL, &error);
  g_assert_null (conflict);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
  g_clear_error (&error);

  g_free (config->encoder);
  config->encoder = g_strdup ("identity ! queue");
  no_encoder = psc_encoder_select (config, NULL, NULL, &error);
  g_assert_null (no_encoder);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/encoder/ranking", test_ranking);
  g_test_add_func ("/encoder/candidates-ordered", test_candidates_ordered);
  g_test_add_func ("/encoder/real-probe", test_real_probe);
  g_test_add_func ("/encoder/user-encoder", test_user_encoder);
  return g_test_run ();
}
