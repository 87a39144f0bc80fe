/* periscope integration tests: signalling — bad input, the connect timeout, a relay room,
 * the viewer and rate limits, the source ending, STUN/TURN servers in the messages.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-test-fixture.h"

/* Sends @send and expects an error @code in reply; FALSE when none came (the test failed). */
static gboolean
expect_error (PscTestClient *client, const char *send, const char *code)
{
  g_autoptr (PscMessage) error = NULL;

  psc_test_client_send (client, send);
  error = psc_test_client_wait_message (client, PSC_MESSAGE_ERROR, 5);
  if (error == NULL)
    return FALSE;
  g_test_message ("sent %.60s -> %s: %s", send, error->error_code, error->error_message);
  g_assert_cmpstr (error->error_code, ==, code);
  g_assert_cmpuint (strlen (error->error_message), >, 10);
  return TRUE;
}

static void
test_bad_input (PscTestFixture *f, gconstpointer data)
{
  static const struct {
    const char *send;
    const char *code;
  } bad[] = {
    { "this is not json", "invalid_json" },
    { "[1,2,3]", "invalid_json" },
    { "{\"type\":\"dance\"}", "unknown_type" },
    { "{\"type\":\"answer\"}", "missing_field" },
    { "{\"type\":\"answer\",\"answer\":{\"type\":\"answer\",\"sdp\":42}}", "invalid_field" },
    { "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":"
          "\"candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host\",\"sdpMLineIndex\":0}}",
      "bad_state" },
    { "{\"type\":\"answer\",\"answer\":{\"type\":\"answer\",\"sdp\":\"hello\"}}", "bad_sdp" },
    { "{\"type\":\"answer\",\"answer\":{\"type\":\"answer\","
          "\"sdp\":\"v=0\\r\\no=- 0 0 IN IP4 0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\n\"}}", "bad_sdp" },
    { "{\"type\":\"offer\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}", "bad_state" },
    { "{\"type\":\"answer\",\"target_peer_id\":\"nobody\",\"answer\":{\"sdp\":\"v=0\"}}",
      "unknown_peer" },
  };
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscTestClient) bystander = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autofree char *huge = NULL;
  g_autofree char *huge_message = NULL;

  PSC_TEST_CONNECT (client, f->url, FALSE);
  PSC_TEST_CONNECT (bystander, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  PSC_TEST_WAIT_FRAMES (bystander, 30, 20);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    if (!expect_error (client, bad[i].send, bad[i].code))
      return;
  }
  huge = g_strnfill (100 * 1024, 'x');
  huge_message = g_strdup_printf ("{\"type\":\"answer\",\"pad\":\"%s\"}", huge);
  if (!expect_error (client, huge_message, "too_large"))
    return;

  /* The connection goes on: the real answer still works and video flows. */
  psc_test_client_answer (client, offer);
  PSC_TEST_WAIT_FRAMES (client, 60, 20);
  /* And the other viewer never noticed. */
  PSC_TEST_WAIT_FRAMES (bystander, 30, 20);
}

static void
test_connect_timeout (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autoptr (PscMessage) error = NULL;
  g_autofree gpointer *branch = NULL;
  PscStreamStats stats;
  gushort close_code;

  PSC_TEST_CONNECT (client, f->url, FALSE);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  branch = psc_test_watch_branch (psc_stream_get_pipeline (f->stream), offer->target_peer_id);
  PSC_TEST_WAIT_MESSAGE (error, client, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (error->error_code, ==, "timeout");
  PSC_TEST_WAIT_CLOSED (client, 5, &close_code);
  g_assert_cmpuint (close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  PSC_TEST_WAIT_UNTIL (psc_test_no_webrtcbin, f->stream, 5,
      "the viewer's branch to be removed");
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 0);
  PSC_TEST_WAIT_UNTIL (psc_test_finalized, branch, 5,
      "the timed-out viewer's branch to be freed");
}

static void
test_relay_room (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *base = g_strdup_printf ("ws://127.0.0.1:%u", psc_server_get_port (f->server));
  g_autofree char *url_a = g_strconcat (base, "/webrtc/signaling/lobby/alice", NULL);
  g_autofree char *url_b = g_strconcat (base, "/ws/lobby/bob", NULL);
  g_autoptr (PscTestClient) alice = NULL;
  g_autoptr (PscTestClient) bob = NULL;
  g_autoptr (PscTestClient) impostor = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autoptr (PscMessage) joined = NULL;
  g_autoptr (PscMessage) relayed = NULL;
  g_autoptr (PscMessage) error = NULL;
  g_autoptr (PscMessage) left = NULL;

  PSC_TEST_CONNECT (alice, url_a, FALSE);
  PSC_TEST_WAIT_MESSAGE (welcome, alice, PSC_MESSAGE_EXISTING_PEERS, 5);
  g_assert_cmpuint (g_strv_length (welcome->peers), ==, 0);
  g_clear_pointer (&welcome, psc_message_free);

  PSC_TEST_CONNECT (bob, url_b, FALSE);
  PSC_TEST_WAIT_MESSAGE (welcome, bob, PSC_MESSAGE_EXISTING_PEERS, 5);
  g_assert_cmpstr (welcome->peer_id, ==, "bob");
  g_assert_cmpuint (g_strv_length (welcome->peers), ==, 1);
  g_assert_cmpstr (welcome->peers[0], ==, "alice");
  PSC_TEST_WAIT_MESSAGE (joined, alice, PSC_MESSAGE_PEER_JOINED, 5);
  g_assert_cmpstr (joined->peer_id, ==, "bob");

  psc_test_client_send (alice, "{\"type\":\"offer\",\"target_peer_id\":\"bob\","
      "\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 from alice\"}}");
  PSC_TEST_WAIT_MESSAGE (relayed, bob, PSC_MESSAGE_OFFER, 5);
  g_assert_cmpstr (relayed->from_peer_id, ==, "alice");
  g_assert_cmpstr (relayed->sdp, ==, "v=0 from alice");

  psc_test_client_send (alice, "{\"type\":\"answer\",\"answer\":{\"sdp\":\"v=0\"}}");
  PSC_TEST_WAIT_MESSAGE (error, alice, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (error->error_code, ==, "missing_field");

  PSC_TEST_CONNECT (impostor, url_b, FALSE);
  g_clear_pointer (&error, psc_message_free);
  PSC_TEST_WAIT_MESSAGE (error, impostor, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (error->error_code, ==, "peer_id_taken");
  PSC_TEST_WAIT_CLOSED (impostor, 5, NULL);

  g_clear_pointer (&bob, psc_test_client_free);
  PSC_TEST_WAIT_MESSAGE (left, alice, PSC_MESSAGE_PEER_LEFT, 5);
  g_assert_cmpstr (left->peer_id, ==, "bob");
}

static void
test_viewer_limit (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) first = NULL;
  g_autoptr (PscTestClient) second = NULL;
  g_autoptr (PscTestClient) third = NULL;
  g_autoptr (PscMessage) refused = NULL;
  gushort close_code;

  PSC_TEST_CONNECT (first, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (first, 30, 20);
  PSC_TEST_CONNECT (second, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (refused, second, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (refused->error_code, ==, "too_many_peers");
  PSC_TEST_WAIT_CLOSED (second, 5, &close_code);
  g_assert_cmpuint (close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  /* The viewer already there never noticed. */
  PSC_TEST_WAIT_FRAMES (first, 30, 20);

  /* A place frees up when a viewer leaves. */
  g_clear_pointer (&first, psc_test_client_free);
  PSC_TEST_CONNECT (third, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (third, 30, 20);
}

static void
test_rate_limit (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) flooder = NULL;
  g_autoptr (PscTestClient) bystander = NULL;
  gboolean limited = FALSE;
  gushort close_code;

  PSC_TEST_CONNECT (flooder, f->url, FALSE);
  PSC_TEST_CONNECT (bystander, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (bystander, 30, 20);
  /* Far over 200 messages at once: the burst allowance runs out (more under valgrind, where
   * the daemon reads them slowly enough for the budget to refill meanwhile). */
  for (guint i = 0; i < 200 + 400 * psc_test_time_factor (); i++)
    psc_test_client_send (flooder, "{\"type\":\"peer_left\",\"peer_id\":\"x\"}");
  while (!limited) {
    g_autoptr (PscMessage) error = NULL;

    PSC_TEST_WAIT_MESSAGE (error, flooder, PSC_MESSAGE_ERROR, 5);
    limited = g_str_equal (error->error_code, "rate_limited");
  }
  PSC_TEST_WAIT_CLOSED (flooder, 5, &close_code);
  g_assert_cmpuint (close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  PSC_TEST_WAIT_FRAMES (bystander, 30, 20);
}

static void
test_source_ends (PscTestFixture *f, gconstpointer data)
{
  gboolean offline = FALSE;
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) state = NULL;

  psc_test_flag_on_stream_offline (f->stream, &offline);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);
  /* The source stops after its buffers: the stream goes offline, and the viewer is told. */
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &offline, 20,
      "the stream to report the end of its source");
  PSC_TEST_WAIT_MESSAGE (state, client, PSC_MESSAGE_STREAM_STATE, 5);
  g_assert_cmpstr (state->state, ==, "offline");
  g_assert_nonnull (strstr (state->reason, "ended"));
}

/* STUN/TURN servers reach both peers: webrtcbin's properties, and ice_servers in the
 * browser's messages. Nothing listens on 127.0.0.1:3478, so the host path still carries
 * the video. */
static void
test_ice_servers (PscTestFixture *f, gconstpointer data)
{
  static const char *expected = "[{\"urls\":\"stun:127.0.0.1:3478\"},"
      "{\"urls\":\"turn:127.0.0.1:3478\",\"username\":\"periscope\","
      "\"credential\":\"s3cret\"}]";
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autoptr (GstElement) branch = NULL;
  g_autoptr (GstElement) webrtc = NULL;
  g_autofree char *stun = NULL;
  g_autofree char *welcome_ice = NULL;
  g_autofree char *offer_ice = NULL;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (welcome, client, PSC_MESSAGE_EXISTING_PEERS, 5);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  branch = psc_test_find_branch (psc_stream_get_pipeline (f->stream), welcome->peer_id);
  g_assert_nonnull (branch);
  webrtc = gst_bin_get_by_name (GST_BIN (branch), "webrtc");
  g_assert_nonnull (webrtc);
  g_assert_nonnull (welcome->ice_servers);
  g_assert_nonnull (offer->ice_servers);
  welcome_ice = json_to_string (welcome->ice_servers, FALSE);
  offer_ice = json_to_string (offer->ice_servers, FALSE);
  g_assert_cmpstr (welcome_ice, ==, expected);
  g_assert_cmpstr (offer_ice, ==, expected);
  g_object_get (webrtc, "stun-server", &stun, NULL);
  g_assert_cmpstr (stun, ==, "stun://127.0.0.1:3478");
  PSC_TEST_WAIT_FRAMES (client, 60, 20);
}

/* Codec per viewer on a --codec h264 stream with both encoders: a client that lists only vp8
 * gets a VP8 offer and decodes it, one that lists nothing gets H.264 (as before clients could
 * say), both at once, each codec's encoder running once; one that decodes neither codec the
 * stream has is refused with no_common_codec and its socket closed. */
static void
test_codec_per_viewer (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autofree char *vp8_url = g_strconcat (f->url, "?codecs=vp8", NULL);
  g_autofree char *none_url = g_strconcat (f->url, "?codecs=av1,vp9", NULL);
  g_autoptr (PscTestClient) vp8 = NULL;
  g_autoptr (PscTestClient) silent = NULL;
  g_autoptr (PscTestClient) none = NULL;
  g_autoptr (PscMessage) vp8_offer = NULL;
  g_autoptr (PscMessage) silent_offer = NULL;
  g_autoptr (PscMessage) refused = NULL;
  gushort close_code = 0;

  g_assert_cmpint (psc_stream_get_codec (f->stream), ==, PSC_CODEC_H264);
  g_assert_nonnull (psc_stream_get_encoder (f->stream, PSC_CODEC_VP8));

  PSC_TEST_CONNECT (vp8, vp8_url, TRUE);
  PSC_TEST_WAIT_MESSAGE (vp8_offer, vp8, PSC_MESSAGE_OFFER, 10);
  g_test_message ("offer to a vp8-only client: %s", vp8_offer->sdp);
  g_assert_nonnull (strstr (vp8_offer->sdp, "VP8/90000"));
  g_assert_null (strstr (vp8_offer->sdp, "H264/90000"));

  PSC_TEST_CONNECT (silent, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (silent_offer, silent, PSC_MESSAGE_OFFER, 10);
  g_assert_nonnull (strstr (silent_offer->sdp, "H264/90000"));
  g_assert_null (strstr (silent_offer->sdp, "VP8/90000"));

  PSC_TEST_WAIT_FRAMES (vp8, 30, 20);
  PSC_TEST_WAIT_FRAMES (silent, 30, 20);
  g_assert_true (psc_stream_is_encoding (f->stream, PSC_CODEC_H264));
  g_assert_true (psc_stream_is_encoding (f->stream, PSC_CODEC_VP8));
  g_assert_cmpuint (psc_test_count_elements (pipeline, "rtpvp8pay"), ==, 1);
  g_assert_cmpuint (psc_test_count_elements (pipeline, "rtph264pay"), ==, 1);

  PSC_TEST_CONNECT (none, none_url, TRUE);
  PSC_TEST_WAIT_MESSAGE (refused, none, PSC_MESSAGE_ERROR, 5);
  g_test_message ("refused: %s", refused->error_message);
  g_assert_cmpstr (refused->error_code, ==, "no_common_codec");
  g_assert_nonnull (strstr (refused->error_message, "av1,vp9"));
  PSC_TEST_WAIT_CLOSED (none, 5, &close_code);
  g_assert_cmpuint (close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  PSC_TEST_WAIT_FRAMES (vp8, 10, 10);
}

int
main (int argc, char **argv)
{
  static const PscTestFixtureData quick_timeout = { .codec = "h264", .connect_timeout_s = 2 };

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  PSC_TEST_ADD ("/integration/h264/bad-input", &psc_test_h264, test_bad_input);
  PSC_TEST_ADD ("/integration/h264/connect-timeout", &quick_timeout, test_connect_timeout);
  PSC_TEST_ADD ("/integration/relay-room", &psc_test_h264, test_relay_room);
  PSC_TEST_ADD ("/integration/h264/ice-servers", &psc_test_ice_servers, test_ice_servers);
  PSC_TEST_ADD ("/integration/h264/viewer-limit", &psc_test_one_seat, test_viewer_limit);
  PSC_TEST_ADD ("/integration/h264/rate-limit", &psc_test_h264, test_rate_limit);
  PSC_TEST_ADD ("/integration/h264/codec-per-viewer", &psc_test_h264, test_codec_per_viewer);
  PSC_TEST_ADD ("/integration/h264/source-ends", &psc_test_short_source, test_source_ends);

  return g_test_run ();
}
