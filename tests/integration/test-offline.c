/* periscope integration tests: the stream survives its source — a source that ends or is not
 * there goes offline (the "no signal" slate, on the viewers' same connections), is tried
 * again, and comes back live with a keyframe; an IP camera that goes away for 5 s and comes
 * back; a file that appears after the start is played; --loop plays a file over and over.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "psc-test-fixture.h"
#include "psc-test-rtsp.h"

/* The clip --loop plays: 2 s at 30 fps. */
#define CLIP_FRAMES 60
#define CLIP_FPS 30

static char *clip_path;
/* Where the clip appears mid-test (test_file_appears()). */
static char *late_path;
/* Bound, not listening until test_silent_camera() makes it: a TCP camera that refuses
 * connections, then accepts them and never sends a byte. */
static GSocket *silent_socket;

/* The IP camera whose outage is tested (psc-test-rtsp.c): a ball on light grey. */
static PscTestRtspCamera *rtsp_camera;
#define CAMERA_OUTAGE_S 5
/* Mean luma of a decoded frame: the camera's picture is above, the black slate below. */
#define CAMERA_LUMA 120
#define SLATE_LUMA 60

/* 2 s of frames (stretched under valgrind): then its EOS. Every retry starts a fresh one. */
static const PscTestFixtureData ending_source = { .codec = "h264", .connect_timeout_s = 20,
  .source_seconds = 2, .always_on = TRUE };
/* A camera that is not there. */
static const PscTestFixtureData missing_camera = { .codec = "h264", .connect_timeout_s = 20,
  .source = "v4l2src device=/dev/nonexistent", .always_on = TRUE };

static JsonObject *
first_stream (JsonNode *streams)
{
  return json_array_get_object_element (json_node_get_array (streams), 0);
}

static JsonNode *
get_json (PscTestFixture *f, const char *path, guint expected_status)
{
  guint status = 0;
  g_autofree char *body = psc_test_http_get (f, path, &status, NULL);

  if (body == NULL)
    return NULL;
  g_assert_cmpuint (status, ==, expected_status);
  return psc_test_parse_json (body);
}

/* A keyframe request for a joining viewer (or for the live source) was forced, or folded
 * into a pending one. */
static gboolean
keyframe_asked (const PscStreamStats *before, const PscStreamStats *now)
{
  return now->keyframes_forced_join > before->keyframes_forced_join ||
      now->keyframe_requests_coalesced > before->keyframe_requests_coalesced;
}

/* The source ends: offline, the viewer told and still connected; the retry brings a fresh
 * source, live again, a keyframe forced at once, and frames keep coming on the same
 * connection. */
static void
test_source_ends (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) offline = NULL;
  g_autoptr (PscMessage) live = NULL;
  g_autoptr (JsonNode) streams = NULL;
  gboolean went_offline = FALSE;
  PscStreamStats before, after;
  PscTestStatsSince since;
  JsonObject *camera;

  psc_test_flag_on_stream_offline (f->stream, &went_offline);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &went_offline, 20, "the source to end");
  psc_stream_get_stats (f->stream, &before);
  g_assert_cmpuint (before.outages, ==, 1);
  psc_test_stats_since_init (&since, f->stream, keyframe_asked);

  PSC_TEST_WAIT_MESSAGE (offline, client, PSC_MESSAGE_STREAM_STATE, 5);
  g_assert_cmpstr (offline->state, ==, "offline");
  g_assert_nonnull (strstr (offline->reason, "ended"));

  /* The retry, 1 s later: a fresh source (num-buffers counts from 0 again), live. */
  PSC_TEST_WAIT_UNTIL (psc_test_stream_live, f->stream, 10, "the stream to be live again");
  PSC_TEST_WAIT_MESSAGE (live, client, PSC_MESSAGE_STREAM_STATE, 5);
  g_assert_cmpstr (live->state, ==, "live");
  g_assert_null (live->reason);
  /* The keyframe asked of the encoder at once: forced, or folded into one a viewer's PLI
   * forced just before (under ASan's load the slate's last frames can draw one), or
   * deferred past the 200 ms gap and forced then. */
  PSC_TEST_WAIT_UNTIL (psc_test_stats_moved, &since, 5, "a keyframe asked for the live source");

  /* Same connection, still decoding: through the slate and back. */
  PSC_TEST_WAIT_FRAMES (client, 20, 10);
  g_assert_false (psc_test_client_is_closed (client));
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.frames_captured, >, before.frames_captured);

  if ((streams = get_json (f, "/api/streams", 200)) == NULL)
    return;
  camera = first_stream (streams);
  g_assert_cmpint (json_object_get_int_member (camera, "outages"), >=, 1);
}

/* A camera missing at start-up: the stream starts offline, the slate flows to a viewer, and
 * /healthz, /api/streams and /metrics say so. */
static void
test_missing_at_start (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) state = NULL;
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (JsonNode) streams = NULL;
  g_autofree char *metrics = NULL;
  JsonObject *camera;
  guint status = 0;

  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);

  if ((health = get_json (f, "/healthz", 503)) == NULL)
    return;
  g_assert_cmpstr (json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (health), "streams"), "camera"),
      ==, "offline");

  if ((streams = get_json (f, "/api/streams", 200)) == NULL)
    return;
  camera = first_stream (streams);
  g_assert_cmpstr (json_object_get_string_member (camera, "state"), ==, "offline");
  g_assert_nonnull (strstr (json_object_get_string_member (camera, "offline_reason"),
          "nonexistent"));
  g_assert_cmpint (json_object_get_int_member (camera, "outages"), ==, 1);

  metrics = psc_test_http_get (f, "/metrics", &status, NULL);
  g_assert_nonnull (metrics);
  g_assert_nonnull (strstr (metrics, "periscope_stream_outages_total{stream=\"camera\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "periscope_stream_up{stream=\"camera\""));
  g_assert_nonnull (strstr (strstr (metrics, "periscope_stream_up{stream=\"camera\""),
          "} 0\n"));

  /* A viewer who comes now is told, and decodes the slate. */
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (state, client, PSC_MESSAGE_STREAM_STATE, 10);
  g_assert_cmpstr (state->state, ==, "offline");
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  /* The retries fail too: still the one outage. */
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
  {
    PscStreamStats stats;
    psc_stream_get_stats (f->stream, &stats);
    g_assert_cmpuint (stats.outages, ==, 1);
  }
}

static gboolean
time_reached (gpointer deadline)
{
  return g_get_monotonic_time () >= *(gint64 *) deadline;
}

static gboolean
camera_picture (gpointer client)
{
  return psc_test_client_get_luma (client) > CAMERA_LUMA;
}

static gboolean
slate_picture (gpointer client)
{
  int luma = psc_test_client_get_luma (client);

  return luma >= 0 && luma < SLATE_LUMA;
}

/* Asserts what /api/streams says of the stream: @state, and @outages. */
static void
assert_api_state (PscTestFixture *f, const char *state, gint64 outages)
{
  g_autoptr (JsonNode) streams = NULL;
  JsonObject *stream;

  if ((streams = get_json (f, "/api/streams", 200)) == NULL)
    return;
  stream = first_stream (streams);
  g_assert_cmpstr (json_object_get_string_member (stream, "state"), ==, state);
  g_assert_cmpint (json_object_get_int_member (stream, "outages"), ==, outages);
}

/* An RTSP camera reboots: gone for 5 s, then back on the same URL. The viewer connected
 * before decodes the slate meanwhile and the camera again after, on the same connection: no
 * second offer, no reconnection. */
static void
test_rtsp_camera_outage (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autoptr (PscMessage) offline = NULL;
  g_autoptr (PscMessage) live = NULL;
  gboolean went_offline = FALSE;
  PscStreamStats before, after;
  gint64 back_at;

  psc_test_flag_on_stream_offline (f->stream, &went_offline);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  PSC_TEST_WAIT_UNTIL (camera_picture, client, 10, "the camera's picture");
  assert_api_state (f, "live", 0);

  psc_test_rtsp_camera_stop (rtsp_camera);
  back_at = g_get_monotonic_time () + CAMERA_OUTAGE_S * G_USEC_PER_SEC;
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &went_offline, 20,
      "the stream to go offline without its camera");
  PSC_TEST_WAIT_MESSAGE (offline, client, PSC_MESSAGE_STREAM_STATE, 5);
  g_assert_cmpstr (offline->state, ==, "offline");
  g_assert_nonnull (offline->reason);
  g_test_message ("offline: %s", offline->reason);
  assert_api_state (f, "offline", 1);

  /* The slate, decoded on the same connection while the camera is away. */
  PSC_TEST_WAIT_UNTIL (slate_picture, client, 10, "the slate's black picture");
  PSC_TEST_WAIT_FRAMES (client, 15, 10);
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
  PSC_TEST_WAIT_UNTIL (time_reached, &back_at, 2 * CAMERA_OUTAGE_S,
      "the end of the camera's outage");
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
  psc_stream_get_stats (f->stream, &before);

  /* Back: a retry finds it, within the backoff (1 + 2 + 4 + 8 s). */
  psc_test_rtsp_camera_start (rtsp_camera);
  PSC_TEST_WAIT_UNTIL (psc_test_stream_live, f->stream, 30, "the stream to be live again");
  PSC_TEST_WAIT_MESSAGE (live, client, PSC_MESSAGE_STREAM_STATE, 5);
  g_assert_cmpstr (live->state, ==, "live");
  PSC_TEST_WAIT_UNTIL (camera_picture, client, 10, "the camera's picture again");
  PSC_TEST_WAIT_FRAMES (client, 30, 10);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.frames_captured, >, before.frames_captured);
  g_assert_cmpuint (after.outages, ==, 1);
  assert_api_state (f, "live", 1);

  /* The same session throughout. */
  g_assert_false (psc_test_client_is_closed (client));
  g_assert_cmpuint (psc_test_client_count_messages (client, PSC_MESSAGE_OFFER), ==, 0);
}

static gboolean
played_half (gpointer stream)
{
  PscStreamStats stats;

  psc_stream_get_stats (stream, &stats);
  return stats.frames_captured >= CLIP_FRAMES / 2;
}

/* A file missing at start-up, tried in vain while the stream runs on the slate, then there.
 * Each failed attempt (decodebin's preroll begun, then filesrc's error) left the pipeline
 * believing it was PAUSED, with a failed state change: the file's bin, which prerolls
 * asynchronously, was never taken on to PLAYING (its clocksync blocked, no frame, the attempt
 * timed out), and a viewer who came meanwhile had its branch brought up to PAUSED only. */
static void
test_file_appears (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  PscTestAttemptWait wait = { .stream = f->stream, .attempts = 1 };

  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
  /* The first retry, 1 s after the start, fails too. */
  PSC_TEST_WAIT_UNTIL (psc_test_attempts_reached, &wait, 10, "a retry of the source");
  PSC_TEST_WAIT_UNTIL (psc_test_stream_offline, f->stream, 10, "the retry to fail");

  /* A viewer who comes now decodes the slate. */
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);

  g_assert_cmpint (link (clip_path, late_path), ==, 0);
  g_assert_true (psc_stream_retry_now (f->stream));
  PSC_TEST_WAIT_UNTIL (psc_test_stream_live, f->stream, 10, "the stream to be live");
  PSC_TEST_WAIT_UNTIL (played_half, f->stream, 10, "half the clip");
  PSC_TEST_WAIT_FRAMES (client, 10, 10);
  g_assert_cmpint (g_unlink (late_path), ==, 0);
}

/* A retry against a source that never answers (a TCP camera that accepts the connection and
 * sends nothing) lasts the attempt's whole timeout (10 s). The slate plays on meanwhile: a
 * viewer who comes during the attempt decodes it (it was taken off when the attempt began,
 * and the viewers' picture froze until the timeout). */
static void
test_silent_camera (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscTestClient) client = NULL;
  g_autofree char *reason = psc_stream_dup_offline_reason (f->stream);
  g_autofree char *reason_after = NULL;
  PscTestAttemptWait wait = { .stream = f->stream, .attempts = 1 };

  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
  g_assert_true (g_socket_listen (silent_socket, &error));
  g_assert_no_error (error);
  /* The first retry, 1 s after the start, finds it listening. */
  PSC_TEST_WAIT_UNTIL (psc_test_attempts_reached, &wait, 10, "a retry of the source");

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 15, 8);
  /* All during the attempt: it has not timed out (that would say so). */
  reason_after = psc_stream_dup_offline_reason (f->stream);
  g_assert_cmpstr (reason_after, ==, reason);
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
}

static gboolean
played_twice_more (const PscStreamStats *before, const PscStreamStats *now)
{
  return now->frames_captured >= before->frames_captured + 2 * CLIP_FRAMES + CLIP_FRAMES / 2;
}

/* --loop: a 2 s file plays on past its end, with no outage, to a viewer decoding it. */
static void
test_loop (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscTestPace) pace = NULL;
  gboolean went_offline = FALSE;
  PscStreamStats stats;
  PscTestStatsSince since;
  double gap_ms;

  psc_test_flag_on_stream_offline (f->stream, &went_offline);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);
  pace = psc_test_pace_new (f->stream);
  psc_test_stats_since_init (&since, f->stream, played_twice_more);
  PSC_TEST_WAIT_UNTIL (psc_test_stats_moved, &since, 15,
      "the clip to play two and a half times more");
  /* Each time at its own rate, not as fast as it decodes (a source started again must be
   * paced as the first one was: unpaced, this machine decodes the clip at ~77 frames/s, a
   * 13 ms gap). */
  gap_ms = psc_test_pace_median_gap_ms (pace);
  g_test_message ("median gap between frames over the loops: %.1f ms", gap_ms);
  g_assert_cmpfloat (gap_ms, >=, 0.8 * 1000 / CLIP_FPS);
  PSC_TEST_WAIT_FRAMES (client, 10, 10);
  g_assert_false (went_offline);
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.outages, ==, 0);
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_LIVE);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *loop_source = NULL;
  g_autofree char *camera_source = NULL;
  g_autofree char *late_source = NULL;
  g_autofree char *silent_source = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  PscTestFixtureData looping = { .codec = "h264", .connect_timeout_s = 20, .always_on = TRUE,
    .loop = TRUE };
  PscTestFixtureData camera_fixture = { .codec = "h264", .connect_timeout_s = 20,
    .always_on = TRUE };
  PscTestFixtureData late_file = { .codec = "h264", .connect_timeout_s = 20,
    .always_on = TRUE };
  PscTestFixtureData silent_camera = { .codec = "h264", .connect_timeout_s = 20,
    .always_on = TRUE };
  int status;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  dir = g_dir_make_tmp ("periscope-offline-XXXXXX", &error);
  g_assert_no_error (error);
  clip_path = g_build_filename (dir, "clip.mp4", NULL);
  psc_test_record_clip (clip_path, "mp4mux name=mux", CLIP_FRAMES, CLIP_FPS);
  loop_source = g_strdup_printf ("filesrc location=%s ! decodebin", clip_path);
  looping.source = loop_source;
  late_path = g_build_filename (dir, "late.mp4", NULL);
  late_source = g_strdup_printf ("filesrc location=%s ! decodebin", late_path);
  late_file.source = late_source;
  silent_socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (silent_socket, any_port, FALSE, &error));
  bound = g_socket_get_local_address (silent_socket, &error);
  g_assert_no_error (error);
  silent_source = g_strdup_printf ("tcpclientsrc host=127.0.0.1 port=%u ! decodebin",
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  silent_camera.source = silent_source;
  rtsp_camera = psc_test_rtsp_camera_new (30);   /* an IDR every second at 30 fps */
  camera_source = g_strdup_printf ("rtspsrc location=%s latency=0 ! rtph264depay ! "
      "h264parse ! decodebin", psc_test_rtsp_camera_get_url (rtsp_camera));
  camera_fixture.source = camera_source;

  PSC_TEST_ADD ("/integration/offline/source-ends", &ending_source, test_source_ends);
  PSC_TEST_ADD ("/integration/offline/missing-at-start", &missing_camera,
      test_missing_at_start);
  PSC_TEST_ADD ("/integration/offline/file-appears", &late_file, test_file_appears);
  PSC_TEST_ADD ("/integration/offline/silent-camera", &silent_camera, test_silent_camera);
  PSC_TEST_ADD ("/integration/offline/loop", &looping, test_loop);
  PSC_TEST_ADD ("/integration/offline/rtsp-camera-outage", &camera_fixture,
      test_rtsp_camera_outage);

  status = g_test_run ();

  g_clear_pointer (&rtsp_camera, psc_test_rtsp_camera_free);
  g_unlink (clip_path);
  g_unlink (late_path);
  g_clear_object (&silent_socket);
  g_rmdir (dir);
  g_free (clip_path);
  g_free (late_path);
  return status;
}
