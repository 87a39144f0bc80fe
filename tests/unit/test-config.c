/* periscope unit tests: options, presets, ${variables}, gst-launch descriptions
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <unistd.h>
#include <string.h>

#include "psc-config.h"
#include "psc-launch.h"

/* Parses @args (NULL-terminated, without argv[0]) into a fresh config. */
static PscConfig *
parse_args (const char *const *args, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  PscConfig *config = psc_config_new ();
  char **argv_data;
  int argc;

  g_ptr_array_add (argv, (gpointer) "periscope");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  argc = argv->len - 1;
  argv_data = (char **) argv->pdata;
  if (!psc_config_parse (config, &argc, &argv_data, error)) {
    psc_config_free (config);
    return NULL;
  }
  return config;
}

static void
test_defaults (void)
{
  const char *args[] = { NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscConfig) config = parse_args (args, &error);

  g_assert_no_error (error);
  g_assert_cmpint (config->codec, ==, PSC_CODEC_H264);
  g_assert_false (config->codec_explicit);
  g_assert_cmpint (config->width, ==, 1280);
  g_assert_cmpint (config->height, ==, 720);
  g_assert_cmpint (config->framerate, ==, 30);
  g_assert_cmpint (config->keyframe_interval, ==, 60);
  g_assert_cmpint (config->port, ==, 8080);
  g_assert_null (config->bind);
  g_assert_null (config->source);
  g_assert_null (config->encoder);
  g_assert_cmpstr (config->stream_id, ==, "camera");
  g_assert_null (config->allowed_origins);
  g_assert_null (config->allowed_hosts);
  g_assert_cmpint (config->max_viewers_per_address, ==, PSC_CONFIG_MAX_VIEWERS_PER_ADDRESS);
}

static void
test_options (void)
{
  const char *args[] = { "--codec", "VP8", "--width", "640", "--height=360", "-f", "15",
    "--bitrate", "800", "--port", "0", "--bind", "127.0.0.1", "--ice-address", "127.0.0.1",
    "--ice-address", "::1", "--source", "videotestsrc is-live=true", "--stream-id", "door",
    "--connect-timeout", "5", "--allow-origin", "https://cam.example.org",
    "--allow-origin", "*", "--max-viewers-per-address", "0", "--allow-host", "cam.example.org",
    "--allow-host", ".home.arpa", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscConfig) config = parse_args (args, &error);

  g_assert_no_error (error);
  g_assert_cmpint (config->codec, ==, PSC_CODEC_VP8);
  g_assert_true (config->codec_explicit);
  g_assert_cmpint (config->width, ==, 640);
  g_assert_cmpint (config->height, ==, 360);
  g_assert_cmpint (config->framerate, ==, 15);
  g_assert_cmpint (config->keyframe_interval, ==, 30);
  g_assert_cmpint (config->bitrate, ==, 800);
  g_assert_cmpint (config->port, ==, 0);
  g_assert_cmpstr (config->bind, ==, "127.0.0.1");
  g_assert_cmpuint (g_strv_length (config->ice_addresses), ==, 2);
  g_assert_cmpstr (config->source, ==, "videotestsrc is-live=true");
  g_assert_cmpstr (config->stream_id, ==, "door");
  g_assert_cmpint (config->connect_timeout, ==, 5);
  g_assert_cmpuint (g_strv_length (config->allowed_origins), ==, 2);
  g_assert_cmpint (config->max_viewers_per_address, ==, 0);
  g_assert_cmpstr (config->allowed_hosts[0], ==, "cam.example.org");
  g_assert_cmpstr (config->allowed_hosts[1], ==, ".home.arpa");
  g_assert_null (config->allowed_hosts[2]);
}

typedef struct {
  const char *args[6];
  const char *fragment;   /* the message must name what is wrong */
} BadArgs;

static void
test_bad_options (void)
{
  static const BadArgs cases[] = {
    { { "--codec", "h265" }, "--codec" },
    { { "--width", "641" }, "even" },
    { { "--width", "0" }, "--width" },
    { { "--height", "99999" }, "--height" },
    { { "--framerate", "0" }, "--framerate" },
    { { "--bitrate", "1" }, "--bitrate" },
    { { "--port", "70000" }, "--port" },
    { { "--port", "eighty" }, "eighty" },
    { { "--bind", "my-host" }, "--bind" },
    { { "--ice-address", "lan" }, "--ice-address" },
    { { "--stream-id", "a/b" }, "--stream-id" },
    { { "--allow-origin", "cam.example.org" }, "--allow-origin: \"cam.example.org\" is not" },
    { { "--allow-origin", "https://cam.example.org/viewer" }, "--allow-origin" },
    { { "--allow-host", "https://cam.example.org" }, "--allow-host: \"https://cam.example.org\" "
      "is not a host name" },
    { { "--allow-host", "cam.example.org:8080" }, "--allow-host: \"cam.example.org:8080\"" },
    { { "--max-viewers-per-address", "-1" }, "--max-viewers-per-address" },
    { { "--tls", "on" }, "--tls takes self-signed" },
    { { "--tls-cert", "cert.pem" }, "--tls-cert and --tls-key go together" },
    { { "--tls-key", "key.pem" }, "--tls-cert and --tls-key go together" },
    { { "--tls", "self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem" },
      "--tls self-signed and --tls-cert" },
    { { "--http-redirect-port", "8081" }, "it needs --tls" },
    { { "--tls", "self-signed", "--http-redirect-port", "8080" }, "must differ from --port" },
    { { "--tls", "self-signed", "--http-redirect-port", "65536" }, "--http-redirect-port" },
    { { "--source", "videotestsrc", "--device", "/dev/video0" }, "--source" },
    { { "--preset", "no-such-preset" }, "no-such-preset" },
    { { "--no-such-flag" }, "no-such-flag" },
    { { "videotestsrc" }, "videotestsrc" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    const char *args[7] = { NULL };
    g_autoptr (PscConfig) config = NULL;

    memcpy (args, cases[i].args, sizeof cases[i].args);
    config = parse_args (args, &error);
    g_test_message ("%s -> %s", cases[i].args[0], error ? error->message : "(accepted)");
    g_assert_null (config);
    g_assert_nonnull (error);
    g_assert_true (error->domain == PSC_CONFIG_ERROR || error->domain == G_OPTION_ERROR);
    g_assert_nonnull (strstr (error->message, cases[i].fragment));
  }
}

static void
test_presets (void)
{
  g_auto (GStrv) names = psc_config_list_presets ();
  const char *required[] = { "test", "v4l2-raw", "v4l2-mjpeg", "rpi", "intel", "jetson",
    "x264", "vp8", "ip-camera", "uvc-h264", NULL };

  for (guint i = 0; required[i] != NULL; i++)
    g_assert_true (g_strv_contains ((const char *const *) names, required[i]));

  for (guint i = 0; names[i] != NULL; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (PscConfig) config = psc_config_new ();
    g_autofree char *description = psc_config_preset_get (names[i], "description", &error);

    g_assert_no_error (error);
    g_assert_cmpuint (strlen (description), >, 10);
    g_assert_true (psc_config_apply_preset (config, names[i], &error));
    g_assert_no_error (error);
    g_assert_true (config->source != NULL || config->encoder != NULL);
    /* Every ${variable} a preset uses is known (${url} has no default). */
    config->url = g_strdup ("rtsp://127.0.0.1:8554/camera");
    if (config->source != NULL) {
      g_autofree char *expanded = psc_config_expand (config, config->source, &error);
      g_assert_no_error (error);
      g_assert_null (strstr (expanded, "${"));
      /* The H.264 cameras' presets are passed through. */
      if (g_str_equal (names[i], "ip-camera") || g_str_equal (names[i], "uvc-h264")) {
        gboolean h264 = FALSE;
        g_autoptr (GstElement) bin = psc_launch_parse_source (expanded, &h264, &error);
        g_assert_no_error (error);
        gst_object_ref_sink (bin);
        g_assert_true (h264);
      }
    }
    if (config->encoder != NULL) {
      g_autofree char *expanded = psc_config_expand (config, config->encoder, &error);
      g_assert_no_error (error);
      g_assert_null (strstr (expanded, "${"));
      g_assert_true (config->codec_explicit);
    }
  }
}

/* ${url} has no default: without --url, a clear error naming the option. */
static void
test_url_variable (void)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *expanded = NULL;

  expanded = psc_config_expand (config, "rtspsrc location=${url}", &error);
  g_assert_null (expanded);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "--url"));
  g_clear_error (&error);
  config->url = g_strdup ("rtsp://192.0.2.10/stream1");
  expanded = psc_config_expand (config, "rtspsrc location=${url}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (expanded, ==, "rtspsrc location=rtsp://192.0.2.10/stream1");
}

static void
test_preset_flags_win (void)
{
  const char *args[] = { "--preset", "vp8", "--encoder", "vp8enc deadline=1", NULL };
  const char *conflict[] = { "--preset", "x264", "--codec", "vp8", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscConfig) config = parse_args (args, &error);
  g_autoptr (PscConfig) explicit_codec = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (config->encoder, ==, "vp8enc deadline=1");
  g_assert_cmpint (config->codec, ==, PSC_CODEC_VP8);
  g_assert_cmpstr (config->preset, ==, "vp8");

  /* An explicit --codec is kept; the encoder check later reports the conflict. */
  explicit_codec = parse_args (conflict, &error);
  g_assert_no_error (error);
  g_assert_cmpint (explicit_codec->codec, ==, PSC_CODEC_VP8);
}

static void
test_preset_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("periscope-XXXXXX.preset", &path, &error);
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (PscConfig) broken = psc_config_new ();

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, "[preset]\ndescription=mine\n"
          "source=videotestsrc pattern=snow\ncodec=vp8\n", -1, &error));
  g_assert_true (psc_config_apply_preset (config, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (config->source, ==, "videotestsrc pattern=snow");
  g_assert_cmpint (config->codec, ==, PSC_CODEC_VP8);

  g_assert_true (g_file_set_contents (path, "[preset]\ncodec=mpeg2\n", -1, &error));
  g_assert_false (psc_config_apply_preset (broken, path, &error));
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "no group here\n", -1, &error));
  g_assert_false (psc_config_apply_preset (broken, path, &error));
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET);
  g_unlink (path);
}

static void
test_expand (void)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *open = NULL;

  config->bitrate = 1500;
  config->device = g_strdup ("/dev/video7");
  g_assert_true (psc_config_validate (config, &error));
  out = psc_config_expand (config, "a ${bitrate_kbps} ${bitrate_bps} ${keyframe_interval} "
      "${width}x${height}@${framerate} ${device} $HOME", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "a 1500 1500000 60 1280x720@30 /dev/video7 $HOME");

  bad = psc_config_expand (config, "x ${nope}", &error);
  g_assert_null (bad);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  open = psc_config_expand (config, "x ${bitrate", &error);
  g_assert_null (open);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
}

static void
test_launch (void)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin;

  /* Trailing caps, as people write them, become a capsfilter. */
  bin = psc_launch_parse_bin ("--source",
      "videotestsrc ! video/x-raw,width=320,height=240,framerate=15/1", &error);
  g_assert_no_error (error);
  g_assert_nonnull (bin);
  gst_object_ref_sink (bin);
  {
    g_autoptr (GstPad) src = gst_element_get_static_pad (bin, "src");
    g_autoptr (GstCaps) caps = gst_pad_query_caps (src, NULL);
    g_autoptr (GstCaps) wanted = gst_caps_from_string ("video/x-raw,width=320,height=240");
    /* The ghost src pad offers only what the trailing caps allow. */
    g_assert_nonnull (src);
    g_assert_true (gst_caps_is_subset (caps, wanted));
  }
  gst_object_unref (bin);

  bin = psc_launch_parse_bin ("--encoder", "x264enc ! nosuchelement", &error);
  g_assert_null (bin);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "--encoder"));
  g_assert_nonnull (strstr (error->message, "x264enc ! nosuchelement"));
  g_assert_nonnull (strstr (error->message, "nosuchelement"));
  g_clear_error (&error);

  bin = psc_launch_parse_bin ("--source", "videotestsrc pattern=", &error);
  g_assert_null (bin);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
  g_clear_error (&error);

  bin = psc_launch_parse_bin ("--source", "videotestsrc nosuchproperty=1", &error);
  g_assert_null (bin);
  g_assert_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "nosuchproperty"));
}

/* A source is linked as gst-launch links it: a demuxer's pads come later, and the element
 * after it must not be taken by a ghost pad meanwhile; the bin's one pad is the video out. */
static void
test_launch_source (void)
{
  static const char *const sources[] = {
    "filesrc location=/nonexistent.mp4 ! qtdemux ! h264parse ! decodebin",
    "uridecodebin uri=file:///nonexistent.mp4",
    "videotestsrc ! video/x-raw,width=320,height=240",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GstElement) bin = psc_launch_parse_source (sources[i], NULL, &error);
    g_autoptr (GstPad) src = NULL;
    g_autoptr (GstElement) pace = NULL;

    g_test_message ("%s", sources[i]);
    g_assert_no_error (error);
    gst_object_ref_sink (bin);
    g_assert_cmpuint (GST_ELEMENT (bin)->numsinkpads, ==, 0);
    g_assert_cmpuint (GST_ELEMENT (bin)->numsrcpads, ==, 1);
    src = gst_element_get_static_pad (bin, "src");
    g_assert_nonnull (src);
    pace = gst_bin_get_by_name (GST_BIN (bin), PSC_LAUNCH_SOURCE_PACE);
    g_assert_nonnull (pace);
  }
}

/* Which sources are passed through: those whose last element can only put out H.264, as
 * its pads say before anything starts; a last element whose pad comes later cannot say. */
static void
test_launch_source_h264 (void)
{
  static const struct {
    const char *description;
    gboolean h264;
  } sources[] = {
    { "rtspsrc location=rtsp://127.0.0.1:1/x ! rtph264depay", TRUE },
    { "v4l2src device=/dev/null ! video/x-h264,width=1280,height=720", TRUE },
    { "filesrc location=/nonexistent.mp4 ! qtdemux ! h264parse", TRUE },
    { "videotestsrc ! x264enc", TRUE },
    { "rtspsrc location=rtsp://127.0.0.1:1/x ! rtph264depay ! h264parse ! decodebin", FALSE },
    { "filesrc location=/nonexistent.mp4 ! qtdemux", FALSE },
    { "v4l2src device=/dev/null", FALSE },
    { "videotestsrc ! video/x-raw,width=320,height=240", FALSE },
    { "videotestsrc ! x264enc ! avdec_h264", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GstElement) bin = NULL;
    g_autoptr (GstElement) convert = NULL;
    gboolean h264 = !sources[i].h264;

    g_test_message ("%s", sources[i].description);
    bin = psc_launch_parse_source (sources[i].description, &h264, &error);
    g_assert_no_error (error);
    gst_object_ref_sink (bin);
    g_assert_cmpint (h264, ==, sources[i].h264);
    convert = gst_bin_get_by_name (GST_BIN (bin), PSC_LAUNCH_SOURCE_CONVERT);
    g_assert_cmpstr (GST_OBJECT_NAME (gst_element_get_factory (convert)), ==,
        h264 ? "h264parse" : "videoconvert");
  }
}

static void
test_ice_servers (void)
{
  const char *args[] = { "--stun-server", "stun:stun.example.org",
    "--turn-server", "turn://alice:p%40ss@10.0.0.1:3479?transport=tcp",
    "--turn-server", "turns://bob:x@[2001:db8::1]", NULL };
  const char *bad[][3] = {
    { "--stun-server", "http://example.org", NULL },
    { "--stun-server", "stun://u:p@example.org", NULL },
    { "--turn-server", "turn://example.org:3478", NULL },
    { "--turn-server", "stun://example.org", NULL },
    { "--stun-server", "stun://", NULL },
    { "--turn-server", "turn://a:b@h?transport=sctp", NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscConfig) config = parse_args (args, &error);
  g_autoptr (JsonNode) servers = NULL;
  g_autofree char *json = NULL;
  PscIceServer *stun, *turn, *turns;

  g_assert_no_error (error);
  g_assert_cmpuint (config->ice_servers->len, ==, 3);
  stun = g_ptr_array_index (config->ice_servers, 0);
  turn = g_ptr_array_index (config->ice_servers, 1);
  turns = g_ptr_array_index (config->ice_servers, 2);

  g_assert_false (stun->turn);
  g_assert_cmpstr (stun->webrtcbin_uri, ==, "stun://stun.example.org:3478");
  g_assert_cmpstr (stun->browser_url, ==, "stun:stun.example.org:3478");
  g_assert_true (turn->turn);
  g_assert_cmpstr (turn->webrtcbin_uri, ==, "turn://alice:p%40ss@10.0.0.1:3479");
  g_assert_cmpstr (turn->browser_url, ==, "turn:10.0.0.1:3479?transport=tcp");
  g_assert_cmpstr (turn->username, ==, "alice");
  g_assert_cmpstr (turn->credential, ==, "p@ss");
  g_assert_cmpstr (turns->browser_url, ==, "turns:[2001:db8::1]:5349");

  servers = psc_ice_servers_to_json_node (config->ice_servers);
  g_assert_true (json_node_is_immutable (servers));
  json = json_to_string (servers, FALSE);
  g_assert_cmpstr (json, ==, "[{\"urls\":\"stun:stun.example.org:3478\"},"
      "{\"urls\":\"turn:10.0.0.1:3479?transport=tcp\",\"username\":\"alice\","
      "\"credential\":\"p@ss\"},{\"urls\":\"turns:[2001:db8::1]:5349\","
      "\"username\":\"bob\",\"credential\":\"x\"}]");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) bad_error = NULL;
    g_autoptr (PscConfig) refused = parse_args (bad[i], &bad_error);
    g_test_message ("%s %s -> %s", bad[i][0], bad[i][1], bad_error ? bad_error->message : "ok");
    g_assert_null (refused);
    g_assert_error (bad_error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE);
    g_assert_nonnull (strstr (bad_error->message, bad[i][0]));
  }
}

/* An optional argument GOption cannot convert (not UTF-8 here) fails the parse once, with
 * GOption's error (found by fuzz-config: the parse went on, and succeeded, with it set). */
static void
test_hash_password_bad_argument (void)
{
  const char *args[] = { "--hash-password=ali\x93" "ce", NULL };
  const char *next[] = { "--hash-password=ali\x93" "ce", "stray", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscConfig) config = parse_args (args, &error);

  g_assert_null (config);
  g_assert_error (error, G_CONVERT_ERROR, G_CONVERT_ERROR_ILLEGAL_SEQUENCE);
  g_clear_error (&error);
  /* No second error set over the first (a GLib warning, fatal in the tests). */
  config = parse_args (next, &error);
  g_assert_null (config);
  g_assert_error (error, G_CONVERT_ERROR, G_CONVERT_ERROR_ILLEGAL_SEQUENCE);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/options", test_options);
  g_test_add_func ("/config/bad-options", test_bad_options);
  g_test_add_func ("/config/presets", test_presets);
  g_test_add_func ("/config/preset-flags-win", test_preset_flags_win);
  g_test_add_func ("/config/url-variable", test_url_variable);
  g_test_add_func ("/config/preset-file", test_preset_file);
  g_test_add_func ("/config/expand", test_expand);
  g_test_add_func ("/config/launch", test_launch);
  g_test_add_func ("/config/launch-source", test_launch_source);
  g_test_add_func ("/config/launch-source-h264", test_launch_source_h264);
  g_test_add_func ("/config/ice-servers", test_ice_servers);
  g_test_add_func ("/config/hash-password-bad-argument", test_hash_password_bad_argument);
  return g_test_run ();
}
