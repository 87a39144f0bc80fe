/* periscope integration tests: HTTPS with a self-signed certificate — the certificate a
 * client sees, signalling and media over wss:, plain HTTP redirected, plain HTTP on the
 * HTTPS port refused.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-test-fixture.h"
#include "psc-tls.h"

#include <string.h>

static const PscTestFixtureData tls = { .codec = "h264", .connect_timeout_s = 20, .tls = TRUE };

typedef struct {
  gboolean done;
  GBytes *body;
  GError *error;
} Answer;

static void
on_sent (GObject *session, GAsyncResult *result, gpointer user_data)
{
  Answer *answer = user_data;

  answer->body = soup_session_send_and_read_finish (SOUP_SESSION (session), result,
      &answer->error);
  answer->done = TRUE;
}

static gboolean
answered (gpointer data)
{
  return ((Answer *) data)->done;
}

/* Sends @msg on a new session and waits; @msg holds the answer. */
static gboolean
send_message (SoupMessage *msg, Answer *answer)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *what = g_uri_to_string (soup_message_get_uri (msg));

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, cancellable, on_sent,
      answer);
  if (!psc_test_iterate_until (answered, answer, 10, what)) {
    g_cancellable_cancel (cancellable);
    while (!answer->done)
      g_main_context_iteration (NULL, TRUE);
    return FALSE;
  }
  return TRUE;
}

static void
answer_clear (Answer *answer)
{
  g_clear_pointer (&answer->body, g_bytes_unref);
  g_clear_error (&answer->error);
  answer->done = FALSE;
}

/* @method @scheme://127.0.0.1:@port@path */
static SoupMessage *
message_to (const char *method, const char *scheme, guint port, const char *path)
{
  g_autofree char *url = g_strdup_printf ("%s://127.0.0.1:%u%s", scheme, port, path);

  return soup_message_new (method, url);
}

/* @msg was answered 200 over TLS, with the certificate verified and the test's own. */
static void
expect_our_certificate (PscTestFixture *f, SoupMessage *msg, Answer *answer)
{
  GTlsCertificate *peer = soup_message_get_tls_peer_certificate (msg);

  g_assert_no_error (answer->error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  g_assert_cmpuint (soup_message_get_tls_peer_certificate_errors (msg), ==, 0);
  g_assert_nonnull (peer);
  g_assert_true (g_tls_certificate_is_same (peer, f->certificate));
}

/* An HTTPS GET from a client that trusts the test's certificate (the default database):
 * verified, and the certificate is the one periscope was given. */
static void
test_https_get (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (SoupMessage) msg = message_to ("GET", "https", psc_server_get_port (f->server),
      "/healthz");
  Answer answer = { 0 };

  if (!send_message (msg, &answer))
    return;
  expect_our_certificate (f, msg, &answer);
  answer_clear (&answer);
}

/* A client that does not trust it (the system's CAs only) gets no answer at all. */
static void
test_untrusted (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (SoupMessage) msg = message_to ("GET", "https", psc_server_get_port (f->server),
      "/healthz");
  Answer answer = { 0 };

  g_tls_backend_set_default_database (g_tls_backend_get_default (), NULL);
  if (!send_message (msg, &answer))
    return;
  g_assert_error (answer.error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  answer_clear (&answer);
}

static gboolean
fds_back (gpointer data)
{
  return psc_count_open_fds (NULL) <= GPOINTER_TO_INT (data);
}

/* Plain HTTP to the HTTPS port (a browser given http://box:PORT/): answered 308 to the same
 * path and query over https: on that port, and a client that follows it is served over TLS.
 * Without a Host (HTTP/1.0), the address it connected to stands in; a head cut short (its
 * last line not yet sent) is answered from what came, to the port its Host names. Nothing
 * of them stays open. */
static void
test_plain_on_tls_port (PscTestFixture *f, gconstpointer data)
{
  guint port = psc_server_get_port (f->server);
  g_autofree char *expected = g_strdup_printf ("https://127.0.0.1:%u/healthz?verbose=1", port);
  g_autoptr (SoupMessage) msg = message_to ("GET", "http", port, "/healthz?verbose=1");
  g_autoptr (SoupMessage) followed = message_to ("GET", "http", port, "/healthz");
  g_autoptr (PscTestRawClient) bare = NULL;
  g_autoptr (PscTestRawClient) cut = NULL;
  Answer answer = { 0 };
  const char *const requests[] = {
    "GET /page.html?a=b HTTP/1.0\r\n\r\n",
    "POST /whep/camera HTTP/1.1\r\nHost: camera-box:1234\r\nContent-Ty",
  };
  const char *const locations[] = { "/page.html?a=b", "/whep/camera" };
  int fds = psc_count_open_fds (NULL);

  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (!send_message (msg, &answer))
    return;
  g_assert_no_error (answer.error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_PERMANENT_REDIRECT);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (msg),
          "Location"), ==, expected);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (answer.body, NULL),
          g_bytes_get_size (answer.body), "periscope speaks HTTPS here"));
  answer_clear (&answer);

  /* Followed, as a browser does: served over TLS, the certificate checked. */
  if (!send_message (followed, &answer))
    return;
  expect_our_certificate (f, followed, &answer);
  answer_clear (&answer);

  bare = psc_test_raw_client_new (f, requests[0]);
  cut = psc_test_raw_client_new (f, requests[1]);
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, bare, 5, "the answer without a Host");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, cut, 5, "the answer to a head cut short");
  for (guint i = 0; i < G_N_ELEMENTS (requests); i++) {
    PscTestRawClient *client = i == 0 ? bare : cut;
    /* With a port in Host, that one: the port the client reached (a NAT's, mapped to this). */
    g_autofree char *line = i == 0 ?
        g_strdup_printf ("Location: https://127.0.0.1:%u%s\r\n", port, locations[i]) :
        g_strdup_printf ("Location: https://camera-box:1234%s\r\n", locations[i]);

    g_test_message ("%s", client->received->str);
    g_assert_true (g_str_has_prefix (client->received->str, "HTTP/1.1 308 "));
    g_assert_nonnull (strstr (client->received->str, line));
  }
  g_clear_pointer (&bare, psc_test_raw_client_free);
  g_clear_pointer (&cut, psc_test_raw_client_free);
  PSC_TEST_WAIT_UNTIL (fds_back, GINT_TO_POINTER (fds), 5, "the plain connections to be closed");
}

/* The webrtcbin test client signals over wss: and decodes frames. */
static void
test_wss (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;

  g_assert_true (g_str_has_prefix (f->url, "wss://"));
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 30);
}

static void
test_redirect (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (SoupMessage) followed = NULL;
  Answer answer = { 0 };
  guint port;

  g_assert_true (psc_server_listen_redirect (f->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  port = psc_server_get_redirect_port (f->server);
  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpuint (port, !=, psc_server_get_port (f->server));

  expected = g_strdup_printf ("https://127.0.0.1:%u/api/streams?view=1",
      psc_server_get_port (f->server));
  /* A POST: 308 keeps the method (a WHEP offer sent to http: is sent on as it was). */
  msg = message_to ("POST", "http", port, "/api/streams?view=1");
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (!send_message (msg, &answer))
    return;
  g_assert_no_error (answer.error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_PERMANENT_REDIRECT);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (msg),
          "Location"), ==, expected);
  answer_clear (&answer);

  /* Where it points is the HTTPS server, the certificate checked. */
  followed = soup_message_new ("GET", expected);
  if (!send_message (followed, &answer))
    return;
  expect_our_certificate (f, followed, &answer);
  answer_clear (&answer);
}

/* The page URLs printed at start-up say https:. */
static void
test_page_urls (PscTestFixture *f, gconstpointer data)
{
  g_auto (GStrv) urls = psc_server_get_page_urls (f->server, "127.0.0.1");
  g_autofree char *expected = g_strdup_printf ("https://127.0.0.1:%u/",
      psc_server_get_port (f->server));

  g_assert_cmpstr (urls[0], ==, expected);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  PSC_TEST_ADD ("/integration/tls/https-get", &tls, test_https_get);
  PSC_TEST_ADD ("/integration/tls/untrusted", &tls, test_untrusted);
  PSC_TEST_ADD ("/integration/tls/plain-on-tls-port", &tls, test_plain_on_tls_port);
  PSC_TEST_ADD ("/integration/tls/wss", &tls, test_wss);
  PSC_TEST_ADD ("/integration/tls/redirect", &tls, test_redirect);
  PSC_TEST_ADD ("/integration/tls/page-urls", &tls, test_page_urls);
  return g_test_run ();
}
