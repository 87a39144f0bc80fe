/* periscope integration tests: accounts — without a session or a token, the WebSocket, WHEP,
 * the API, snapshots and /metrics are refused (401), the page sends to /login; each role
 * gets exactly what it may (403 beyond); the login page's session cookie, bearer tokens,
 * Basic on /metrics; wrong passwords throttled (429); a session that expires; the login
 * form's password checked off the main thread.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "psc-access.h"
#include "psc-test-fixture.h"

/* "secret1", hashed by `periscope --hash-password` (yescrypt). */
#define HASH "$y$j9T$9/7GG9.Tgpa5kbjMIUs1O0$2P5mYqd5DBUrGVAl/cneBx1m208Tr1vLktjLAPKsw6/"
#define USERS "alice:" HASH ":operator\nbob:" HASH ":viewer\nroot:" HASH ":admin\n"
#define VIEWER_TOKEN "viewertoken0123456789"
#define OPERATOR_TOKEN "operatortoken0123456789"
#define TOKENS "player:" VIEWER_TOKEN ":viewer\nprom:" OPERATOR_TOKEN ":operator\n"
#define SNAPSHOT "/api/streams/camera/snapshot.jpg"

static gint64 clock_now;

static gint64
test_clock (gpointer user_data)
{
  return clock_now;
}

static void
use_accounts (PscTestFixture *f)
{
  PscAuth *auth = psc_auth_new ();

  g_assert_true (psc_auth_add_users (auth, USERS, "users", NULL));
  g_assert_true (psc_auth_add_tokens (auth, TOKENS, "tokens", NULL));
  clock_now = g_get_monotonic_time ();
  psc_auth_set_clock (auth, test_clock, NULL);
  psc_server_set_auth (f->server, auth);
}

/* POST /login; returns the Cookie header to send (`periscope_session=…`), NULL if refused. */
static char *
log_in (PscTestFixture *f, const char *user, const char *password, guint expected)
{
  g_autofree char *form = soup_form_encode ("user", user, "password", password, NULL);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *body = psc_test_expect_status (f, "POST", "/login",
      "application/x-www-form-urlencoded", form, NULL, NULL, expected, NULL, &headers);
  const char *cookie;

  if (body == NULL || expected != SOUP_STATUS_SEE_OTHER)
    return NULL;
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Location"), ==, "/");
  cookie = soup_message_headers_get_one (headers, "Set-Cookie");
  g_assert_nonnull (cookie);
  g_assert_true (g_str_has_prefix (cookie, PSC_ACCESS_COOKIE "="));
  g_assert_nonnull (strstr (cookie, "; HttpOnly"));
  g_assert_nonnull (strstr (cookie, "; SameSite=Strict"));
  /* Plain HTTP: a Secure cookie would never come back. */
  g_assert_null (strstr (cookie, "Secure"));
  g_assert_cmpuint (strcspn (cookie, ";"), ==, strlen (PSC_ACCESS_COOKIE "=") + 32);
  return g_strndup (cookie, strcspn (cookie, ";"));
}

/* @header: @value on GET @path (POST of an offer for /whep/camera) must be answered @expected. */
static void
expect (PscTestFixture *f, const char *path, const char *header, const char *value,
    guint expected, const char *fragment)
{
  gboolean whep = g_str_equal (path, "/whep/camera");
  g_autofree char *offer = whep ? psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS) : NULL;

  g_free (psc_test_expect_status (f, whep ? "POST" : "GET", path,
      whep ? "application/sdp" : NULL, offer, header, value, expected, fragment, NULL));
}

static void
test_refused (PscTestFixture *f, gconstpointer data)
{
  PscAccess *access = psc_server_get_access (f->server);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *text = NULL;
  g_autofree char *metrics = NULL;
  const char *const paths[] = { "/whep/camera", "/api/streams", SNAPSHOT, "/metrics",
    "/viewer.js", "/nothing" };

  use_accounts (f);
  g_assert_cmpuint (psc_test_websocket_handshake (f, NULL, NULL, NULL, NULL), ==,
      SOUP_STATUS_UNAUTHORIZED);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    expect (f, paths[i], NULL, NULL, SOUP_STATUS_UNAUTHORIZED, "this needs a login: log in "
        "at /login, or send Authorization: Bearer TOKEN\n");
  g_assert_cmpuint (psc_access_get_refused (access, PSC_ACCESS_REFUSED_MISSING), ==, 7);

  /* The challenges (RFC 6750 §3, RFC 7617 §2): Bearer, and Basic on /metrics. */
  text = psc_test_expect_status (f, "GET", "/metrics", NULL, NULL, NULL, NULL,
      SOUP_STATUS_UNAUTHORIZED, NULL, &headers);
  g_assert_cmpstr (soup_message_headers_get_list (headers, "WWW-Authenticate"), ==,
      "Bearer realm=\"periscope\", Basic realm=\"periscope\", charset=\"UTF-8\"");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&headers, soup_message_headers_unref);

  /* The page sends a browser to the login page; that page, its style and /healthz are open. */
  text = psc_test_expect_status (f, "GET", "/", NULL, NULL, NULL, NULL, SOUP_STATUS_SEE_OTHER,
      NULL, &headers);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Location"), ==, "/login");
  g_clear_pointer (&text, g_free);
  expect (f, "/login", NULL, NULL, SOUP_STATUS_OK, "<form id=\"login\" method=\"post\"");
  expect (f, "/account.css", NULL, NULL, SOUP_STATUS_OK, NULL);
  expect (f, "/healthz", NULL, NULL, SOUP_STATUS_OK, "\"camera\"");

  /* Wrong credentials of each kind, each with its reason. */
  expect (f, "/api/streams", "Authorization", "Bearer wrongtoken0123456789",
      SOUP_STATUS_UNAUTHORIZED, "this bearer token is not valid\n");
  expect (f, "/api/streams", "Cookie", PSC_ACCESS_COOKIE "=0123456789abcdef0123456789abcdef",
      SOUP_STATUS_UNAUTHORIZED, "your session has ended or expired: log in again at /login\n");
  expect (f, "/api/streams", "Authorization", "Basic YWxpY2U6c2VjcmV0MQ==",
      SOUP_STATUS_UNAUTHORIZED, "only Authorization: Bearer is taken here (and Basic on "
      "/metrics)\n");
  expect (f, "/metrics", "Authorization", "Basic YWxpY2U6c2VjcmV0Mg==",   /* alice:secret2 */
      SOUP_STATUS_UNAUTHORIZED, "wrong user name or password\n");

  metrics = psc_test_expect_status (f, "GET", "/metrics", NULL, NULL, "Authorization",
      "Bearer " OPERATOR_TOKEN, SOUP_STATUS_OK, NULL, NULL);
  g_assert_nonnull (strstr (metrics, "periscope_auth_refused_total{reason=\"missing\"} 9\n"));
  g_assert_nonnull (strstr (metrics, "periscope_auth_refused_total{reason=\"token\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "periscope_auth_refused_total{reason=\"session\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "periscope_auth_refused_total{reason=\"scheme\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "periscope_auth_refused_total{reason=\"password\"} 1\n"));
}

static void
test_roles (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *bob = NULL;
  g_autofree char *alice = NULL;
  g_autofree char *root = NULL;
  SoupWebsocketConnection *watching = NULL;
  g_autofree char *snapshot = NULL;
  guint status = 0;

  use_accounts (f);
  expect (f, "/login", NULL, NULL, SOUP_STATUS_OK, NULL);
  bob = log_in (f, "bob", "secret1", SOUP_STATUS_SEE_OTHER);
  alice = log_in (f, "alice", "secret1", SOUP_STATUS_SEE_OTHER);
  root = log_in (f, "root", "secret1", SOUP_STATUS_SEE_OTHER);
  g_assert_nonnull (bob);

  /* A viewer: the page, its WebSocket, WHEP; not the API, snapshots or metrics. */
  expect (f, "/", "Cookie", bob, SOUP_STATUS_OK, "viewer.js");
  g_assert_cmpuint (psc_test_websocket_handshake (f, NULL, "Cookie", bob, &watching), ==,
      SOUP_STATUS_SWITCHING_PROTOCOLS);
  expect (f, "/whep/camera", "Cookie", bob, SOUP_STATUS_CREATED, NULL);
  expect (f, "/whep/camera", "Authorization", "Bearer " VIEWER_TOKEN, SOUP_STATUS_CREATED, NULL);
  expect (f, "/api/streams", "Cookie", bob, SOUP_STATUS_FORBIDDEN,
      "/api/streams needs the operator role; bob has the viewer role\n");
  expect (f, SNAPSHOT, "Cookie", bob, SOUP_STATUS_FORBIDDEN, NULL);
  expect (f, "/metrics", "Cookie", bob, SOUP_STATUS_FORBIDDEN, NULL);
  expect (f, "/metrics", "Authorization", "Bearer " VIEWER_TOKEN, SOUP_STATUS_FORBIDDEN,
      "/metrics needs the operator role; player has the viewer role\n");
  expect (f, "/metrics", "Authorization", "Basic Ym9iOnNlY3JldDE=", SOUP_STATUS_FORBIDDEN,
      "/metrics needs the operator role; bob has the viewer role\n");   /* bob:secret1 */

  /* An operator, and an admin (the same routes, today): everything, viewers' addresses too. */
  for (guint i = 0; i < 3; i++) {
    const char *header = i == 2 ? "Authorization" : "Cookie";
    const char *value = i == 0 ? alice : i == 1 ? root : "Bearer " OPERATOR_TOKEN;

    expect (f, "/", header, value, SOUP_STATUS_OK, NULL);
    expect (f, "/api/streams", header, value, SOUP_STATUS_OK, "\"camera\"");
    expect (f, "/metrics", header, value, SOUP_STATUS_OK, "periscope_auth_refused_total");
    expect (f, "/api/streams/camera/peers", header, value, SOUP_STATUS_OK,
        "\"address\" : \"127.0.0.1\"");
  }
  /* A JPEG: not through expect(), which logs the body as text. */
  snapshot = psc_test_http_request (f, "GET", SNAPSHOT, NULL, NULL, "Cookie", alice, &status,
      NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_true (snapshot != NULL && (guchar) snapshot[0] == 0xff);
  expect (f, "/metrics", "Authorization", "Basic YWxpY2U6c2VjcmV0MQ==", SOUP_STATUS_OK,
      "periscope_auth_refused_total{reason=\"role\"} 5\n");

  /* Logged out: the cookie is cleared and the session gone. */
  expect (f, "/logout", "Cookie", bob, SOUP_STATUS_SEE_OTHER, NULL);
  expect (f, "/", "Cookie", bob, SOUP_STATUS_SEE_OTHER, NULL);
  g_assert_cmpuint (psc_test_websocket_handshake (f, NULL, "Cookie", bob, NULL), ==,
      SOUP_STATUS_UNAUTHORIZED);
  if (watching != NULL) {
    soup_websocket_connection_close (watching, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref (watching);
  }
}

static void
test_throttled (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *text = NULL;
  g_autofree char *cookie = NULL;
  g_autofree char *form = soup_form_encode ("user", "alice", "password", "secret1", NULL);

  use_accounts (f);
  for (guint i = 0; i < PSC_AUTH_MAX_FAILURES; i++) {
    g_free (log_in (f, "alice", "guess", SOUP_STATUS_UNAUTHORIZED));
  }
  /* Now even the right password is not looked at, until the minute is over. */
  text = psc_test_expect_status (f, "POST", "/login", "application/x-www-form-urlencoded",
      form, NULL, NULL, 429, "Too many failed logins from this address: try again in 60 s.",
      &headers);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Retry-After"), ==, "60");
  expect (f, "/metrics", "Authorization", "Basic YWxpY2U6c2VjcmV0MQ==", 429,
      "too many failed logins from this address: try again in 60 s\n");
  expect (f, "/api/streams", "Authorization", "Bearer " OPERATOR_TOKEN, 429, NULL);
  clock_now += PSC_AUTH_FAILURE_WINDOW_US;
  cookie = log_in (f, "alice", "secret1", SOUP_STATUS_SEE_OTHER);
  expect (f, "/metrics", "Cookie", cookie, SOUP_STATUS_OK,
      "periscope_auth_refused_total{reason=\"throttled\"} 3\n");
}

static void
test_session_expires (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *cookie = NULL;

  use_accounts (f);
  cookie = log_in (f, "bob", "secret1", SOUP_STATUS_SEE_OTHER);
  clock_now += PSC_AUTH_SESSION_IDLE_US - G_USEC_PER_SEC;
  expect (f, "/viewer.js", "Cookie", cookie, SOUP_STATUS_OK, NULL);
  clock_now += PSC_AUTH_SESSION_IDLE_US - G_USEC_PER_SEC;
  expect (f, "/viewer.js", "Cookie", cookie, SOUP_STATUS_OK, NULL);
  clock_now += PSC_AUTH_SESSION_IDLE_US;
  expect (f, "/viewer.js", "Cookie", cookie, SOUP_STATUS_UNAUTHORIZED,
      "your session has ended or expired");
  g_assert_cmpuint (psc_test_websocket_handshake (f, NULL, "Cookie", cookie, NULL), ==,
      SOUP_STATUS_UNAUTHORIZED);
}

/* Without accounts, everything is open as before, and /login leads to the page. */
static void
test_no_accounts (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpuint (psc_test_websocket_handshake (f, NULL, NULL, NULL, NULL), ==,
      SOUP_STATUS_SWITCHING_PROTOCOLS);
  expect (f, "/", NULL, NULL, SOUP_STATUS_OK, NULL);
  expect (f, "/api/streams", NULL, NULL, SOUP_STATUS_OK, NULL);
  expect (f, "/metrics", NULL, NULL, SOUP_STATUS_OK, NULL);
  text = psc_test_expect_status (f, "GET", "/login", NULL, NULL, NULL, NULL,
      SOUP_STATUS_SEE_OTHER, NULL, &headers);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Location"), ==, "/");
}

static gboolean
most_password_checks (gpointer data)
{
  return psc_access_get_password_checks (data) == PSC_ACCESS_MAX_PASSWORD_CHECKS;
}

static gboolean
no_password_checks (gpointer data)
{
  return psc_access_get_password_checks (data) == 0;
}

/* A login's crypt() runs on a worker thread, the login paused meanwhile: a request that comes
 * while passwords are being checked (yescrypt at cost 7, the highest a users file may have:
 * ~0.35 s each on the CI machine) is answered before any login, which are answered after.
 * Checked on the main thread, as before, the logins came first. One check at a time per
 * address (a second login from it: 429 at once, so that the throttle's count holds), and at
 * most PSC_ACCESS_MAX_PASSWORD_CHECKS in all (503 at once); a client that hangs up while its
 * password is checked does no harm. Each login from its own address, 127.0.1.N. */
static void
test_login_off_main_thread (PscTestFixture *f, gconstpointer data)
{
  PscAuth *auth = psc_auth_new ();
  PscAccess *access = psc_server_get_access (f->server);
  const char *form = "user=slow&password=secret1";
  g_autofree char *login = g_strdup_printf ("POST /login HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n%s", strlen (form), form);
  PscTestRawClient *clients[PSC_ACCESS_MAX_PASSWORD_CHECKS];
  g_autoptr (PscTestRawClient) health = NULL;
  g_autoptr (PscTestRawClient) busy = NULL;
  g_autoptr (PscTestRawClient) again = NULL;
  const guint dropped = PSC_ACCESS_MAX_PASSWORD_CHECKS - 1;

  /* "secret1" at yescrypt cost 7. */
  g_assert_true (psc_auth_add_users (auth, "slow:$y$jBT$AKP8pqxjdnzZFhxOXoYFh/$NB.YoGrVgI8Rqt94"
          "3DdA5MvUBe6HssL7Ya0.rtzKw8.:viewer\n", "users", NULL));
  psc_server_set_auth (f->server, auth);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++) {
    g_autofree char *source = g_strdup_printf ("127.0.1.%u", i + 1);
    clients[i] = psc_test_raw_client_new_from (f, source, login);
  }
  PSC_TEST_WAIT_UNTIL (most_password_checks, access, 10, "the most passwords being checked");
  /* The same address again, and a new one past the most. */
  again = psc_test_raw_client_new_from (f, "127.0.1.1", login);
  busy = psc_test_raw_client_new_from (f, "127.0.1.100", login);
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_answered, again, 10, "the second login answered");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_answered, busy, 10, "the login past the most answered");
  g_assert_true (g_str_has_prefix (again->received->str, "HTTP/1.1 429 "));
  g_assert_nonnull (strstr (again->received->str, "A login from this address is being checked"));
  g_assert_true (g_str_has_prefix (busy->received->str, "HTTP/1.1 503 "));
  g_assert_nonnull (strstr (busy->received->str, "\r\nRetry-After: 1\r\n"));
  g_clear_pointer (&clients[dropped], psc_test_raw_client_free);
  health = psc_test_raw_client_new (f, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
      "Connection: close\r\n\r\n");
  PSC_TEST_WAIT_UNTIL (psc_test_raw_client_answered, health, 10, "/healthz answered");
  g_assert_true (g_str_has_prefix (health->received->str, "HTTP/1.1 200 "));
  for (guint i = 0; i < dropped; i++)
    g_assert_false (psc_test_raw_client_answered (clients[i]));
  g_assert_cmpuint (psc_access_get_password_checks (access), ==, PSC_ACCESS_MAX_PASSWORD_CHECKS);
  for (guint i = 0; i < dropped; i++) {
    PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, clients[i], 20, "a login answered");
    g_assert_true (g_str_has_prefix (clients[i]->received->str, "HTTP/1.1 303 "));
    g_assert_nonnull (strstr (clients[i]->received->str,
            "\r\nSet-Cookie: " PSC_ACCESS_COOKIE "="));
  }
  PSC_TEST_WAIT_UNTIL (no_password_checks, access, 20, "every check done");
  for (guint i = 0; i < dropped; i++)
    psc_test_raw_client_free (clients[i]);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  PSC_TEST_ADD ("/integration/auth/refused", &psc_test_h264, test_refused);
  PSC_TEST_ADD ("/integration/auth/roles", &psc_test_h264, test_roles);
  PSC_TEST_ADD ("/integration/auth/throttled", &psc_test_h264, test_throttled);
  PSC_TEST_ADD ("/integration/auth/session-expires", &psc_test_h264, test_session_expires);
  PSC_TEST_ADD ("/integration/auth/no-accounts", &psc_test_h264, test_no_accounts);
  PSC_TEST_ADD ("/integration/auth/login-off-main-thread", &psc_test_h264,
      test_login_off_main_thread);
  return g_test_run ();
}
