/* periscope integration tests: WHEP — every status, PATCH and DELETE on a session, ICE-server
 * Link headers, the viewer limit shared with WebSocket viewers, a stream that is not live; and
 * the registry seen through them: a second camera, a viewer refused; a viewer joining while
 * the tee is in the middle of a frame.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/webrtc/webrtc.h>

#include "psc-source.h"
#include "psc-test-fixture.h"

/* @method @path (with @header: @value if not %NULL), expecting status @expected and
 * @fragment (if any) in the body; FALSE when no response came (the test failed). */
static gboolean
expect_status (PscTestFixture *f, const char *method, const char *path, const char *type,
    const char *body, const char *header, const char *value, guint expected,
    const char *fragment)
{
  g_autofree char *text = psc_test_expect_status (f, method, path, type, body, header, value,
      expected, fragment, NULL);

  return text != NULL;
}

#define EXPECT_STATUS(f, method, path, type, body, expected, fragment) \
  G_STMT_START { \
    if (!expect_status ((f), (method), (path), (type), (body), NULL, NULL, (expected), \
            (fragment))) \
      return; \
  } G_STMT_END

/* Every WHEP error status, and a whole session's resource: PATCH and DELETE. */
static void
test_whep_http (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *av1 = g_strdup ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 100\r\na=rtpmap:100 AV1/90000\r\na=recvonly\r\n");
  g_autofree char *sendonly = NULL;
  g_autofree char *options = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *etag = NULL;
  g_autofree char *frag = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (GString) restart = NULL;
  g_autoptr (PscTestClient) ws = NULL;
  guint status;

  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 30, 20);
  EXPECT_STATUS (f, "POST", "/whep/nope", "application/sdp", offer, 404, "nope");
  EXPECT_STATUS (f, "POST", "/whep/camera", "text/plain", offer, 415, "application/sdp");
  EXPECT_STATUS (f, "POST", "/whep/camera", "application/sdp", "hello", 400, "SDP");
  EXPECT_STATUS (f, "POST", "/whep/camera", "application/sdp", av1, 406, "AV1");
  sendonly = g_strdup (offer);
  g_assert_nonnull (strstr (sendonly, "a=recvonly"));
  memcpy (strstr (sendonly, "a=recvonly"), "a=sendonly", 10);
  EXPECT_STATUS (f, "POST", "/whep/camera", "application/sdp", sendonly, 400, "recvonly");
  EXPECT_STATUS (f, "GET", "/whep/camera", NULL, NULL, 405, NULL);
  EXPECT_STATUS (f, "DELETE", "/whep/camera/0123456789abcdef0123456789abcdef", NULL, NULL, 404,
      NULL);

  /* OPTIONS: Accept-Post; CORS only for a trusted page on another origin (test-security). */
  options = psc_test_http_request (f, "OPTIONS", "/whep/camera", NULL, NULL, NULL, NULL,
      &status, &headers);
  if (options == NULL)
    return;
  g_assert_cmpuint (status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Accept-Post"), ==, "application/sdp");
  g_assert_null (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"));
  g_clear_pointer (&headers, soup_message_headers_unref);

  /* A session: 201, the answer, Location, ETag; it shares the encoder and the payloader with
   * the WS viewer. */
  answer = psc_test_http_request (f, "POST", "/whep/camera", "application/sdp", offer, NULL,
      NULL, &status, &headers);
  if (answer == NULL)
    return;
  g_test_message ("answer: %s", answer);
  g_assert_cmpuint (status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_content_type (headers, NULL), ==, "application/sdp");
  g_assert_nonnull (strstr (answer, "a=sendonly"));
  g_assert_nonnull (strstr (answer, "a=rtpmap:102 H264/90000"));
  g_assert_nonnull (strstr (answer, "a=group:BUNDLE"));
  g_assert_nonnull (strstr (answer, "a=rtcp-mux"));
  g_assert_nonnull (strstr (answer, "msid"));
  g_assert_nonnull (strstr (answer, "a=candidate:"));
  resource = g_strdup (soup_message_headers_get_one (headers, "Location"));
  etag = g_strdup (soup_message_headers_get_one (headers, "ETag"));
  g_assert_nonnull (resource);
  g_assert_true (g_str_has_prefix (resource, "/whep/camera/"));
  g_assert_cmpuint (strlen (resource), ==, strlen ("/whep/camera/") + 32);
  g_assert_nonnull (etag);
  g_assert_cmpuint (psc_test_count_elements (pipeline, "webrtcbin"), ==, 2);
  g_assert_cmpuint (psc_test_count_elements (pipeline, psc_stream_get_encoder_name (f->stream)),
      ==, 1);
  /* And the payloader: one payloading per (stream, codec), the WHEP branch's packets given the
   * offer's payload type 102 on the way (psc_payloader_retarget()). */
  g_assert_cmpuint (psc_test_count_elements (pipeline, "rtph264pay"), ==, 1);

  /* PATCH: trickle (204), wrong type (415), stale ETag (412), ICE restart (422). */
  frag = g_strdup ("a=candidate:1 1 UDP 2122252543 127.0.0.1 9 typ host\r\n");
  if (!expect_status (f, "PATCH", resource, "application/trickle-ice-sdpfrag", frag, "If-Match",
          etag, 204, NULL))
    return;
  EXPECT_STATUS (f, "PATCH", resource, "application/sdp", frag, 415, NULL);
  if (!expect_status (f, "PATCH", resource, "application/trickle-ice-sdpfrag", frag, "If-Match",
          "\"stale\"", 412, NULL))
    return;
  restart = g_string_new ("a=ice-ufrag:somethingnew\r\na=ice-pwd:anewpasswordanewpassword\r\n");
  g_string_append (restart, frag);
  EXPECT_STATUS (f, "PATCH", resource, "application/trickle-ice-sdpfrag", restart->str, 422,
      "restart");

  /* DELETE ends it and frees the viewer; the resource is gone. */
  EXPECT_STATUS (f, "DELETE", resource, NULL, NULL, 200, NULL);
  EXPECT_STATUS (f, "PATCH", resource, "application/trickle-ice-sdpfrag", frag, 404, NULL);
  PSC_TEST_WAIT_UNTIL (psc_test_one_webrtcbin, f->stream, 5, "the WHEP branch to be removed");
  g_assert_cmpuint (psc_whep_get_session_count (f->whep), ==, 0);
  /* The WebSocket viewer never noticed. */
  PSC_TEST_WAIT_FRAMES (ws, 30, 20);
}

/* STUN/TURN servers reach WHEP players as Link headers (rel="ice-server"). */
static void
test_whep_links (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *answer = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  const char *links;

  answer = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", offer, NULL, NULL,
      201, NULL, &headers);
  if (answer == NULL)
    return;
  links = soup_message_headers_get_list (headers, "Link");
  g_test_message ("Link: %s", links);
  g_assert_nonnull (links);
  g_assert_nonnull (strstr (links, "<stun:127.0.0.1:3478>; rel=\"ice-server\""));
  g_assert_nonnull (strstr (links, "<turn:127.0.0.1:3478>; rel=\"ice-server\"; "
          "username=\"periscope\"; credential=\"s3cret\""));
}

/* 503 at the viewer limit (shared with WebSocket viewers), 409 when the stream is not live. */
static void
test_whep_limits (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autoptr (PscTestClient) ws = NULL;
  g_autoptr (PscMessage) refused = NULL;

  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 10, 20);
  EXPECT_STATUS (f, "POST", "/whep/camera", "application/sdp", offer, 503, "limit");

  /* The other way round: the seat goes to a WHEP session, and a WebSocket viewer is refused. */
  g_clear_pointer (&ws, psc_test_client_free);
  PSC_TEST_WAIT_UNTIL (psc_test_no_webrtcbin, f->stream, 5, "the WebSocket viewer to leave");
  EXPECT_STATUS (f, "POST", "/whep/camera", "application/sdp", offer, 201, NULL);
  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (refused, ws, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (refused->error_code, ==, "too_many_peers");
}

static void
test_whep_not_live (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *refusal = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  gboolean failed = FALSE;
  guint status;

  psc_test_flag_on_stream_offline (f->stream, &failed);
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &failed, 20, "the source to end");
  refusal = psc_test_http_request (f, "POST", "/whep/camera", "application/sdp", offer, NULL,
      NULL, &status, &headers);
  if (refusal == NULL)
    return;
  g_assert_cmpuint (status, ==, 409);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Retry-After"), ==, "5");

  /* And the health check says so. */
  EXPECT_STATUS (f, "GET", "/healthz", NULL, NULL, 503, NULL);
}

/* A second camera is a second stream in the registry, and nothing more: its own room for the
 * page, its own WHEP endpoint, its own entries in the API, /healthz and /metrics; a viewer of
 * one stream attaches to that stream's pipeline only. */
static void
test_second_camera (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws/garden",
      psc_server_get_port (f->server));
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *answer = NULL;
  g_autofree char *body = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (JsonNode) streams = NULL;
  JsonArray *list;
  guint status;

  g_assert_nonnull (f->second_stream);
  PSC_TEST_CONNECT (client, url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  g_assert_cmpuint (psc_test_count_elements (psc_stream_get_pipeline (f->second_stream),
          "webrtcbin"), ==, 1);
  g_assert_cmpuint (psc_test_count_elements (psc_stream_get_pipeline (f->stream),
          "webrtcbin"), ==, 0);

  answer = psc_test_expect_status (f, "POST", "/whep/garden", "application/sdp", offer, NULL, NULL,
      201, NULL, &headers);
  if (answer == NULL)
    return;
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (headers, "Location"),
          "/whep/garden/"));
  g_assert_cmpuint (psc_registry_count_viewers (f->registry), ==, 2);

  body = psc_test_http_get (f, "/api/streams", &status, NULL);
  if (body == NULL)
    return;
  g_assert_cmpuint (status, ==, 200);
  streams = psc_test_parse_json (body);
  list = json_node_get_array (streams);
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0),
          "id"), ==, "camera");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 1),
          "id"), ==, "garden");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
              json_array_get_object_element (list, 0), "viewers")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
              json_array_get_object_element (list, 1), "viewers")), ==, 2);
  g_clear_pointer (&body, g_free);

  body = psc_test_http_get (f, "/healthz", &status, NULL);
  if (body == NULL)
    return;
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (body, "\"garden\""));
  g_clear_pointer (&body, g_free);
  body = psc_test_http_get (f, "/metrics", &status, NULL);
  if (body == NULL)
    return;
  g_assert_nonnull (strstr (body, "periscope_viewers{stream=\"garden\"} 2"));
  g_assert_nonnull (strstr (body, "periscope_viewers{stream=\"camera\"} 0"));
}

/* A viewer that cannot be built (here: no encoder for its codec) is refused with a
 * PSC_VIEWER_ERROR_BUILD, leaves nothing attached, and the stream's viewers play on. */
static void
test_viewer_refused (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscStream) stream = NULL;
  g_autoptr (PscViewer) viewer = NULL;
  g_autoptr (PscSourceChoice) source = NULL;
  g_autoptr (GError) error = NULL;
  PscEncoderChoice h264 = {
    .codec = PSC_CODEC_H264, .factory = (char *) "x264enc", .reason = (char *) "a test",
    .description = (char *) "x264enc tune=zerolatency speed-preset=ultrafast",
  };
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { [PSC_CODEC_H264] = &h264 };
  PscViewerOptions options = { .connect_timeout_s = 20 };
  PscStreamStats stats;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);

  /* An H.264-only stream asked for a VP8 viewer. */
  source = psc_source_select (f->config, &error);
  g_assert_no_error (error);
  stream = psc_stream_new ("h264-only", source, encoders, PSC_CODEC_H264, f->config, &error);
  g_assert_no_error (error);
  viewer = psc_viewer_new (stream, "refused", PSC_CODEC_VP8, &options);
  g_assert_false (psc_viewer_start (viewer, &error));
  g_assert_error (error, PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BUILD);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "vp8"));
  g_assert_cmpint (psc_viewer_get_state (viewer), ==, PSC_VIEWER_CLOSED);
  psc_stream_get_stats (stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 0);
  g_assert_cmpuint (psc_test_count_elements (psc_stream_get_pipeline (stream), "webrtcbin"),
      ==, 0);

  PSC_TEST_WAIT_FRAMES (client, 10, 10);
}

/* Two WHEP viewers joining while the encoder's tee is pushing a frame: the first one's branch
 * holds that frame, and the second one is linked meanwhile. */
typedef struct {
  PscTestFlags flags;
  GThread *main_thread;
  GstElement *branches[2];      /* as added to the pipeline */
  guint n_branches;
  gboolean a_held;              /* the tee's thread waits in the first branch's pad probe */
  gboolean a_release;
  gboolean b_linked;            /* the second branch is linked to its tee pad */
  gboolean b_start_main;        /* the main thread waits in the second branch's probe */
  gboolean b_start_other;       /* the tee's thread does */
  gboolean b_buffer;            /* a frame (buffer or list) reached the second branch */
  gboolean b_before_segment;    /* ... before its segment event */
  gboolean b_release;
} JoinRace;

/* The tee's thread, inside the tee's chain function: holds the first frame (a buffer or a
 * buffer list). */
static GstPadProbeReturn
hold_in_tee (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  JoinRace *race = user_data;

  psc_test_flags_raise (&race->flags, &race->a_held);
  psc_test_flags_wait (&race->flags, &race->a_release, NULL, 30000 * psc_test_time_factor ());
  return GST_PAD_PROBE_REMOVE;
}

/* Whoever pushes the second branch's stream-start, its first sticky event, waits there until
 * released. */
static GstPadProbeReturn
hold_stream_start (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  JoinRace *race = user_data;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_STREAM_START)
    return GST_PAD_PROBE_OK;
  psc_test_flags_raise (&race->flags, g_thread_self () == race->main_thread ?
      &race->b_start_main : &race->b_start_other);
  psc_test_flags_wait (&race->flags, &race->b_release, NULL, 30000 * psc_test_time_factor ());
  return GST_PAD_PROBE_REMOVE;
}

static GstPadProbeReturn
note_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  JoinRace *race = user_data;
  g_autoptr (GstEvent) segment = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);

  /* Checked here, not left to GStreamer's "data flow before segment" warning: the branch
   * has no element that asserts on it (a branch with a payloader of its own had). */
  race->b_before_segment = segment == NULL;

  psc_test_flags_raise (&race->flags, &race->b_buffer);
  return GST_PAD_PROBE_REMOVE;
}

/* Main thread, in psc_stream_attach(): the second branch is linked; what follows is the push of
 * its sticky events. */
static void
on_b_linked (GstPad *pad, GstPad *peer, gpointer user_data)
{
  JoinRace *race = user_data;

  psc_test_flags_raise (&race->flags, &race->b_linked);
}

/* Main thread, in psc_stream_attach(), before the branch is linked. */
static void
on_element_added (GstBin *pipeline, GstElement *element, gpointer user_data)
{
  JoinRace *race = user_data;
  g_autoptr (GstPad) sink = NULL;

  if (!g_str_has_prefix (GST_ELEMENT_NAME (element), "viewer-") || race->n_branches == 2)
    return;
  race->branches[race->n_branches++] = element;
  if (race->n_branches == 1)
    return;
  sink = gst_element_get_static_pad (element, "sink");
  g_signal_connect (sink, "linked", G_CALLBACK (on_b_linked), race);
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, hold_stream_start, race, NULL);
  /* A branch on the shared payloader's tee gets a frame as a buffer list, or a buffer when
   * it fits one packet. */
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      note_buffer, race, NULL);
}

/* Lets the tee go on once the second branch is linked and the main thread is inside its
 * stream-start (or, pushing under the tee's stream lock, cannot get there: 2 s after the
 * link, whatever time building the branch took on a busy machine), then that stream-start
 * once a frame has come or the tee's thread pushes the sticky events itself. */
static gpointer
release_thread (gpointer data)
{
  JoinRace *race = data;

  psc_test_flags_wait (&race->flags, &race->b_linked, NULL, 30000 * psc_test_time_factor ());
  psc_test_flags_wait (&race->flags, &race->b_start_main, NULL, 2000);
  psc_test_flags_raise (&race->flags, &race->a_release);
  psc_test_flags_wait (&race->flags, &race->b_buffer, &race->b_start_other,
      10000 * psc_test_time_factor ());
  psc_test_flags_raise (&race->flags, &race->b_release);
  return NULL;
}

static gboolean
a_is_held (gpointer data)
{
  JoinRace *race = data;
  return psc_test_flags_get (&race->flags, &race->a_held);
}

/* Issue 11: a viewer linked while the tee was pushing a frame to the other branches could get
 * that frame before its segment (two threads on its new tee pad: the main thread sending the
 * sticky events, the tee's thread the frame): "data flow before segment event" (fatal here),
 * then a CRITICAL in its payloader, an abort under the soak. The tee is held in the middle of
 * a frame while the second viewer joins, and the main thread in the new branch's first
 * sticky event. */
static void
test_join_mid_frame (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *zero = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr (GstPad) a_sink = NULL;
  g_autoptr (GstPad) a_tee_pad = NULL;
  g_autoptr (PscTestClient) ws = NULL;
  JoinRace race = { 0 };
  GThread *releaser;
  gulong added, hold;

  /* A page viewer, and a player of the same payload type first: the tee the players share
   * (the payloader's RTP rewritten to their payload type, psc_encoding_request_pad()) then
   * has more than one pad, as in service, and goes through its pads in a loop that takes in
   * a pad added meanwhile (with one pad, tee pushes to it alone, and the frame held would
   * never reach the second branch). */
  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 10, 20);
  zero = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", offer, NULL,
      NULL, 201, NULL, NULL);
  g_assert_nonnull (zero);
  psc_test_flags_init (&race.flags);
  race.main_thread = g_thread_self ();
  added = g_signal_connect (pipeline, "element-added", G_CALLBACK (on_element_added), &race);
  first = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", offer, NULL,
      NULL, 201, NULL, NULL);
  if (first == NULL || race.n_branches != 1) {
    g_signal_handler_disconnect (pipeline, added);
    psc_test_flags_clear (&race.flags);
    g_assert_cmpuint (race.n_branches, ==, 1);
    return;
  }
  a_sink = gst_element_get_static_pad (race.branches[0], "sink");
  a_tee_pad = gst_pad_get_peer (a_sink);
  g_assert_nonnull (a_tee_pad);
  hold = gst_pad_add_probe (a_tee_pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, hold_in_tee, &race, NULL);
  if (!psc_test_iterate_until (a_is_held, &race, 10, "a frame in the tee")) {
    gst_pad_remove_probe (a_tee_pad, hold);
  } else {
    releaser = g_thread_new ("join-release", release_thread, &race);
    second = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", offer,
        NULL, NULL, 201, NULL, NULL);
    g_thread_join (releaser);
    g_assert_true (race.b_buffer || race.b_start_other);
    g_assert_false (race.b_before_segment);
  }
  g_signal_handler_disconnect (pipeline, added);
  psc_test_flags_raise (&race.flags, &race.a_release);
  psc_test_flags_raise (&race.flags, &race.b_release);
  psc_test_flags_clear (&race.flags);
}

int
main (int argc, char **argv)
{
  static const PscTestFixtureData second_camera = { .codec = "h264",
    .connect_timeout_s = 20, .second_stream = "garden" };

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  PSC_TEST_ADD ("/integration/whep/http", &psc_test_h264, test_whep_http);
  PSC_TEST_ADD ("/integration/whep/links", &psc_test_ice_servers, test_whep_links);
  PSC_TEST_ADD ("/integration/whep/limits", &psc_test_one_seat, test_whep_limits);
  PSC_TEST_ADD ("/integration/whep/not-live", &psc_test_short_source, test_whep_not_live);
  PSC_TEST_ADD ("/integration/whep/join-mid-frame", &psc_test_h264, test_join_mid_frame);
  PSC_TEST_ADD ("/integration/registry/second-camera", &second_camera, test_second_camera);
  PSC_TEST_ADD ("/integration/registry/viewer-refused", &psc_test_h264, test_viewer_refused);

  return g_test_run ();
}
