/* periscope integration tests: safe on a shared network — pages on other origins refused
 * (WebSocket, WHEP, preflights) unless listed, CORS for those listed; nothing secret in
 * public answers: WHEP resources unlisted, credentials redacted, no versions; limits that
 * hold: viewer seats per address, peers per relay room; requests made to names that are not
 * the box's refused (DNS rebinding).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "psc-test-fixture.h"

#define EVIL "http://evil.example"

/* A request with an Origin (and maybe a preflight's Access-Control-Request-Method);
 * returns the body, NULL (the test failed) when no answer came. */
static char *
request_from (PscTestFixture *f, const char *method, const char *path, const char *body,
    const char *origin, gboolean preflight, guint *status, SoupMessageHeaders **headers)
{
  const char *request_headers[] = { "Origin", origin,
    preflight ? "Access-Control-Request-Method" : NULL, "POST", NULL };

  return psc_test_http_request_full (f, method, path, body ? "application/sdp" : NULL, body,
      origin ? request_headers : NULL, status, headers);
}

/* The WHEP session's resource path from a 201's Location. */
static char *
post_offer (PscTestFixture *f, const char *origin, guint expected)
{
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *answer = NULL;
  guint status = 0;

  answer = request_from (f, "POST", "/whep/camera", offer, origin, FALSE, &status, &headers);
  g_assert_cmpuint (status, ==, expected);
  if (answer == NULL || status != SOUP_STATUS_CREATED)
    return NULL;
  return g_strdup (soup_message_headers_get_one (headers, "Location"));
}

static void
test_origin_refused (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *own = g_strdup_printf ("http://127.0.0.1:%u",
      psc_server_get_port (f->server));
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (PscTestClient) ws = NULL;
  g_autofree char *text = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *metrics = NULL;
  guint status = 0;

  /* The page's own origin, a loopback page and a client without Origin: upgraded. */
  g_assert_cmpuint (psc_test_websocket_handshake (f, own, NULL, NULL, NULL), ==,
      SOUP_STATUS_SWITCHING_PROTOCOLS);
  g_assert_cmpuint (psc_test_websocket_handshake (f, "http://localhost:5173", NULL, NULL,
          NULL), ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  g_assert_cmpuint (psc_test_websocket_handshake (f, NULL, NULL, NULL, NULL), ==,
      SOUP_STATUS_SWITCHING_PROTOCOLS);
  /* Another page: refused before it is a peer, and so are its spellings of an origin. */
  g_assert_cmpuint (psc_test_websocket_handshake (f, EVIL, NULL, NULL, NULL), ==,
      SOUP_STATUS_FORBIDDEN);
  g_assert_cmpuint (psc_test_websocket_handshake (f, "null", NULL, NULL, NULL), ==,
      SOUP_STATUS_FORBIDDEN);
  g_assert_cmpuint (psc_test_websocket_handshake (f, "http://127.0.0.1.evil.example", NULL,
          NULL, NULL), ==, SOUP_STATUS_FORBIDDEN);

  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 10, 20);

  /* WHEP: a POST from another page is refused with a reason; a player's (no Origin) is not. */
  text = request_from (f, "POST", "/whep/camera", "v=0\r\n", EVIL, FALSE, &status, &headers);
  g_assert_cmpuint (status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_nonnull (strstr (text, "origin " EVIL " may not"));
  /* One line. */
  g_assert_true (strchr (text, '\n') == text + strlen (text) - 1);
  g_assert_null (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"));
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&headers, soup_message_headers_unref);
  resource = post_offer (f, NULL, SOUP_STATUS_CREATED);
  g_assert_nonnull (resource);
  /* Nor may it end the session, nor preflight for it. */
  text = request_from (f, "DELETE", resource, NULL, EVIL, FALSE, &status, NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_FORBIDDEN);
  g_clear_pointer (&text, g_free);
  text = request_from (f, "OPTIONS", "/whep/camera", NULL, EVIL, TRUE, &status, NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_FORBIDDEN);
  g_clear_pointer (&text, g_free);
  /* Reading the API: answered, without CORS headers, so the browser hides it from the page. */
  text = request_from (f, "GET", "/api/streams", NULL, EVIL, FALSE, &status, &headers);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_null (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"));
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&headers, soup_message_headers_unref);
  /* A loopback page's preflight: allowed, for that origin only. */
  text = request_from (f, "OPTIONS", "/whep/camera", NULL, "http://localhost:5173", TRUE,
      &status, &headers);
  g_assert_cmpuint (status, ==, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"), ==,
      "http://localhost:5173");
  g_assert_nonnull (strstr (soup_message_headers_get_one (headers,
              "Access-Control-Allow-Methods"), "POST"));
  g_clear_pointer (&text, g_free);

  text = psc_test_expect_status (f, "DELETE", resource, NULL, NULL, NULL, NULL, 200, NULL,
      NULL);
  g_assert_cmpuint (psc_server_get_refused_origins (f->server), ==, 6);
  metrics = psc_test_http_get (f, "/metrics", &status, NULL);
  g_assert_nonnull (strstr (metrics, "periscope_http_refused_total{reason=\"origin\"} 6\n"));
}

/* --allow-origin: the listed page may do what the page's own origin does, with CORS. */
static void
test_origin_allowed (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (PscTestClient) ws = NULL;
  g_autofree char *text = NULL;
  g_autofree char *resource = NULL;
  guint status = 0;

  g_assert_cmpuint (psc_test_websocket_handshake (f, EVIL, NULL, NULL, NULL), ==,
      SOUP_STATUS_SWITCHING_PROTOCOLS);
  g_assert_cmpuint (psc_test_websocket_handshake (f, "http://other.example", NULL, NULL, NULL), ==,
      SOUP_STATUS_FORBIDDEN);
  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 10, 20);

  text = request_from (f, "OPTIONS", "/whep/camera", NULL, EVIL, TRUE, &status, &headers);
  g_assert_cmpuint (status, ==, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"), ==,
      EVIL);
  g_assert_nonnull (strstr (soup_message_headers_get_one (headers,
              "Access-Control-Allow-Headers"), "Content-Type"));
  g_assert_true (soup_message_headers_header_contains (headers, "Vary", "Origin"));
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&headers, soup_message_headers_unref);

  resource = post_offer (f, EVIL, SOUP_STATUS_CREATED);
  g_assert_nonnull (resource);
  text = request_from (f, "GET", "/api/streams", NULL, EVIL, FALSE, &status, &headers);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"), ==,
      EVIL);
  g_clear_pointer (&text, g_free);
  text = request_from (f, "DELETE", resource, NULL, EVIL, FALSE, &status, NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (psc_server_get_refused_origins (f->server), ==, 1);
}

/* The API lists a WHEP viewer by a public id; its resource (a capability) is nowhere in it,
 * and the public id is no handle on the session. */
static void
test_whep_resource_private (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) ws = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *streams = NULL;
  g_autofree char *text = NULL;
  g_autofree char *public_path = NULL;
  const char *session;
  const char *public_id = NULL;
  JsonArray *viewers;
  guint status = 0;

  PSC_TEST_CONNECT (ws, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (ws, 10, 20);
  resource = post_offer (f, NULL, SOUP_STATUS_CREATED);
  if (resource == NULL)
    return;
  session = strrchr (resource, '/') + 1;
  g_assert_cmpuint (strlen (session), ==, 32);    /* 128 bits in hex */

  streams = psc_test_http_get (f, "/api/streams/camera", &status, NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_null (strstr (streams, session));
  root = psc_test_parse_json (streams);
  viewers = json_object_get_array_member (json_node_get_object (root), "viewers");
  for (guint i = 0; i < json_array_get_length (viewers); i++) {
    JsonObject *viewer = json_array_get_object_element (viewers, i);
    if (g_str_equal (json_object_get_string_member (viewer, "via"), "whep"))
      public_id = json_object_get_string_member (viewer, "peer_id");
  }
  g_assert_nonnull (public_id);
  g_assert_true (g_str_has_prefix (public_id, "whep-"));

  public_path = g_strdup_printf ("/whep/camera/%s", public_id);
  text = psc_test_expect_status (f, "DELETE", public_path, NULL, NULL, NULL, NULL, 404, NULL,
      NULL);
  g_clear_pointer (&text, g_free);
  text = psc_test_expect_status (f, "DELETE", resource, NULL, NULL, NULL, NULL, 200, NULL,
      NULL);
}

/* The camera's password, in the URL and in a property, is in no answer; no version either. */
static void
test_redacted (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *streams = NULL;
  guint status = 0;

  PSC_TEST_WAIT_UNTIL (psc_test_stream_offline, f->stream, 20, "the camera to be found away");
  streams = psc_test_http_request (f, "GET", "/api/streams", NULL, NULL, NULL, NULL, &status,
      &headers);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_test_message ("%s", streams);
  g_assert_null (strstr (streams, "hunter2"));
  g_assert_nonnull (strstr (streams, "rtsp://admin:***@127.0.0.1:1/"));
  g_assert_nonnull (strstr (streams, "user-pw=***"));
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Server"), ==, "periscope");
}

/* Two seats per address: WebSocket viewers and WHEP sessions share them; the next is told
 * why (WHEP: 429 with Retry-After; WebSocket: too_many_peers) and nobody else notices. */
static void
test_seats_per_address (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) first = NULL;
  g_autoptr (PscTestClient) second = NULL;
  g_autoptr (PscTestClient) third = NULL;
  g_autoptr (PscMessage) refused = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *text = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *metrics = NULL;
  gushort close_code;
  guint status = 0;

  PSC_TEST_CONNECT (first, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (first, 10, 20);
  resource = post_offer (f, NULL, SOUP_STATUS_CREATED);
  if (resource == NULL)
    return;

  text = psc_test_http_request (f, "POST", "/whep/camera", "application/sdp", offer, NULL,
      NULL, &status, &headers);
  g_assert_cmpuint (status, ==, 429);
  g_assert_nonnull (strstr (text, "--max-viewers-per-address"));
  g_assert_null (strstr (text, "127.0.0.1"));
  g_assert_nonnull (soup_message_headers_get_one (headers, "Retry-After"));
  PSC_TEST_CONNECT (second, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (refused, second, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (refused->error_code, ==, "too_many_peers");
  g_assert_nonnull (strstr (refused->error_message, "--max-viewers-per-address"));
  PSC_TEST_WAIT_CLOSED (second, 5, &close_code);
  g_assert_cmpuint (close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  PSC_TEST_WAIT_FRAMES (first, 10, 20);

  /* A seat given back (the WHEP session ended) is free for the next viewer. */
  g_clear_pointer (&text, g_free);
  text = psc_test_expect_status (f, "DELETE", resource, NULL, NULL, NULL, NULL, 200, NULL,
      NULL);
  PSC_TEST_CONNECT (third, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (third, 10, 20);
  metrics = psc_test_http_get (f, "/metrics", &status, NULL);
  g_assert_nonnull (strstr (metrics,
          "periscope_viewers_refused_total{reason=\"address\"} 2\n"));
  /* Who watches from where is nobody's business yet. */
  g_clear_pointer (&text, g_free);
  text = psc_test_http_get (f, "/api/streams/camera/peers", &status, NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (strstr (text, psc_test_client_get_peer_id (third)));
  g_assert_null (strstr (text, "127.0.0.1"));
  g_clear_pointer (&text, g_free);
  text = psc_test_http_get (f, "/api/streams", &status, NULL);
  g_assert_null (strstr (text, "127.0.0.1"));
}

/* A room without a camera takes PSC_SIGNALLING_MAX_ROOM_PEERS peers; the next is refused. */
static void
test_room_full (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) peers = g_ptr_array_new_with_free_func (
      (GDestroyNotify) psc_test_client_free);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws/call",
      psc_server_get_port (f->server));
  g_autoptr (PscTestClient) late = NULL;
  g_autoptr (PscMessage) refused = NULL;
  gushort close_code;

  for (guint i = 0; i < PSC_SIGNALLING_MAX_ROOM_PEERS; i++) {
    PscTestClient *peer = NULL;
    PSC_TEST_CONNECT (peer, url, FALSE);
    g_ptr_array_add (peers, peer);
  }
  PSC_TEST_CONNECT (late, url, FALSE);
  PSC_TEST_WAIT_MESSAGE (refused, late, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (refused->error_code, ==, "too_many_peers");
  g_assert_nonnull (strstr (refused->error_message, "room call is full"));
  PSC_TEST_WAIT_CLOSED (late, 5, &close_code);
}

/* A GET of @path made to @host (NULL: an HTTP/1.0 request without Host) on a raw
 * connection; with @websocket, a WebSocket upgrade from the page's own origin,
 * http://@host. Stores what came back once the server closed the connection in *@answer
 * (NULL if it did not: the test failed). */
static void
raw_get (PscTestFixture *f, const char *path, const char *host, gboolean websocket,
    char **answer)
{
  g_autoptr (PscTestRawClient) client = NULL;
  g_autofree char *request = NULL;
  const char *end;

  *answer = NULL;
  if (host == NULL)
    request = g_strdup_printf ("GET %s HTTP/1.0\r\n\r\n", path);
  else if (websocket)
    request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", path, host, host);
  else
    request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
        path, host);
  client = psc_test_raw_client_new (f, request);
  if (websocket) {
    /* An upgraded connection stays open: wait for the status line instead. */
    PSC_TEST_WAIT_UNTIL (psc_test_raw_client_answered, client, 10, "the answer to an upgrade");
  } else {
    PSC_TEST_WAIT_UNTIL (psc_test_raw_client_closed, client, 10, "the answer to a request");
  }
  *answer = g_strdup (client->received->str);
  /* The head only: after an upgrade come binary WebSocket frames. */
  end = strstr (*answer, "\r\n\r\n");
  g_test_message ("%.*s", (int) (end != NULL ? end - *answer : (ptrdiff_t) strlen (*answer)),
      *answer);
}

/* DNS rebinding: a page on a name the attacker points at the box after it has loaded makes
 * its requests to that name, from its own origin. Every request made to a name that is not
 * the box's is answered 421, the page and the WebSocket upgrade included; addresses,
 * localhost, no Host (HTTP/1.0) and --allow-host's names are served. */
static void
test_host_refused (PscTestFixture *f, gconstpointer data)
{
  const gboolean listed = ((const PscTestFixtureData *) data)->allow_host != NULL;
  guint port = psc_server_get_port (f->server);
  g_autofree char *local = g_strdup_printf ("localhost:%u", port);
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *rebound = g_strdup_printf ("rebind.example:%u", port);
  g_autofree char *spelled = g_strdup_printf ("Rebind.Example.:%u", port);
  const struct {
    const char *path, *host;
    gboolean websocket, foreign;
  } cases[] = {
    { "/healthz", local, FALSE, FALSE },
    { "/api/streams", address, FALSE, FALSE },
    { "/healthz", NULL, FALSE, FALSE },
    { "/", rebound, FALSE, TRUE },
    { "/api/streams", spelled, FALSE, TRUE },
    { "/ws/camera", rebound, TRUE, TRUE },
  };
  g_autofree char *metrics = NULL;
  guint status = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *answer = NULL;

    raw_get (f, cases[i].path, cases[i].host, cases[i].websocket, &answer);
    g_assert_nonnull (answer);
    if (!cases[i].foreign || listed) {
      g_assert_true (g_str_has_prefix (answer, cases[i].websocket ? "HTTP/1.1 101 " :
              cases[i].host == NULL ? "HTTP/1.0 200 " : "HTTP/1.1 200 "));
      continue;
    }
    g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 421 Misdirected Request\r\n"));
    /* Not kept by a cache once --allow-host lets the name in. */
    g_assert_nonnull (strstr (answer, "\r\nCache-Control: no-store\r\n"));
    g_assert_nonnull (strstr (answer, "is not a name of this server: it answers to its "
            "addresses, its host name, localhost and the names given with --allow-host"));
    /* Nothing of the route's: not the page, not the stream list. */
    g_assert_null (strstr (answer, "<html"));
    g_assert_null (strstr (answer, "\"camera\""));
  }
  metrics = psc_test_http_get (f, "/metrics", &status, NULL);
  g_assert_nonnull (strstr (metrics, listed ?
          "periscope_http_refused_total{reason=\"host\"} 0\n" :
          "periscope_http_refused_total{reason=\"host\"} 3\n"));
}

/* Request headers past PSC_CONNECTIONS_MAX_HEADERS: 431, with why; a browser's size passes. */
static void
test_header_size (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *big = g_strnfill (PSC_CONNECTIONS_MAX_HEADERS, 'a');
  g_autofree char *usual = g_strnfill (8 * 1024, 'a');
  g_autofree char *text = NULL;
  guint status = 0;

  text = psc_test_http_request (f, "GET", "/healthz", NULL, NULL, "X-Filler", big, &status,
      NULL);
  g_assert_cmpuint (status, ==, 431);
  g_assert_nonnull (strstr (text, "bytes of request headers"));
  g_clear_pointer (&text, g_free);
  text = psc_test_http_request (f, "GET", "/healthz", NULL, NULL, "X-Filler", usual, &status,
      NULL);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (psc_connections_get_refused (psc_server_get_connections (f->server),
          PSC_CONNECTIONS_REFUSED_HEADERS), ==, 1);
  g_clear_pointer (&text, g_free);
  text = psc_test_http_get (f, "/metrics", &status, NULL);
  g_assert_nonnull (strstr (text, "periscope_http_refused_total{reason=\"headers\"} 1\n"));
}

static const PscTestFixtureData two_seats = {
  .codec = "h264",
  .connect_timeout_s = 20,
  .max_viewers_per_address = 2,
};

static const PscTestFixtureData camera_with_password = {
  .codec = "h264",
  .connect_timeout_s = 20,
  .always_on = TRUE,
  /* Nothing listens on port 1: the stream goes offline at once, with an error to show. */
  .source = "rtspsrc location=rtsp://admin:hunter2@127.0.0.1:1/live user-id=admin "
      "user-pw=hunter2 latency=0 ! rtph264depay ! h264parse ! decodebin",
};

static const PscTestFixtureData allow_evil = {
  .codec = "h264",
  .connect_timeout_s = 20,
  .allow_origin = EVIL,
};

static const PscTestFixtureData allow_rebind = {
  .codec = "h264",
  .connect_timeout_s = 20,
  .allow_host = ".example",
};

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  PSC_TEST_ADD ("/integration/security/origin-refused", &psc_test_h264, test_origin_refused);
  PSC_TEST_ADD ("/integration/security/origin-allowed", &allow_evil, test_origin_allowed);
  PSC_TEST_ADD ("/integration/security/whep-resource-private", &psc_test_h264,
      test_whep_resource_private);
  PSC_TEST_ADD ("/integration/security/redacted", &camera_with_password, test_redacted);
  PSC_TEST_ADD ("/integration/security/seats-per-address", &two_seats, test_seats_per_address);
  PSC_TEST_ADD ("/integration/security/room-full", &psc_test_h264, test_room_full);
  PSC_TEST_ADD ("/integration/security/header-size", &psc_test_h264, test_header_size);
  PSC_TEST_ADD ("/integration/security/host-refused", &psc_test_h264, test_host_refused);
  PSC_TEST_ADD ("/integration/security/host-allowed", &allow_rebind, test_host_refused);
  return g_test_run ();
}
