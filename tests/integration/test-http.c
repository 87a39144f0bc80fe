/* periscope integration tests: HTTP — the REST API, the snapshot, /metrics.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/video/video.h>

#include "psc-test-fixture.h"

/* GET @path: 200 and JSON; %NULL when no response came or it is not JSON (the test failed). */
static JsonNode *
get_json (PscTestFixture *f, const char *path)
{
  g_autofree char *type = NULL;
  g_autofree char *body = NULL;
  guint status;

  body = psc_test_http_get (f, path, &status, &type);
  if (body == NULL)
    return NULL;
  g_test_message ("GET %s -> %u %s", path, status, body);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "application/json");
  return psc_test_parse_json (body);
}

/* GET @path: 404 with @fragment (if any) in the body; FALSE when no response came. */
static gboolean
expect_not_found (PscTestFixture *f, const char *path, const char *fragment)
{
  g_autofree char *body = NULL;
  guint status;

  body = psc_test_http_get (f, path, &status, NULL);
  if (body == NULL)
    return FALSE;
  g_assert_cmpuint (status, ==, 404);
  if (fragment != NULL)
    g_assert_nonnull (strstr (body, fragment));
  return TRUE;
}

static void
test_rest_api (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (JsonNode) streams = NULL, stream = NULL, peers = NULL, health = NULL;
  JsonObject *camera, *viewer;
  JsonArray *viewers;
  const char *peer_id;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 60, 20);
  peer_id = psc_test_client_get_peer_id (client);

  if ((health = get_json (f, "/healthz")) == NULL)
    return;
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (health), "status"), ==,
      "ok");

  if ((streams = get_json (f, "/api/streams")) == NULL)
    return;
  g_assert_cmpuint (json_array_get_length (json_node_get_array (streams)), ==, 1);
  camera = json_array_get_object_element (json_node_get_array (streams), 0);
  g_assert_cmpstr (json_object_get_string_member (camera, "id"), ==, "camera");
  g_assert_cmpstr (json_object_get_string_member (camera, "state"), ==, "live");
  g_assert_cmpstr (json_object_get_string_member (camera, "codec"), ==, "h264");
  g_assert_cmpstr (json_object_get_string_member (camera, "encoder"), ==,
      psc_stream_get_encoder_name (f->stream));
  g_assert_cmpint (json_object_get_int_member (camera, "width"), ==, 320);
  g_assert_cmpint (json_object_get_int_member (camera, "height"), ==, 240);
  g_assert_cmpint (json_object_get_int_member (camera, "bitrate_kbps"), ==, 500);
  g_assert_cmpint (json_object_get_int_member (camera, "frames_encoded"), >=, 60);
  viewers = json_object_get_array_member (camera, "viewers");
  g_assert_cmpuint (json_array_get_length (viewers), ==, 1);
  viewer = json_array_get_object_element (viewers, 0);
  g_assert_cmpstr (json_object_get_string_member (viewer, "peer_id"), ==, peer_id);
  g_assert_cmpstr (json_object_get_string_member (viewer, "via"), ==, "websocket");
  g_assert_cmpstr (json_object_get_string_member (viewer, "state"), ==, "connected");
  g_assert_cmpint (json_object_get_int_member (viewer, "bytes_sent"), >, 1000);
  g_assert_cmpint (json_object_get_int_member (viewer, "packets_sent"), >, 60);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (viewer, "since"), "20"));

  if ((stream = get_json (f, "/api/streams/camera")) == NULL)
    return;
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (stream), "id"), ==,
      "camera");

  if ((peers = get_json (f, "/api/streams/camera/peers")) == NULL)
    return;
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
              json_object_get_array_member (json_node_get_object (peers), "peers"), 0),
          "peer_id"), ==, peer_id);

  if (!expect_not_found (f, "/api/streams/nope", "nope"))
    return;
  expect_not_found (f, "/api/nothing", NULL);
}

/* One snapshot request: a JPEG or an error, once done. */
typedef struct {
  gboolean done;
  GBytes *jpeg;
  GError *error;
} Snapshot;

static void
on_snapshot_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Snapshot *shot = user_data;

  shot->jpeg = psc_stream_snapshot_finish (PSC_STREAM (source), result, &shot->error);
  shot->done = TRUE;
}

static gboolean
both_done (gpointer data)
{
  Snapshot *shots = data;
  return shots[0].done && shots[1].done;
}

/* The snapshot is a JPEG of the configured size, served while a viewer watches, and two
 * requests at once share one frame. */
static void
test_snapshot (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *type = NULL;
  g_autofree char *body = NULL;
  g_autoptr (GstElement) decoder = NULL;
  g_autoptr (GstElement) appsrc = NULL;
  g_autoptr (GstElement) appsink = NULL;
  g_autoptr (GstBuffer) buffer = NULL;
  g_autoptr (GstSample) decoded = NULL;
  GstFlowReturn flow;
  GstVideoInfo info;
  Snapshot shots[2] = { { .done = FALSE }, { .done = FALSE } };
  guint status;
  gsize size;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  body = psc_test_http_get (f, "/api/streams/camera/snapshot.jpg", &status, &type);
  if (body == NULL)
    return;
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "image/jpeg");

  /* The stream completes every request within 3 s, with a JPEG or an error, well inside
   * this wait: no callback is left pointing at @shots once it is over. */
  psc_stream_snapshot_async (f->stream, on_snapshot_done, &shots[0]);
  psc_stream_snapshot_async (f->stream, on_snapshot_done, &shots[1]);
  PSC_TEST_WAIT_UNTIL (both_done, shots, 10, "two snapshots");
  g_assert_no_error (shots[0].error);
  g_assert_no_error (shots[1].error);
  g_assert_true (g_bytes_equal (shots[0].jpeg, shots[1].jpeg));

  /* Decode it with GStreamer: a real JPEG, of the configured size. */
  size = g_bytes_get_size (shots[0].jpeg);
  g_assert_cmpuint (size, >, 1000);
  decoder = gst_parse_launch ("appsrc name=src caps=image/jpeg ! jpegparse ! jpegdec "
      "! appsink name=sink sync=false", &error);
  g_assert_no_error (error);
  appsrc = gst_bin_get_by_name (GST_BIN (decoder), "src");
  appsink = gst_bin_get_by_name (GST_BIN (decoder), "sink");
  gst_element_set_state (decoder, GST_STATE_PLAYING);
  buffer = gst_buffer_new_memdup (g_bytes_get_data (shots[0].jpeg, NULL), size);
  g_signal_emit_by_name (appsrc, "push-buffer", buffer, &flow);
  g_signal_emit_by_name (appsrc, "end-of-stream", &flow);
  g_signal_emit_by_name (appsink, "try-pull-sample", 5 * GST_SECOND, &decoded);
  g_assert_nonnull (decoded);
  g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (decoded)));
  g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&info), ==, 320);
  g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&info), ==, 240);
  gst_element_set_state (decoder, GST_STATE_NULL);
  g_bytes_unref (shots[0].jpeg);
  g_bytes_unref (shots[1].jpeg);

  /* The viewer never noticed. */
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
}

/* The value of sample @name{@label_name=@label_value} in the checker's JSON lines, or -1. */
static double
metric_value (const char *samples, const char *name, const char *label_name,
    const char *label_value)
{
  g_auto (GStrv) lines = g_strsplit (samples, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr (JsonNode) node = NULL;
    JsonObject *sample, *labels;

    if (lines[i][0] == '\0')
      continue;
    if ((node = psc_test_parse_json (lines[i])) == NULL)
      return -1;
    sample = json_node_get_object (node);
    labels = json_object_get_object_member (sample, "labels");
    if (g_str_equal (json_object_get_string_member (sample, "name"), name) &&
        (label_name == NULL || g_strcmp0 (json_object_get_string_member_with_default (labels,
                    label_name, NULL), label_value) == 0))
      return json_object_get_double_member (sample, "value");
  }
  return -1;
}

/* GET /metrics and parse it with the Prometheus client's own parser: the samples as JSON
 * lines, or %NULL (the test failed) when no response came or it does not parse. */
static char *
scrape (PscTestFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) checker = NULL;
  g_autofree char *type = NULL;
  g_autofree char *text = NULL;
  char *samples = NULL;
  g_autofree char *complaints = NULL;
  guint status;

  text = psc_test_http_get (f, "/metrics", &status, &type);
  if (text == NULL)
    return NULL;
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "text/plain");
  checker = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, g_getenv ("PSC_METRICS_CHECKER"), NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (checker, text, NULL, &samples, &complaints, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (checker)) {
    g_test_fail_printf ("/metrics does not parse: %s\n%s", complaints, text);
    g_free (samples);
    return NULL;
  }
  return samples;
}

static void
test_metrics (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  if ((before = scrape (f)) == NULL)
    return;
  g_assert_cmpfloat (metric_value (before, "periscope_viewers", "stream", "camera"), ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_stream_up", "stream", "camera"), ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_stream_capturing", "stream", "camera"),
      ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_websocket_sessions", NULL, NULL), ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_keyframes_forced_total", "reason",
          "join"), >=, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_uptime_seconds", NULL, NULL), >, 0);

  /* Counters move while the viewer watches. */
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  psc_test_client_send (client, "not json");
  PSC_TEST_WAIT_MESSAGE (error, client, PSC_MESSAGE_ERROR, 5);
  if ((after = scrape (f)) == NULL)
    return;
  g_assert_cmpfloat (metric_value (after, "periscope_frames_encoded_total", "stream", "camera"),
      >, metric_value (before, "periscope_frames_encoded_total", "stream", "camera"));
  g_assert_cmpfloat (metric_value (after, "periscope_rtp_sent_bytes_total", "stream", "camera"),
      >, metric_value (before, "periscope_rtp_sent_bytes_total", "stream", "camera"));
  g_assert_cmpfloat (metric_value (after, "periscope_rtp_sent_packets_total", "stream",
          "camera"), >, metric_value (before, "periscope_rtp_sent_packets_total", "stream",
          "camera"));
  g_assert_cmpfloat (metric_value (after, "periscope_errors_total", "kind", "protocol"), ==,
      metric_value (before, "periscope_errors_total", "kind", "protocol") + 1);
}

int
main (int argc, char **argv)
{

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  PSC_TEST_ADD ("/integration/h264/rest-api", &psc_test_h264, test_rest_api);
  PSC_TEST_ADD ("/integration/h264/snapshot", &psc_test_h264, test_snapshot);
  PSC_TEST_ADD ("/integration/h264/metrics", &psc_test_h264, test_metrics);

  return g_test_run ();
}
