/* periscope integration tests: viewers, WHEP sessions and REST requests that end early or
 * badly leave nothing behind and hang nothing — early-reset WebSocket viewers, PATCH floods,
 * stats requests outliving their viewer, a WebSocket peer named like a WHEP session.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <string.h>
#include <gst/webrtc/webrtc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "psc-test-fixture.h"

/* Open file descriptors of this process: the server runs in it. */
static guint
count_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;                 /* the directory's own */
}

typedef enum {
  RESET_AT_CONNECT,             /* the handshake sent, nothing read */
  RESET_AT_UPGRADE,             /* the 101 read: the peer joined, its viewer is starting */
  RESET_AT_OFFER,               /* the offer read: webrtcbin sets it, ICE gathering starts */
  RESET_MID_ICE,                /* a few ms after the offer: gathering under way */
  N_RESETS
} ResetPoint;

/* Reads from @fd, iterating the main context, until @needle is in what came or @timeout_ms
 * passed. */
/* Not strstr: a frame's extended length (RFC 6455 §5.2, 126 to 65535 bytes) can hold a NUL
 * byte, and what follows it must be searched too. */
static gboolean
contains (const GString *got, const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= got->len; i++) {
    if (memcmp (got->str + i, needle, n) == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
read_until (int fd, GString *got, const char *needle, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (g_get_monotonic_time () < end) {
    char buffer[4096];
    ssize_t n = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT);

    if (n > 0)
      g_string_append_len (got, buffer, n);
    if (contains (got, needle))
      return TRUE;
    if (n == 0 || (n < 0 && errno != EAGAIN))
      return FALSE;
    g_main_context_iteration (NULL, FALSE);
    g_usleep (200);
  }
  return FALSE;
}

/* A WebSocket viewer that joins by hand and goes with a TCP reset (SO_LINGER 0) at @point. */
static void
reset_viewer (PscTestFixture *f, ResetPoint point, guint extra_ms)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };
  g_autofree char *request = g_strdup_printf ("GET /ws/%s HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      f->config->stream_id);
  g_autoptr (GString) got = g_string_new (NULL);
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (fd, >=, 0);
  address.sin_port = htons (psc_server_get_port (f->server));
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  g_assert_cmpint (send (fd, request, strlen (request), 0), ==, (ssize_t) strlen (request));
  if (point >= RESET_AT_UPGRADE)
    read_until (fd, got, "\r\n\r\n", 5000);
  if (point >= RESET_AT_OFFER)
    read_until (fd, got, "\"offer\"", 5000);
  if (extra_ms > 0) {
    gint64 end = g_get_monotonic_time () + extra_ms * 1000;
    while (g_get_monotonic_time () < end) {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  }
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger), ==, 0);
  close (fd);
}

typedef struct {
  PscStream *stream;
  guint fds;                    /* at most */
} Settled;

static gboolean
settled (gpointer data)
{
  Settled *s = data;
  GstElement *pipeline = psc_stream_get_pipeline (s->stream);

  return psc_test_count_elements (pipeline, "webrtcbin") == 0 &&
      psc_test_count_elements (pipeline, "nicesrc") == 0 &&
      psc_test_count_elements (pipeline, "dtlssrtpdec") == 0 && count_fds () <= s->fds;
}

/* Issue 11: WebSocket viewers that reset their connection right after connecting leaked
 * their ICE agent (a UDP socket, a TCP listener) when webrtcbin was torn down mid-offer or
 * mid-gathering. 200 of them, at every point of the session's start, leave no branch, no
 * transport and no file descriptor behind. */
static void
test_early_reset (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) warm = NULL;
  Settled s = { f->stream, 0 };
  guint start, end;

  /* One whole session first: the DTLS certificate, the encoder's first start, libsoup's and
   * libnice's one-time set-up are not what is measured. */
  PSC_TEST_CONNECT (warm, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (warm, 10, 20);
  g_clear_pointer (&warm, psc_test_client_free);
  PSC_TEST_WAIT_UNTIL (psc_test_no_webrtcbin, f->stream, 10, "the first viewer to leave");
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  start = count_fds ();

  for (guint i = 0; i < 200; i++) {
    ResetPoint point = i % N_RESETS;
    reset_viewer (f, point, point == RESET_MID_ICE ? (i / N_RESETS) % 20 : 0);
    for (int j = 0; j < 5; j++)
      g_main_context_iteration (NULL, FALSE);
  }
  s.fds = start + 4;
  if (!psc_test_iterate_until (settled, &s, 30, "every early viewer's branch and sockets "
          "to be gone")) {
    g_test_message ("fds %u -> %u; webrtcbin %u, nicesrc %u, dtlssrtpdec %u in the pipeline",
        start, count_fds (),
        psc_test_count_elements (psc_stream_get_pipeline (f->stream), "webrtcbin"),
        psc_test_count_elements (psc_stream_get_pipeline (f->stream), "nicesrc"),
        psc_test_count_elements (psc_stream_get_pipeline (f->stream), "dtlssrtpdec"));
    if (g_getenv ("PSC_TEST_SS") != NULL) {
      g_autofree char *cmd = g_strdup_printf ("ss -tuanp | grep pid=%d,", getpid ());
      g_assert_cmpint (system (cmd), >=, 0);
    }
    return;
  }
  end = count_fds ();
  g_test_message ("fds %u -> %u after 200 early resets", start, end);
  g_assert_cmpuint (psc_registry_count_viewers (f->registry), ==, 0);
}
/* @text with its first line starting with @prefix replaced by @to ("" removes it). */
static char *
replace_line (const char *text, const char *prefix, const char *to)
{
  const char *start = strstr (text, prefix);
  const char *end;

  g_assert_nonnull (start);
  end = strstr (start, "\r\n") + 2;
  return g_strdup_printf ("%.*s%s%s", (int) (start - text), text, to, end);
}

static gboolean
expect (PscTestFixture *f, const char *method, const char *path, const char *type,
    const char *body, guint expected, const char *fragment, SoupMessageHeaders **headers)
{
  g_autofree char *text = psc_test_expect_status (f, method, path, type, body, NULL, NULL,
      expected, fragment, headers);

  if (text == NULL)
    return FALSE;
  /* Our words, never webrtcbin's. */
  g_assert_null (strstr (text, "webrtcbin"));
  return TRUE;
}

#define EXPECT(f, method, path, type, body, expected, fragment) \
  G_STMT_START { \
    if (!expect ((f), (method), (path), (type), (body), (expected), (fragment), NULL)) \
      return; \
  } G_STMT_END

/* Offers webrtcbin would take and fail on (or assert on: a=ssrc:0) are refused at POST with
 * a 400 saying what is wrong; a PATCH over the candidate cap gets 422; /healthz takes GET and
 * HEAD only. G_DEBUG=fatal-criticals (meson's test environment) makes any CRITICAL fatal. */
static void
test_whep_input (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *no_fingerprint = replace_line (offer, "a=fingerprint:", "");
  g_autofree char *no_ufrag = replace_line (offer, "a=ice-ufrag:", "");
  g_autofree char *no_pwd = replace_line (offer, "a=ice-pwd:", "");
  g_autofree char *ssrc0 = replace_line (offer, "a=mid:", "a=ssrc:0 cname:x\r\na=mid:video0\r\n");
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (GString) many = g_string_new (NULL);
  g_autofree char *answer = NULL;
  const char *resource;

  EXPECT (f, "POST", "/whep/camera", "application/sdp", no_fingerprint, 400, "a=fingerprint");
  EXPECT (f, "POST", "/whep/camera", "application/sdp", no_ufrag, 400, "a=ice-ufrag");
  EXPECT (f, "POST", "/whep/camera", "application/sdp", no_pwd, 400, "a=ice-pwd");
  EXPECT (f, "POST", "/whep/camera", "application/sdp", ssrc0, 400, "a=ssrc:0");
  EXPECT (f, "POST", "/whep/camera", "application/sdp", "", 400, "not SDP");
  EXPECT (f, "POST", "/healthz", "text/plain", "x", 405, "GET");
  if (!expect (f, "DELETE", "/healthz", NULL, NULL, 405, NULL, &headers))
    return;
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Allow"), ==, "GET, HEAD");
  g_clear_pointer (&headers, soup_message_headers_unref);
  g_assert_cmpuint (psc_test_count_elements (psc_stream_get_pipeline (f->stream),
          "webrtcbin"), ==, 0);

  answer = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", offer, NULL, NULL,
      201, NULL, &headers);
  if (answer == NULL)
    return;
  resource = soup_message_headers_get_one (headers, "Location");
  g_assert_nonnull (resource);
  for (guint i = 0; i < 51; i++)
    g_string_append_printf (many, "a=candidate:%u 1 UDP 2122252543 127.0.0.1 %u typ host\r\n",
        i, 9 + i);
  /* Over the cap in one request; then 40 + 40 over two. */
  EXPECT (f, "PATCH", resource, "application/trickle-ice-sdpfrag", many->str, 422, "at most 50");
  g_string_truncate (many, strstr (many->str, "a=candidate:40 ") - many->str);
  EXPECT (f, "PATCH", resource, "application/trickle-ice-sdpfrag", many->str, 204, NULL);
  EXPECT (f, "PATCH", resource, "application/trickle-ice-sdpfrag", many->str, 422, "40 taken");
  g_string_set_size (many, 0);
  for (guint i = 0; i < 101; i++)
    g_string_append (many, "a=end-of-candidates\r\n");
  EXPECT (f, "PATCH", resource, "application/trickle-ice-sdpfrag", many->str, 413, "lines");
}

/* A WebSocket peer may take any id, a live WHEP session's public id too: branch names do not
 * collide. */
static void
test_peer_named_like_session (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (PscTestClient) ws = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *url = NULL;
  g_autoptr (GPtrArray) sessions = NULL;

  answer = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", offer, NULL, NULL,
      201, NULL, &headers);
  if (answer == NULL)
    return;
  sessions = psc_whep_list_viewers (f->whep, "camera");
  g_assert_cmpuint (sessions->len, ==, 1);
  url = g_strdup_printf ("%s/%s", f->url,
      psc_viewer_get_peer_id (g_ptr_array_index (sessions, 0)));
  g_test_message ("WebSocket peer at %s", url);
  PSC_TEST_CONNECT (ws, url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 30, 20);
  g_assert_cmpuint (psc_test_count_elements (psc_stream_get_pipeline (f->stream),
          "webrtcbin"), ==, 2);
}

static void
on_stats (PscViewer *viewer, const PscViewerStats *stats, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static gboolean
stats_answered (gpointer data)
{
  return *(guint *) data == 3;
}

/* Statistics asked for right before the viewer stops are answered all the same, and the
 * REST API answers while a viewer is being torn down. */
static void
test_stats_on_stop (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) ws = NULL;
  g_autoptr (GPtrArray) peers = NULL;
  g_autoptr (PscViewer) viewer = NULL;
  g_autofree char *body = NULL;
  guint answered = 0;
  guint status;
  gint64 start;

  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 10, 20);
  peers = psc_signalling_list_peers (f->signalling, f->config->stream_id);
  g_assert_nonnull (peers);
  g_assert_cmpuint (peers->len, ==, 1);
  viewer = g_object_ref (((PscPeerInfo *) g_ptr_array_index (peers, 0))->viewer);
  psc_viewer_get_stats_async (viewer, on_stats, &answered);
  psc_viewer_get_stats_async (viewer, on_stats, &answered);
  psc_viewer_stop (viewer);
  psc_viewer_get_stats_async (viewer, on_stats, &answered);
  g_assert_cmpuint (answered, ==, 0);   /* never inside the call */
  PSC_TEST_WAIT_UNTIL (stats_answered, &answered, PSC_VIEWER_STATS_TIMEOUT_MS / 1000 + 1,
      "every statistics request to be answered");
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (answered, ==, 3);

  /* The client goes as the API asks for its statistics. */
  g_clear_pointer (&ws, psc_test_client_free);
  start = g_get_monotonic_time ();
  body = psc_test_http_get (f, "/api/streams/camera", &status, NULL);
  if (body == NULL)
    return;
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
}

/* The first RTCP packet of a viewer, held on its way into the daemon's srtpdec, and the
 * thread that lets it go while srtpdec is half deactivated. */
typedef struct {
  PscTestFlags flags;
  gboolean held;                /* the packet waits in hold_first_rtcp() */
  gboolean release;             /* ... until this */
  gboolean passed;              /* its push is over: srtpdec's chain has returned */
  gboolean locked;              /* the holder thread has srtpdec's rtcp_src stream lock */
  gboolean window;              /* srtpdec's RTP source pad was deactivated meanwhile */
  GstPad *rtp_src;              /* srtpdec's */
  GstPad *rtcp_src;
  GstPad *inbound;              /* dtlssrtpdec's sink pad */
} RtcpHold;

/* The daemon's receive thread: RTCP (RFC 5761 section 4: second byte 192-223) is what a
 * receive-only client sends once DTLS is done; the first packet is held until released. */
static GstPadProbeReturn
hold_first_rtcp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcpHold *hold = user_data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  guint8 header[2];

  if (gst_buffer_extract (buffer, 0, header, 2) != 2 || header[0] < 128 || header[0] > 191 ||
      header[1] < 192 || header[1] > 223)
    return GST_PAD_PROBE_OK;
  psc_test_flags_raise (&hold->flags, &hold->held);
  psc_test_flags_wait (&hold->flags, &hold->release, NULL, 60000 * psc_test_time_factor ());
  return GST_PAD_PROBE_REMOVE;
}

/* webrtcbin's thread: the probe goes on before DTLS is done, so that it sees the first RTCP
 * packet (a client may send a PLI at once). */
static void
on_deep_element_added (GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  RtcpHold *hold = user_data;
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory == NULL || !g_str_equal (GST_OBJECT_NAME (factory), "dtlssrtpdec"))
    return;
  g_assert_null (hold->inbound);
  hold->inbound = gst_element_get_static_pad (element, "sink");
  gst_pad_add_probe (hold->inbound, GST_PAD_PROBE_TYPE_BUFFER, hold_first_rtcp, hold, NULL);
}

static gboolean
hold_is_held (gpointer data)
{
  RtcpHold *hold = data;
  return psc_test_flags_get (&hold->flags, &hold->held);
}

static gboolean
hold_is_locked (gpointer data)
{
  RtcpHold *hold = data;
  return psc_test_flags_get (&hold->flags, &hold->locked);
}

static GstPadProbeReturn
on_inbound_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcpHold *hold = user_data;

  psc_test_flags_raise (&hold->flags, &hold->passed);
  return GST_PAD_PROBE_REMOVE;
}

/* Holds srtpdec's rtcp_src stream lock: deactivating that pad (post_activate()) waits for it,
 * after rtp_src has been deactivated and its sticky events removed, while the sink pads are
 * still active — the window of the race, held open. The held RTCP packet is let go into it. */
static gpointer
holder_thread (gpointer data)
{
  RtcpHold *hold = data;
  gint64 end = g_get_monotonic_time () + 30 * psc_test_time_factor () * G_USEC_PER_SEC;
  GstEvent *start = NULL;

  GST_PAD_STREAM_LOCK (hold->rtcp_src);
  psc_test_flags_raise (&hold->flags, &hold->locked);
  while (g_get_monotonic_time () < end &&
      (start = gst_pad_get_sticky_event (hold->rtp_src, GST_EVENT_STREAM_START, 0)) != NULL) {
    gst_event_unref (start);
    g_usleep (1000);
  }
  if (start == NULL)
    psc_test_flags_raise (&hold->flags, &hold->window);
  gst_pad_add_probe (hold->inbound, GST_PAD_PROBE_TYPE_IDLE, on_inbound_idle, hold, NULL);
  psc_test_flags_raise (&hold->flags, &hold->release);
  psc_test_flags_wait (&hold->flags, &hold->passed, NULL, 30000 * psc_test_time_factor ());
  GST_PAD_STREAM_UNLOCK (hold->rtcp_src);
  return NULL;
}

/* Issue 11: a viewer's first RTCP packet reaching srtpdec while its webrtcbin goes down made
 * srtpdec ask gst_pad_create_stream_id() for a stream-id, whose assertion on elements with
 * one sink pad is a CRITICAL (an abort here and under the soak's G_DEBUG=fatal-criticals).
 * The race is held open: the packet is let into srtpdec between the deactivation of its RTP
 * and RTCP source pads. */
static void
test_rtcp_at_teardown (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) ws = NULL;
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  RtcpHold hold = { 0 };
  GThread *holder = NULL;
  gulong added;
  gboolean connected;

  psc_test_flags_init (&hold.flags);
  added = g_signal_connect (pipeline, "deep-element-added", G_CALLBACK (on_deep_element_added),
      &hold);
  ws = psc_test_client_new (f->url, TRUE);
  connected = ws != NULL && psc_test_client_wait_frames (ws, 1, 20);
  g_signal_handler_disconnect (pipeline, added);
  if (connected) {
    g_assert_nonnull (hold.inbound);
    hold.rtp_src = psc_test_first_element_pad (pipeline, "srtpdec", "rtp_src");
    hold.rtcp_src = psc_test_first_element_pad (pipeline, "srtpdec", "rtcp_src");
  }
  /* A receiver report comes within a few seconds (RFC 3550 section 6.2), a PLI at once. */
  if (connected &&
      psc_test_iterate_until (hold_is_held, &hold, 20, "the client's first RTCP packet")) {
    holder = g_thread_new ("rtcp-holder", holder_thread, &hold);
    if (psc_test_iterate_until (hold_is_locked, &hold, 10, "the holder thread")) {
      g_clear_pointer (&ws, psc_test_client_free);
      psc_test_iterate_until (psc_test_no_webrtcbin, f->stream, 30, "the viewer to be gone");
    }
  }
  /* On a timeout above: the receive thread goes on, and so does the holder. */
  psc_test_flags_raise (&hold.flags, &hold.release);
  if (holder != NULL) {
    g_thread_join (holder);
    if (!g_test_failed ()) {
      g_assert_true (hold.window);
      g_assert_true (hold.passed);
    }
  }
  g_clear_object (&hold.rtp_src);
  g_clear_object (&hold.rtcp_src);
  g_clear_object (&hold.inbound);
  psc_test_flags_clear (&hold.flags);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  PSC_TEST_ADD ("/integration/teardown/early-reset", &psc_test_h264, test_early_reset);
  PSC_TEST_ADD ("/integration/teardown/whep-input", &psc_test_h264, test_whep_input);
  PSC_TEST_ADD ("/integration/teardown/peer-named-like-session", &psc_test_h264,
      test_peer_named_like_session);
  PSC_TEST_ADD ("/integration/teardown/stats-on-stop", &psc_test_h264, test_stats_on_stop);
  PSC_TEST_ADD ("/integration/teardown/rtcp-at-teardown", &psc_test_h264,
      test_rtcp_at_teardown);
  return g_test_run ();
}
