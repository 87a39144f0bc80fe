/* periscope integration tests: HTTP — the REST API, the snapshot, /metrics, the connection
 * policy (no descriptor leak, timeout, caps, bodies, a listener that dies).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/video/video.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

#include "psc-connections.h"
#include "psc-daemon.h"
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


static gboolean
fds_back (gpointer data)
{
  return psc_count_open_fds (NULL) <= GPOINTER_TO_INT (data);
}

/* libsoup 3.2 leaked every keep-alive connection its client closed: one descriptor in
 * CLOSE-WAIT per one-shot request (issue 11). */
static void
test_one_shot_requests (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *first = NULL;
  guint status;
  int before;

  /* A first request: whatever libsoup sets up once is not a leak. */
  if ((first = psc_test_http_get (f, "/healthz", &status, NULL)) == NULL)
    return;
  before = psc_count_open_fds (NULL);
  for (int i = 0; i < 40; i++) {
    g_autofree char *body = NULL;

    if ((body = psc_test_http_get (f, "/healthz", &status, NULL)) == NULL)
      return;
    g_assert_cmpuint (status, ==, 200);
  }
  g_test_message ("descriptors: %d before, %d after 40 requests", before,
      psc_count_open_fds (NULL));
  PSC_TEST_WAIT_UNTIL (fds_back, GINT_TO_POINTER (before + 2), 5,
      "the descriptors of 40 one-shot requests to be closed");
  g_assert_cmpuint (psc_connections_get_count (psc_server_get_connections (f->server)), ==, 0);
}

static void
set_limits_and_total (PscTestFixture *f, guint timeout_s, guint per_address, guint total)
{
  PscConnectionsLimits limits;

  psc_connections_limits_init (&limits);
  limits.request_timeout_s = timeout_s;
  limits.max_per_address = per_address;
  if (total > 0)
    limits.max_total = total;
  psc_connections_set_limits (psc_server_get_connections (f->server), &limits);
}

static void
set_limits (PscTestFixture *f, guint timeout_s, guint per_address)
{
  set_limits_and_total (f, timeout_s, per_address, 0);
}

/* Slowloris: half a request line, then nothing. */
static void
test_request_timeout (PscTestFixture *f, gconstpointer data)
{
  PscConnections *connections = psc_server_get_connections (f->server);
  g_autoptr (PscTestRawClient) client = NULL;
  gint64 start;

  /* 2 s, not 1: the timer is g_timeout_add_seconds(), whose first run may come up to a
   * second early (it is aligned to the whole seconds of the session, GLib's documentation). */
  set_limits (f, 2, PSC_CONNECTIONS_MAX_PER_ADDRESS);
  start = g_get_monotonic_time ();
  client = psc_test_raw_client_new (f, "GET /heal");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, client, 6, "the half request to be cut off");
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC);
  g_assert_cmpuint (client->received->len, ==, 0);
  g_assert_cmpuint (psc_connections_get_refused (connections,
          PSC_CONNECTIONS_REFUSED_TIMEOUT), ==, 1);
}

static gboolean
two_connections (gpointer data)
{
  return psc_connections_get_count (data) == 2;
}

/* Over the per-address cap a connection is answered 503 and closed at once. */
static void
test_address_cap (PscTestFixture *f, gconstpointer data)
{
  PscConnections *connections = psc_server_get_connections (f->server);
  g_autoptr (PscTestRawClient) first = NULL, second = NULL, third = NULL;

  set_limits (f, 10, 2);
  first = psc_test_raw_client_new (f, NULL);
  second = psc_test_raw_client_new (f, NULL);
  PSC_TEST_WAIT_UNTIL (two_connections, connections, 5, "two connections");
  third = psc_test_raw_client_new (f, NULL);
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, third, 2, "the third connection to be refused");
  g_test_message ("%s", third->received->str);
  g_assert_true (g_str_has_prefix (third->received->str, "HTTP/1.1 503 "));
  g_assert_nonnull (strstr (third->received->str, "2 connections open from this address"));
  g_assert_cmpuint (psc_connections_get_refused (connections,
          PSC_CONNECTIONS_REFUSED_ADDRESS_CAP), ==, 1);
  g_assert_false (psc_test_raw_client_closed (first));
  g_assert_false (psc_test_raw_client_closed (second));
}

static gboolean
one_connection (gpointer data)
{
  return psc_connections_get_count (data) == 1;
}

static gboolean
no_connection (gpointer data)
{
  return psc_connections_get_count (data) == 0;
}

static gboolean
three_connections (gpointer data)
{
  return psc_connections_get_count (data) == 3;
}

/* The total cap full of connections that sent nothing (or half a request line): a new one
 * takes the place of the one that waited longest, so idle connections from a few addresses
 * cannot lock everybody out (issue 13: 1,000 idle connections). Full of requests that are
 * under way (their headers in, the body coming), the new one is refused with 503. */
static void
test_total_cap (PscTestFixture *f, gconstpointer data)
{
  PscConnections *connections = psc_server_get_connections (f->server);
  g_autoptr (PscTestRawClient) idle1 = NULL, idle2 = NULL, half = NULL, fresh = NULL;
  g_autoptr (PscTestRawClient) body1 = NULL, body2 = NULL, body3 = NULL, refused = NULL;
  const char *posting = "POST /api/streams HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nab";

  set_limits_and_total (f, 10, 0, 3);
  idle1 = psc_test_raw_client_new (f, NULL);
  PSC_TEST_WAIT_UNTIL (one_connection, connections, 5, "the first idle connection");
  idle2 = psc_test_raw_client_new (f, NULL);
  half = psc_test_raw_client_new (f, "GET /heal");
  PSC_TEST_WAIT_UNTIL (three_connections, connections, 5, "three idle connections");
  fresh = psc_test_raw_client_new (f, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, idle1, 5, "the longest idle connection to be closed");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_answered, fresh, 5, "the new connection's answer");
  g_assert_true (g_str_has_prefix (fresh->received->str, "HTTP/1.1 200 "));
  g_assert_cmpuint (idle1->received->len, ==, 0);
  g_assert_false (psc_test_raw_client_closed (idle2));
  g_assert_cmpuint (psc_connections_get_refused (connections,
          PSC_CONNECTIONS_REFUSED_EVICTED), ==, 1);
  g_clear_pointer (&idle2, psc_test_raw_client_free);
  g_clear_pointer (&half, psc_test_raw_client_free);
  g_clear_pointer (&fresh, psc_test_raw_client_free);
  PSC_TEST_WAIT_UNTIL (no_connection, connections, 5, "the connections to close");

  body1 = psc_test_raw_client_new (f, posting);
  body2 = psc_test_raw_client_new (f, posting);
  body3 = psc_test_raw_client_new (f, posting);
  PSC_TEST_WAIT_UNTIL (three_connections, connections, 5, "three requests under way");
  refused = psc_test_raw_client_new (f, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, refused, 5, "the fourth connection to be refused");
  g_test_message ("%s", refused->received->str);
  g_assert_true (g_str_has_prefix (refused->received->str, "HTTP/1.1 503 "));
  g_assert_nonnull (strstr (refused->received->str, "3 connections open, the most allowed"));
  g_assert_cmpuint (psc_connections_get_refused (connections,
          PSC_CONNECTIONS_REFUSED_TOTAL_CAP), ==, 1);
  g_assert_false (psc_test_raw_client_closed (body1));
}

/* A burst of connections while the daemon is busy (its main loop not running here, so it
 * accepts none): the kernel completes them all into the accept queue. With GSocket's default
 * backlog of 10, the 12th and later wait for the client's SYN retransmission (1 s and more). */
#define BURST 50

static void
test_accept_backlog (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1",
      psc_server_get_port (f->server));
  GSocket *sockets[BURST];
  gint64 deadline;
  guint connected = 0;

  for (guint i = 0; i < BURST; i++) {
    g_autoptr (GError) error = NULL;

    sockets[i] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error (error);
    g_socket_set_blocking (sockets[i], FALSE);
    if (!g_socket_connect (sockets[i], address, NULL, &error))
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  }
  /* A loopback handshake takes microseconds; a dropped SYN is sent again after 1 s. */
  deadline = g_get_monotonic_time () + 500 * G_TIME_SPAN_MILLISECOND;
  for (guint i = 0; i < BURST; i++) {
    g_autoptr (GError) error = NULL;
    gint64 left = MAX (deadline - g_get_monotonic_time (), 0);

    if (g_socket_condition_timed_wait (sockets[i], G_IO_OUT, left, NULL, NULL) &&
        g_socket_check_connect_result (sockets[i], &error))
      connected++;
  }
  g_test_message ("%u of %u connections made at once were connected within 0.5 s", connected,
      BURST);
  g_assert_cmpuint (connected, ==, BURST);
  for (guint i = 0; i < BURST; i++)
    g_object_unref (sockets[i]);
}

/* A body over its route's limit is refused from its headers: 413 while the client has sent
 * none of it (issue 11: a 100 MB WHEP body was read whole first). */
static void
test_body_refused (PscTestFixture *f, gconstpointer data)
{
  PscConnections *connections = psc_server_get_connections (f->server);
  g_autoptr (PscTestRawClient) whep = NULL, api = NULL, chunked = NULL;
  g_autoptr (GString) chunks = g_string_new ("POST /whep/camera HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\n");

  whep = psc_test_raw_client_new (f, "POST /whep/camera HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/sdp\r\nContent-Length: 10485760\r\n\r\n");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, whep, 5, "the 10 MB offer to be refused");
  g_test_message ("%s", whep->received->str);
  g_assert_true (g_str_has_prefix (whep->received->str, "HTTP/1.1 413 "));
  g_assert_nonnull (strstr (whep->received->str, "a body of 10485760 bytes is over the 65536 "
          "bytes /whep/camera takes"));

  api = psc_test_raw_client_new (f, "POST /api/streams HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Length: 5000\r\n\r\n");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, api, 5, "the 5000-byte API body to be refused");
  g_assert_true (g_str_has_prefix (api->received->str, "HTTP/1.1 413 "));

  /* Chunked: no length to refuse from; cut off once past the limit. */
  for (int i = 0; i < 20; i++) {
    g_string_append_printf (chunks, "1000\r\n");
    for (int j = 0; j < 0x1000; j++)
      g_string_append_c (chunks, 'a');
    g_string_append (chunks, "\r\n");
  }
  chunked = psc_test_raw_client_new (f, chunks->str);
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, chunked, 5, "the chunked body to be refused");
  g_assert_true (g_str_has_prefix (chunked->received->str, "HTTP/1.1 413 "));
  g_assert_cmpuint (psc_connections_get_refused (connections, PSC_CONNECTIONS_REFUSED_BODY),
      ==, 3);

  /* A small offer still reaches WHEP (which refuses it as SDP, not for its size). */
  {
    g_autofree char *body = NULL;
    guint status;

    body = psc_test_http_request (f, "POST", "/whep/camera", "application/sdp", "v=0\r\n",
        NULL, NULL, &status, NULL);
    if (body == NULL)
      return;
    g_assert_cmpuint (status, !=, 413);
  }
}

/* A free TCP port on 127.0.0.1. */
static guint
free_port (void)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* The daemon, in a subprocess, with its descriptor table filled up: libsoup's listener
 * gives up at the first failed accept (EMFILE), and the daemon must say so and exit 69
 * instead of going deaf. */
static void
test_listener_failed (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (PscDaemon) daemon = NULL;
    g_autoptr (GError) error = NULL;
    PscConfig *config = psc_config_new ();
    guint port = free_port ();
    struct rlimit limit;
    GArray *fillers = g_array_new (FALSE, FALSE, sizeof (int));
    int fd, highest = 0;
    PscExitCode code;

    config->source = g_strdup (PSC_TEST_SOURCE);
    config->width = 320;
    config->height = 240;
    config->bind = g_strdup ("127.0.0.1");
    config->port = port;
    g_assert_true (psc_config_validate (config, &error));
    daemon = psc_daemon_new (config);
    g_assert_true (psc_daemon_start (daemon, &error));
    g_assert_no_error (error);

    /* Exactly three free descriptors: two for the clients, one for the first accept. The
     * limit leaves three numbers over the highest in use; the gaps below are filled. */
    for (fd = 0; fd < 65536; fd++)
      if (fcntl (fd, F_GETFD) != -1)
        highest = fd;
    g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
    limit.rlim_cur = highest + 4;
    g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
    while ((fd = dup (0)) != -1)
      g_array_append_val (fillers, fd);
    g_assert_cmpuint (fillers->len, >=, 3);
    for (guint i = 0; i < 3; i++)
      close (g_array_index (fillers, int, fillers->len - 1 - i));
    /* Plain sockets: one descriptor each, nothing else. */
    for (guint i = 0; i < 2; i++) {
      struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = g_htons (port),
        .sin_addr.s_addr = g_htonl (INADDR_LOOPBACK) };
      int client = socket (AF_INET, SOCK_STREAM, 0);

      g_assert_cmpint (client, >=, 0);
      g_assert_cmpint (connect (client, (struct sockaddr *) &address, sizeof (address)), ==, 0);
    }

    code = psc_daemon_run (daemon);
    g_print ("exit status %d\n", code);
    exit (code);
  }
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stdout ("*exit status 69*");
  g_test_trap_assert_stderr ("*stopped accepting connections*file descriptors open, the limit "
      "is*exiting so that the supervisor restarts periscope*");
}

int
main (int argc, char **argv)
{

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  PSC_TEST_ADD ("/integration/h264/rest-api", &psc_test_h264, test_rest_api);
  PSC_TEST_ADD ("/integration/h264/snapshot", &psc_test_h264, test_snapshot);
  PSC_TEST_ADD ("/integration/h264/metrics", &psc_test_h264, test_metrics);
  PSC_TEST_ADD ("/integration/http/one-shot-requests", &psc_test_h264, test_one_shot_requests);
  PSC_TEST_ADD ("/integration/http/request-timeout", &psc_test_h264, test_request_timeout);
  PSC_TEST_ADD ("/integration/http/address-cap", &psc_test_h264, test_address_cap);
  PSC_TEST_ADD ("/integration/http/total-cap", &psc_test_h264, test_total_cap);
  PSC_TEST_ADD ("/integration/http/accept-backlog", &psc_test_h264, test_accept_backlog);
  PSC_TEST_ADD ("/integration/http/body-refused", &psc_test_h264, test_body_refused);
  g_test_add_func ("/integration/http/listener-failed", test_listener_failed);

  return g_test_run ();
}
