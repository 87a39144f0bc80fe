/* periscope — encoder discovery, probing and ranking
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-encoder.h"
#include "psc-element.h"
#include "psc-launch.h"

#include <gio/gio.h>

GST_DEBUG_CATEGORY_STATIC (psc_encoder_debug);
#define GST_CAT_DEFAULT psc_encoder_debug

#define PROBE_TIMEOUT_MS 5000

/* Ranked best first: hardware, then software. Each encoder's gst-launch template lives in
 * the preset named here (pipelines/NAME.preset), the one place it is written down. H.264 is
 * constrained-baseline (what Chrome, Firefox and Safari all decode) without B-frames; VP8
 * is realtime, error resilient, with no lag frames. */
static const PscEncoderCandidate h264_candidates[] = {
  { "v4l2h264enc", PSC_CODEC_H264, TRUE, "rpi" },
  { "vah264enc", PSC_CODEC_H264, TRUE, "intel" },
  { "vaapih264enc", PSC_CODEC_H264, TRUE, "vaapi" },
  { "nvv4l2h264enc", PSC_CODEC_H264, TRUE, "jetson" },
  { "nvh264enc", PSC_CODEC_H264, TRUE, "nvenc" },
  { "qsvh264enc", PSC_CODEC_H264, TRUE, "qsv" },
  { "x264enc", PSC_CODEC_H264, FALSE, "x264" },
  { "openh264enc", PSC_CODEC_H264, FALSE, "openh264" },
};

static const PscEncoderCandidate vp8_candidates[] = {
  { "v4l2vp8enc", PSC_CODEC_VP8, TRUE, "v4l2-vp8" },
  { "vaapivp8enc", PSC_CODEC_VP8, TRUE, "vaapi-vp8" },
  { "vp8enc", PSC_CODEC_VP8, FALSE, "vp8" },
};

static void
ensure_debug_category (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (psc_encoder_debug, "psc-encoder", 0, "periscope encoders");
    g_once_init_leave (&once, 1);
  }
}

void
psc_encoder_choice_free (PscEncoderChoice *choice)
{
  if (choice == NULL)
    return;
  g_free (choice->factory);
  g_free (choice->description);
  g_free (choice->reason);
  g_free (choice);
}

char *
psc_encoder_candidate_description (const PscEncoderCandidate *candidate,
    const PscConfig *config, GError **error)
{
  g_autofree char *template = psc_config_preset_get (candidate->preset, "encoder", error);

  if (template == NULL)
    return NULL;
  return psc_config_expand (config, template, error);
}

const PscEncoderCandidate *
psc_encoder_candidates (PscCodec codec, guint *n_candidates)
{
  g_return_val_if_fail (n_candidates != NULL, NULL);

  switch (codec) {
    case PSC_CODEC_H264:
      *n_candidates = G_N_ELEMENTS (h264_candidates);
      return h264_candidates;
    case PSC_CODEC_VP8:
      *n_candidates = G_N_ELEMENTS (vp8_candidates);
      return vp8_candidates;
  }
  *n_candidates = 0;
  return NULL;
}

gboolean
psc_encoder_probe (const PscEncoderCandidate *candidate, const char *description,
    gpointer user_data, GError **error)
{
  g_autoptr (GstElementFactory) factory = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) message = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstSample) sample = NULL;
  g_autofree char *launch = NULL;
  g_autoptr (GError) parse_error = NULL;

  ensure_debug_category ();

  factory = gst_element_factory_find (candidate->factory);
  if (factory == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "element %s is not installed",
        candidate->factory);
    return FALSE;
  }

  launch = g_strdup_printf ("videotestsrc num-buffers=10 "
      "! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! %s "
      "! fakesink name=probe-sink", description);
  pipeline = gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
  if (pipeline == NULL || parse_error != NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot build a test pipeline: %s",
        parse_error ? parse_error->message : "unknown error");
    return FALSE;
  }
  gst_object_ref_sink (pipeline);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    bus = gst_element_get_bus (pipeline);
    message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  } else {
    bus = gst_element_get_bus (pipeline);
    message = gst_bus_timed_pop_filtered (bus, PROBE_TIMEOUT_MS * GST_MSECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  }

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "probe-sink");
  g_object_get (sink, "last-sample", &sample, NULL);
  psc_element_stop (pipeline);

  if (message != NULL && GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) gst_error = NULL;
    gst_message_parse_error (message, &gst_error, NULL);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s fails here: %s",
        candidate->factory, gst_error->message);
    return FALSE;
  }
  if (message == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
        "%s produced nothing within %d ms", candidate->factory, PROBE_TIMEOUT_MS);
    return FALSE;
  }
  if (sample == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s produced no output",
        candidate->factory);
    return FALSE;
  }
  GST_INFO ("%s works", candidate->factory);
  return TRUE;
}

/* The codec of a user-given encoder description: the src pad template of its encoder. */
static gboolean
codec_of_description (const char *description, PscCodec *codec, char **factory_name,
    GError **error)
{
  g_autoptr (GstElement) bin = psc_launch_parse_bin ("--encoder", description, error);
  g_autoptr (GstElement) encoder = NULL;
  GstElementFactory *factory;

  if (bin == NULL)
    return FALSE;
  gst_object_ref_sink (bin);

  encoder = psc_launch_find_element (GST_BIN (bin), "Encoder");
  if (encoder == NULL) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--encoder \"%s\" contains no video encoder element", description);
    return FALSE;
  }
  factory = gst_element_get_factory (encoder);
  *factory_name = g_strdup (GST_OBJECT_NAME (factory));

  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    g_autoptr (GstCaps) wanted = gst_caps_new_empty_simple (psc_codec_media_type (c));
    if (gst_element_factory_can_src_any_caps (factory, wanted)) {
      *codec = (PscCodec) c;
      return TRUE;
    }
  }
  g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
      "--encoder \"%s\": %s produces neither H.264 nor VP8", description, *factory_name);
  return FALSE;
}

PscEncoderChoice *
psc_encoder_select (const PscConfig *config, PscEncoderProbeFunc probe, gpointer user_data,
    GError **error)
{
  g_autoptr (PscEncoderChoice) choice = g_new0 (PscEncoderChoice, 1);
  g_autoptr (GString) tried = g_string_new (NULL);
  const PscEncoderCandidate *candidates;
  guint n_candidates;

  g_return_val_if_fail (config != NULL, NULL);

  ensure_debug_category ();
  if (probe == NULL)
    probe = psc_encoder_probe;

  if (config->encoder != NULL) {
    choice->description = psc_config_expand (config, config->encoder, error);
    if (choice->description == NULL ||
        !codec_of_description (choice->description, &choice->codec, &choice->factory, error))
      return NULL;
    if (config->codec_explicit && choice->codec != config->codec) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "--encoder %s produces %s but the codec asked for is %s", choice->factory,
          psc_codec_to_string (choice->codec), psc_codec_to_string (config->codec));
      return NULL;
    }
    choice->reason = config->encoder_from_preset ?
        g_strdup_printf ("given by preset %s", config->preset) :
        g_strdup ("given by --encoder");
    return g_steal_pointer (&choice);
  }

  candidates = psc_encoder_candidates (config->codec, &n_candidates);
  for (guint i = 0; i < n_candidates; i++) {
    g_autoptr (GError) probe_error = NULL;
    g_autofree char *description = psc_encoder_candidate_description (&candidates[i], config,
        error);

    if (description == NULL)
      return NULL;
    if (!probe (&candidates[i], description, user_data, &probe_error)) {
      GST_INFO ("skipping %s: %s", candidates[i].factory, probe_error->message);
      g_string_append_printf (tried, "\n  %s: %s", candidates[i].factory, probe_error->message);
      continue;
    }
    choice->codec = config->codec;
    choice->factory = g_strdup (candidates[i].factory);
    choice->description = g_steal_pointer (&description);
    choice->hardware = candidates[i].hardware;
    choice->reason = g_strdup_printf ("the best working %s encoder here%s",
        candidates[i].hardware ? "hardware" : "software",
        i == 0 ? "" : "; those ranked before it are missing or failed");
    return g_steal_pointer (&choice);
  }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
      "no working %s encoder found; tried:%s\nInstall gstreamer1.0-plugins-ugly (x264enc) or "
      "gstreamer1.0-plugins-good (vp8enc), or name one with --encoder",
      psc_codec_to_string (config->codec), tried->str);
  return NULL;
}

gboolean
psc_encoder_select_all (const PscConfig *config, PscEncoderProbeFunc probe,
    gpointer user_data, PscEncoderChoice *encoders[PSC_CODEC_COUNT], PscCodec *default_codec,
    GError **error)
{
  PscEncoderChoice *first;

  g_return_val_if_fail (config != NULL && encoders != NULL && default_codec != NULL, FALSE);

  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    encoders[c] = NULL;
  first = psc_encoder_select (config, probe, user_data, error);
  if (first == NULL)
    return FALSE;
  *default_codec = first->codec;
  encoders[first->codec] = first;

  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    PscConfig other = *config;
    g_autoptr (GError) other_error = NULL;

    if (encoders[c] != NULL)
      continue;
    other.codec = (PscCodec) c;
    other.codec_explicit = TRUE;
    other.encoder = NULL;
    encoders[c] = psc_encoder_select (&other, probe, user_data, &other_error);
    if (encoders[c] == NULL)
      GST_INFO ("no %s encoder: %s", psc_codec_to_string (c), other_error->message);
  }
  return TRUE;
}

void
psc_encoder_print_list (const PscConfig *config)
{
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    const PscEncoderCandidate *candidates;
    guint n_candidates;
    gboolean chosen = FALSE;

    candidates = psc_encoder_candidates ((PscCodec) c, &n_candidates);
    g_print ("%s encoders, best first:\n", psc_codec_to_string ((PscCodec) c));
    for (guint i = 0; i < n_candidates; i++) {
      g_autoptr (GError) probe_error = NULL;
      g_autofree char *description = psc_encoder_candidate_description (&candidates[i], config,
          &probe_error);
      gboolean works = description != NULL &&
          psc_encoder_probe (&candidates[i], description, NULL, &probe_error);

      g_print ("  %-14s %-8s %s%s\n", candidates[i].factory,
          candidates[i].hardware ? "hardware" : "software",
          works ? "works" : probe_error->message,
          works && !chosen ? "  <- would be chosen" : "");
      chosen = chosen || works;
    }
  }
}
