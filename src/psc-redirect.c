/* periscope — plain HTTP redirected to HTTPS
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-redirect.h"
#include "psc-origin.h"

#include <gst/gst.h>
#include <string.h>
#include <sys/socket.h>

GST_DEBUG_CATEGORY_STATIC (psc_redirect_debug);
#define GST_CAT_DEFAULT psc_redirect_debug

#define HTTPS_DEFAULT_PORT 443
#define NO_HOST "this port only redirects to HTTPS, and needs a Host header\n"
/* A TLS record of the handshake begins with content type 22 (RFC 8446 §5.1). */
#define TLS_HANDSHAKE_RECORD 0x16
/* The longest Location sent as it was asked for; a longer one is sent to "/". */
#define LOCATION_MAX 2048
/* The most of a plain request's head looked at on the HTTPS port: a browser's GET is under
 * 2 KiB, and the head arrives in the connection's first segment. */
#define PLAIN_HEAD_MAX 8192

/* https://@host[:@https_port]@path[?@query], @path and @query as sent (encoded). */
static char *
https_location (const char *host, guint https_port, const char *path, const char *query)
{
  return g_uri_join (G_URI_FLAGS_ENCODED, "https", NULL, host,
      https_port == HTTPS_DEFAULT_PORT ? -1 : (int) https_port, path, query, NULL);
}

static char *
redirect_body (const char *location)
{
  return g_strdup_printf ("periscope speaks HTTPS here: %s\n", location);
}

static void
on_request (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  guint https_port = GPOINTER_TO_UINT (user_data);
  GUri *uri = soup_server_message_get_uri (msg);
  const char *host = g_uri_get_host (uri);
  g_autofree char *location = NULL;
  g_autofree char *body = NULL;

  /* libsoup builds the URI from Host, or from the listening address without one. */
  if (host == NULL || *host == '\0') {
    soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, NO_HOST,
        strlen (NO_HOST));
    return;
  }
  location = https_location (host, https_port, g_uri_get_path (uri), g_uri_get_query (uri));
  GST_DEBUG ("%s %s -> %s", soup_server_message_get_method (msg), path, location);
  body = redirect_body (location);
  soup_server_message_set_redirect (msg, SOUP_STATUS_PERMANENT_REDIRECT, location);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body, strlen (body));
}

static void
init_debug (void)
{
  if (psc_redirect_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_redirect_debug, "psc-redirect", 0,
        "periscope HTTP to HTTPS redirect");
}

/* The address @socket was reached at, for a request that named no host. */
static char *
local_host (GSocket *socket)
{
  g_autoptr (GSocketAddress) address = g_socket_get_local_address (socket, NULL);

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  return g_inet_address_to_string (g_inet_socket_address_get_address (
          G_INET_SOCKET_ADDRESS (address)));
}

/* @text has no control character, space or byte over 0x7e: it can go in a header as it is. */
static gboolean
is_header_safe (const char *text)
{
  for (const guchar *c = (const guchar *) text; *c != '\0'; c++)
    if (*c <= ' ' || *c >= 0x7f)
      return FALSE;
  return TRUE;
}

char *
psc_redirect_raw_response (guint status, const char *location, const char *body,
    gboolean head_only)
{
  g_autofree char *location_line = location != NULL ?
      g_strdup_printf ("Location: %s\r\n", location) : g_strdup ("");

  g_return_val_if_fail (body != NULL, NULL);

  return g_strdup_printf ("HTTP/1.1 %u %s\r\n%sConnection: close\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s", status,
      soup_status_get_phrase (status), location_line, strlen (body), head_only ? "" : body);
}

char *
psc_redirect_plain_answer (const char *head, gsize length, const char *fallback_host,
    guint https_port, gsize *head_length)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *method = NULL;
  g_autofree char *target = NULL;
  g_autofree char *host = NULL;
  g_autofree char *location = NULL;
  g_autofree char *body = NULL;
  g_autofree char *whole = NULL;
  g_autoptr (GUri) uri = NULL;
  const char *end, *last_line;
  SoupHTTPVersion version;
  guint port, status;

  g_return_val_if_fail (head != NULL && https_port > 0 && https_port <= G_MAXUINT16 &&
      head_length != NULL, NULL);
  init_debug ();

  /* A TLS client, or not an HTTP method. */
  if (length == 0 || !g_ascii_isupper (head[0]))
    return NULL;
  /* The head, or as much of it as came in whole lines: what follows is left unparsed. */
  end = g_strstr_len (head, length, "\r\n\r\n");
  last_line = g_strrstr_len (head, length, "\r\n");
  if (end != NULL)
    *head_length = end - head + 4;
  else
    *head_length = last_line != NULL ? (gsize) (last_line - head + 2) : length;
  whole = g_strndup (head, *head_length);
  if (end == NULL) {
    char *terminated = g_strconcat (whole, "\r\n", NULL);
    g_free (whole);
    whole = terminated;
  }
  headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  /* Not inside SOUP_STATUS_IS_SUCCESSFUL(), which reads its argument twice: the parse would
   * run twice, and what the first one allocated leak (fuzz-redirect found it). */
  status = soup_headers_parse_request (whole, strlen (whole), headers, &method, &target,
      &version);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    g_clear_pointer (&target, g_free);
  /* The port the client named is the one it reached, a port mapped to this one perhaps. */
  host = psc_origin_parse_host (soup_message_headers_get_one (headers, "Host"), &port);
  if (host == NULL && fallback_host != NULL)
    host = g_strdup (fallback_host);
  if (host == NULL)
    return NULL;
  if (port == 0)
    port = https_port;
  /* Origin-form ("/path?query"), or absolute-form ("http://host/path", RFC 9112 §3.2.2),
   * resolved against a base of no consequence: only the path and query are kept. */
  if (target != NULL) {
    g_autoptr (GUri) base = g_uri_build (G_URI_FLAGS_ENCODED, "http", NULL, "localhost", -1,
        "/", NULL, NULL);
    uri = g_uri_parse_relative (base, target, G_URI_FLAGS_ENCODED, NULL);
  }
  if (uri != NULL && g_uri_get_path (uri)[0] == '/')
    location = https_location (host, port, g_uri_get_path (uri), g_uri_get_query (uri));
  if (location == NULL || !is_header_safe (location) || strlen (location) > LOCATION_MAX) {
    g_free (location);
    location = https_location (host, port, "/", NULL);
  }
  if (!is_header_safe (location))
    return NULL;
  body = redirect_body (location);
  GST_INFO ("plain HTTP on the HTTPS port: %s %s -> %s", method ? method : "?",
      target ? target : "?", location);
  return psc_redirect_raw_response (SOUP_STATUS_PERMANENT_REDIRECT, location, body,
      g_strcmp0 (method, "HEAD") == 0);
}

gboolean
psc_redirect_answer_plain (GSocket *socket, guint https_port)
{
  char head[PLAIN_HEAD_MAX];
  g_autofree char *fallback = NULL;
  g_autofree char *response = NULL;
  gsize head_length;
  gssize n;

  g_return_val_if_fail (G_IS_SOCKET (socket) && https_port > 0 && https_port <= G_MAXUINT16,
      FALSE);
  init_debug ();

  /* Nothing yet: the handshake will wait for it. */
  n = recv (g_socket_get_fd (socket), head, sizeof (head), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0 || head[0] == TLS_HANDSHAKE_RECORD)
    return FALSE;
  fallback = local_host (socket);
  response = psc_redirect_plain_answer (head, n, fallback, https_port, &head_length);
  if (response == NULL)
    return FALSE;
  /* What came is taken off the socket (the head, and whatever of a body came with it), so
   * that closing it sends a FIN and not a reset that could destroy the answer before the
   * client reads it (RFC 9112 §9.6). Bytes that come later can still draw a reset: a client
   * that follows a redirect sends its body again to where it points. */
  (void) recv (g_socket_get_fd (socket), head, n, MSG_DONTWAIT);
  g_socket_send_with_blocking (socket, response, strlen (response), FALSE, NULL, NULL);
  g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return TRUE;
}

void
psc_redirect_add_handler (SoupServer *soup, guint https_port)
{
  g_return_if_fail (SOUP_IS_SERVER (soup) && https_port > 0 && https_port <= G_MAXUINT16);

  init_debug ();
  soup_server_add_handler (soup, NULL, on_request, GUINT_TO_POINTER (https_port), NULL);
}
