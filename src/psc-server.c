/* periscope — the one HTTP server: viewer page, WebSocket signalling
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-server.h"
#include "psc-access.h"
#include "psc-api.h"
#include "psc-connections.h"
#include "psc-metrics.h"
#include "psc-origin.h"
#include "psc-protocol.h"
#include "psc-redirect.h"
#include "psc-websocket.h"

#include <gst/gst.h>
#include <interfaces.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (psc_server_debug);
#define GST_CAT_DEFAULT psc_server_debug

#define WEB_RESOURCE_DIR "/org/periscope/web"
/* One log line about refused origins (and one about refused names) at most this often: a
 * page retrying in a loop must not flood the log. */
#define REFUSAL_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)
/* What a trusted page on another origin may send and read (the WHEP draft's headers). */
#define CORS_METHODS "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
#define CORS_REQUEST_HEADERS "Content-Type, If-Match, Authorization"
#define CORS_EXPOSED_HEADERS "Location, ETag, Link, Accept-Post, Retry-After"

struct _PscServer {
  GObject parent;

  SoupServer *soup;
  PscSignalling *signalling;
  PscConnections *connections;
  PscOriginPolicy *origins;
  PscAccess *access;
  guint64 refused_origin;
  gint64 origin_logged_at;
  guint64 refused_host;
  gint64 host_logged_at;
  /* TLS (psc_server_set_tls_certificate()): and the plain-HTTP server redirecting to it. */
  gboolean tls;
  SoupServer *redirect;
  PscConnections *redirect_connections;
};

G_DEFINE_FINAL_TYPE (PscServer, psc_server, G_TYPE_OBJECT)

enum {
  SIGNAL_LISTENER_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
psc_server_finalize (GObject *object)
{
  PscServer *self = PSC_SERVER (object);

  /* Before the listeners close: its watches must not see them go. */
  g_clear_object (&self->connections);
  g_clear_object (&self->redirect_connections);
  if (self->redirect != NULL)
    soup_server_disconnect (self->redirect);
  g_clear_object (&self->redirect);
  g_clear_pointer (&self->access, psc_access_free);
  if (self->soup != NULL) {
    /* Their data is this object; the SoupServer may outlive it by a reference. */
    g_signal_handlers_disconnect_by_data (self->soup, self);
    soup_server_remove_handler (self->soup, "/metrics");
    soup_server_disconnect (self->soup);
  }
  g_clear_object (&self->soup);
  g_clear_object (&self->signalling);
  psc_origin_policy_free (self->origins);
  G_OBJECT_CLASS (psc_server_parent_class)->finalize (object);
}

static void
psc_server_class_init (PscServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psc_server_finalize;

  /**
   * PscServer::listener-failed:
   * @server: the server
   * @error: why (#PscConnections::listener-failed)
   *
   * The server no longer accepts connections and cannot recover: the daemon exits with
   * status 69 so that its supervisor restarts it.
   */
  signals[SIGNAL_LISTENER_FAILED] = g_signal_new ("listener-failed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      G_TYPE_ERROR);
}

static void
psc_server_init (PscServer *self)
{
  self->origins = psc_origin_policy_new (NULL, NULL, NULL);
}

static void
respond_text (SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
      strlen (text));
}

static const char *
content_type (const char *path)
{
  if (g_str_has_suffix (path, ".html"))
    return "text/html; charset=utf-8";
  if (g_str_has_suffix (path, ".js"))
    return "text/javascript; charset=utf-8";
  if (g_str_has_suffix (path, ".css"))
    return "text/css; charset=utf-8";
  if (g_str_has_suffix (path, ".svg"))
    return "image/svg+xml";
  return "application/octet-stream";
}

/* Answers @msg with web/@name (compiled in), or 404. */
static void
respond_resource (SoupServerMessage *msg, const char *name)
{
  g_autofree char *resource = NULL;
  g_autoptr (GBytes) bytes = NULL;
  SoupMessageHeaders *headers;

  /* Resource paths are not file paths, but refuse anything odd outright. */
  if (strstr (name, "..") == NULL && strchr (name + 1, '/') == NULL) {
    resource = g_strconcat (WEB_RESOURCE_DIR, name, NULL);
    bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  }
  if (bytes == NULL) {
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "not found\n");
    return;
  }
  headers = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, content_type (name), SOUP_MEMORY_COPY,
      g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Only GET and HEAD on pages; FALSE (405 answered) for anything else. */
static gboolean
check_page_method (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);

  if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
      "GET, HEAD");
  respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD here\n");
  return FALSE;
}

/* GET /, /viewer.js, /style.css … from the compiled-in web/ folder. */
static void
on_static (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  if (check_page_method (msg))
    respond_resource (msg, g_str_equal (path, "/") ? "/index.html" : path);
}

/* GET /room/{id}: the call page, for a room a peer may join (the page reads the id from its
 * URL); 404 for any other. */
static void
on_room_page (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  PscServer *self = user_data;
  const char *id = g_str_has_prefix (path, "/room/") ? path + strlen ("/room/") : "";

  if (!check_page_method (msg))
    return;
  if (psc_signalling_get_room_kind (self->signalling, id) == NULL) {
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "no such room: make one with POST /api/rooms\n");
    return;
  }
  respond_resource (msg, "/room.html");
}

/* Splits a signalling path into room and peer id. Returns FALSE for an unknown shape. */
static gboolean
parse_signalling_path (const char *path, const char *default_room, char **room, char **peer)
{
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint n = g_strv_length (parts);

  if (n >= 1 && g_str_equal (parts[0], "ws")) {
    if (n == 1 || (n == 2 && parts[1][0] == '\0')) {
      *room = g_strdup (default_room);
      return *room != NULL;
    }
    if (n == 2 || n == 3) {
      *room = g_strdup (parts[1]);
      *peer = n == 3 ? g_strdup (parts[2]) : NULL;
      return TRUE;
    }
  } else if (n == 4 && g_str_equal (parts[0], "webrtc") && g_str_equal (parts[1], "signaling")) {
    *room = g_strdup (parts[2]);
    *peer = g_strdup (parts[3]);
    return TRUE;
  }
  return FALSE;
}

/* What the WebSocket URL's query says (docs/protocol.md, "Joining"): the codecs the page
 * decodes (`codecs=h264,vp8`, split at commas; NULL when the client did not say), the
 * display name (`name`) and whether it wants a chat data channel with the camera
 * (`datachannel=1`). */
typedef struct {
  GStrv codecs;
  char *name;
  gboolean datachannel;
} JoinQuery;

static void
join_query_clear (JoinQuery *join)
{
  g_clear_pointer (&join->codecs, g_strfreev);
  g_clear_pointer (&join->name, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JoinQuery, join_query_clear)

/* FALSE if the query is not valid URL encoding. */
static gboolean
parse_join_query (GUri *uri, JoinQuery *join)
{
  const char *query = g_uri_get_query (uri);
  g_autoptr (GHashTable) params = NULL;
  const char *value;

  if (query == NULL)
    return TRUE;
  params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL);
  if (params == NULL)
    return FALSE;
  value = g_hash_table_lookup (params, "codecs");
  if (value != NULL)
    join->codecs = g_strsplit (value, ",", -1);
  join->name = g_strdup (g_hash_table_lookup (params, "name"));
  join->datachannel = g_strcmp0 (g_hash_table_lookup (params, "datachannel"), "1") == 0;
  return TRUE;
}

static void
on_websocket (SoupServer *soup, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *connection, gpointer user_data)
{
  PscServer *self = user_data;
  g_autofree char *room = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *problem = NULL;
  g_auto (JoinQuery) join = { 0 };

  if (!parse_signalling_path (path, psc_signalling_get_default_room (self->signalling), &room,
          &peer)) {
    /* The path is decoded (%FF is a byte): the refusal is sent as a text frame, which must
     * be UTF-8 (libsoup refuses anything else with a CRITICAL; found by fuzz-http). */
    g_autofree char *shown = g_utf8_make_valid (path, -1);
    problem = g_strdup_printf ("no signalling at %s: use /ws, /ws/{room} or "
        "/ws/{room}/{peer_id}", shown);
  }
  else if (!psc_protocol_id_is_valid (room) || (peer != NULL && !psc_protocol_id_is_valid (peer)))
    problem = g_strdup_printf ("room and peer ids must be 1 to %d characters of "
        "A-Z a-z 0-9 _ . -", PSC_PROTOCOL_MAX_ID_LENGTH);
  else if (!parse_join_query (soup_server_message_get_uri (msg), &join))
    problem = g_strdup ("the query string is not valid URL encoding");

  if (problem != NULL)
    psc_signalling_refuse (self->signalling, connection, PSC_PROTOCOL_ERROR_INVALID_FIELD,
        problem);
  else
    psc_signalling_accept (self->signalling, room, peer, join.name, join.datachannel,
        (const char *const *) join.codecs, soup_server_message_get_remote_host (msg),
        connection);
}

/* ---- Origins: who may open signalling or change state (psc-origin) ---- */

static gboolean
changes_state (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);

  /* A WebSocket is a GET, and the browser lets any page open one (no CORS): the upgrade is
   * what hands out the camera and the TURN credentials. */
  return (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD &&
      method != SOUP_METHOD_OPTIONS) || soup_message_headers_header_equals (
      soup_server_message_get_request_headers (msg), "Upgrade", "websocket");
}

/* Logs a refusal by the origin policy, one line per REFUSAL_LOG_INTERVAL_US at most:
 * "refused METHOD PATH @what (@remedy lets it in; N refused so far)". */
static void
log_refusal (SoupServerMessage *msg, const char *what, const char *remedy, guint64 refused,
    gint64 *logged_at)
{
  gint64 now = g_get_monotonic_time ();
  const char *method = soup_server_message_get_method (msg);
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));

  GST_INFO ("refused %s %s %s", method, path, what);
  if (*logged_at != 0 && now - *logged_at < REFUSAL_LOG_INTERVAL_US)
    return;
  *logged_at = now;
  g_message ("periscope: refused %s %s %s (%s lets it in; %" G_GUINT64_FORMAT
      " refused so far)", method, path, what, remedy, refused);
}

static void
refuse_origin (PscServer *self, SoupServerMessage *msg, const char *origin)
{
  g_autofree char *reason = g_strdup_printf ("origin %s may not use this server: only its own "
      "page's origin, localhost and those given with --allow-origin may\n", origin);
  g_autofree char *what = g_strdup_printf ("from a page on %s", origin);

  self->refused_origin++;
  log_refusal (msg, what, "--allow-origin", self->refused_origin, &self->origin_logged_at);
  respond_text (msg, SOUP_STATUS_FORBIDDEN, reason);
}

/* A request made to a name that is not the server's: 421 Misdirected Request (RFC 9110
 * §15.5.20, "not able to produce a response for the target URI"). The name is quoted as
 * the client sent it, escaped: it is not ours. */
static void
refuse_host (PscServer *self, SoupServerMessage *msg, const char *host)
{
  g_autofree char *escaped = g_strescape (host, NULL);
  g_autofree char *reason = g_strdup_printf ("Host \"%s\" is not a name of this server: it "
      "answers to its addresses, its host name, localhost and the names given with "
      "--allow-host (other names are refused against DNS rebinding)\n", escaped);
  g_autofree char *what = g_strdup_printf ("made to Host \"%s\"", escaped);

  self->refused_host++;
  log_refusal (msg, what, "--allow-host", self->refused_host, &self->host_logged_at);
  respond_text (msg, SOUP_STATUS_MISDIRECTED_REQUEST, reason);
  /* 421 is cacheable by default (RFC 9110 §15.5.20): not once --allow-host lets it in. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Cache-Control", "no-store");
  /* libsoup 3.2 has no reason phrase for 421. */
  soup_server_message_set_status (msg, SOUP_STATUS_MISDIRECTED_REQUEST, "Misdirected Request");
}

/* SoupServer::request-read: after the body, before the route's handler, which libsoup skips
 * once a status is set (soup-server.c, got_body()). One place for every route, WebSocket
 * upgrades included. Refuses a request made to a name that is not the server's (DNS
 * rebinding) and what a foreign page must not do; lets a trusted page on another origin read
 * the answers (CORS), and answers its preflights. */
static void
on_request_read (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  PscServer *self = user_data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  const char *origin = soup_message_headers_get_one (request, "Origin");
  gboolean preflight = origin != NULL &&
      soup_server_message_get_method (msg) == SOUP_METHOD_OPTIONS &&
      soup_message_headers_get_one (request, "Access-Control-Request-Method") != NULL;
  const char *host = soup_message_headers_get_one (request, "Host");
  PscOriginVerdict verdict = psc_origin_policy_check (self->origins, origin,
      g_uri_get_scheme (soup_server_message_get_uri (msg)), host);

  if (!psc_origin_policy_host_is_trusted (self->origins, host)) {
    refuse_host (self, msg, host);
    return;
  }
  if (origin == NULL)
    return;
  /* Answers differ by Origin: a cache must not hand one page's to another. */
  soup_message_headers_append (response, "Vary", "Origin");
  if (verdict == PSC_ORIGIN_FOREIGN) {
    if (preflight || changes_state (msg))
      refuse_origin (self, msg, origin);
    return;
  }
  if (verdict == PSC_ORIGIN_SAME)
    return;
  soup_message_headers_replace (response, "Access-Control-Allow-Origin", origin);
  soup_message_headers_replace (response, "Access-Control-Expose-Headers",
      CORS_EXPOSED_HEADERS);
  if (preflight) {
    soup_message_headers_replace (response, "Access-Control-Allow-Methods", CORS_METHODS);
    soup_message_headers_replace (response, "Access-Control-Allow-Headers",
        CORS_REQUEST_HEADERS);
    soup_message_headers_replace (response, "Access-Control-Max-Age", "86400");
    soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
  }
}

/* PscMetricsFunc: the refusals of the server's policies, its own and its connections'. */
static void
render_refusals (GString *out, gpointer user_data)
{
  static const char *const reasons[PSC_CONNECTIONS_REFUSED_COUNT] = {
    [PSC_CONNECTIONS_REFUSED_ADDRESS_CAP] = "address_cap",
    [PSC_CONNECTIONS_REFUSED_TOTAL_CAP] = "total_cap",
    [PSC_CONNECTIONS_REFUSED_TIMEOUT] = "timeout",
    [PSC_CONNECTIONS_REFUSED_BODY] = "body",
    [PSC_CONNECTIONS_REFUSED_HEADERS] = "headers",
    [PSC_CONNECTIONS_REFUSED_EVICTED] = "evicted",
  };
  PscServer *self = user_data;

  g_string_append (out, "# HELP periscope_http_refused_total Requests and connections refused "
      "by the HTTP server's policy, by reason: a page on a foreign origin (origin), made to a "
      "name that is not the server's (host), over the "
      "connections of an address or in all (address_cap, total_cap), not complete in time "
      "(timeout), a body or headers too large (body, headers), closed without a request to "
      "make room for a new connection (evicted).\n"
      "# TYPE periscope_http_refused_total counter\n");
  g_string_append_printf (out, "periscope_http_refused_total{reason=\"origin\"} %"
      G_GUINT64_FORMAT "\n", self->refused_origin);
  g_string_append_printf (out, "periscope_http_refused_total{reason=\"host\"} %"
      G_GUINT64_FORMAT "\n", self->refused_host);
  for (guint i = 0; i < PSC_CONNECTIONS_REFUSED_COUNT; i++)
    g_string_append_printf (out, "periscope_http_refused_total{reason=\"%s\"} %"
        G_GUINT64_FORMAT "\n", reasons[i], psc_connections_get_refused (self->connections, i));
  psc_access_render_metrics (self->access, out);
}

void
psc_server_set_origin_policy (PscServer *self, PscOriginPolicy *policy)
{
  g_return_if_fail (PSC_IS_SERVER (self) && policy != NULL);

  psc_origin_policy_free (self->origins);
  self->origins = policy;
}

void
psc_server_set_auth (PscServer *self, PscAuth *auth)
{
  g_return_if_fail (PSC_IS_SERVER (self) && auth != NULL);

  psc_access_set_auth (self->access, auth);
}

PscAccess *
psc_server_get_access (PscServer *self)
{
  g_return_val_if_fail (PSC_IS_SERVER (self), NULL);

  return self->access;
}

guint64
psc_server_get_refused_origins (PscServer *self)
{
  g_return_val_if_fail (PSC_IS_SERVER (self), 0);

  return self->refused_origin;
}

static void
on_listener_failed (PscConnections *connections, GError *error, gpointer user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_LISTENER_FAILED], 0, error);
}

PscServer *
psc_server_new (PscRegistry *registry, PscSignalling *signalling, PscWhep *whep)
{
  PscConnectionsLimits limits;
  PscServer *self;

  g_return_val_if_fail (PSC_IS_REGISTRY (registry) && PSC_IS_SIGNALLING (signalling), NULL);

  if (psc_server_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_server_debug, "psc-server", 0, "periscope HTTP server");

  self = g_object_new (PSC_TYPE_SERVER, NULL);
  self->signalling = g_object_ref (signalling);
  /* No version (and no trailing space, which makes libsoup add its own): exact versions
   * tell a visitor which known bugs to try. */
  self->soup = soup_server_new ("server-header", "periscope", NULL);
  psc_connections_limits_init (&limits);
  self->connections = psc_connections_new (self->soup, &limits);
  psc_connections_set_body_limit (self->connections, "/whep", PSC_WHEP_MAX_OFFER);
  psc_connections_set_body_limit (self->connections, "/api/rooms", PSC_API_MAX_BODY);
  g_signal_connect (self->connections, "listener-failed", G_CALLBACK (on_listener_failed), self);
  psc_websocket_add_handler (self->soup, "/ws", PSC_SIGNALLING_MAX_FRAME, on_websocket, self);
  psc_websocket_add_handler (self->soup, "/webrtc/signaling", PSC_SIGNALLING_MAX_FRAME,
      on_websocket, self);
  soup_server_add_handler (self->soup, "/", on_static, self, NULL);
  /* "/room/": libsoup matches handler paths as plain prefixes, and "/room" would take
   * /room.js and /room.css from the static handler. */
  soup_server_add_handler (self->soup, "/room/", on_room_page, self, NULL);
  psc_api_add_handlers (self->soup, registry, signalling, whep);
  psc_metrics_add_handler (self->soup, registry, signalling, whep, render_refusals, self);
  g_signal_connect (self->soup, "request-read", G_CALLBACK (on_request_read), self);
  /* After the origin policy: a foreign page is refused for its origin, before any password
   * is looked at. */
  self->access = psc_access_new (self->soup);
  if (whep != NULL)
    psc_whep_add_handlers (whep, self->soup);
  return self;
}

/* The port of @soup's first listening socket, or 0. */
static guint
listening_port (SoupServer *soup)
{
  GSList *uris = soup_server_get_uris (soup);
  guint port = 0;

  if (uris != NULL)
    port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return port;
}

/* @address NULL: every interface, IPv4 and IPv6. */
static gboolean
listen_on (SoupServer *soup, const char *address, guint port, SoupServerListenOptions options,
    GError **error)
{
  g_autoptr (GSocketAddress) socket_address = NULL;

  if (address == NULL)
    return soup_server_listen_all (soup, port, options, error);
  socket_address = g_inet_socket_address_new_from_string (address, port);
  if (socket_address == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP address: %s",
        address);
    return FALSE;
  }
  return soup_server_listen (soup, socket_address, options, error);
}

gboolean
psc_server_listen (PscServer *self, const char *address, guint port, GError **error)
{
  g_return_val_if_fail (PSC_IS_SERVER (self), FALSE);

  if (!listen_on (self->soup, address, port, self->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error))
    return FALSE;
  if (self->tls)
    psc_connections_redirect_plain (self->connections, psc_server_get_port (self));
  psc_connections_watch_listeners (self->connections);
  return TRUE;
}

void
psc_server_set_tls_certificate (PscServer *self, GTlsCertificate *certificate)
{
  g_return_if_fail (PSC_IS_SERVER (self) && G_IS_TLS_CERTIFICATE (certificate));
  g_return_if_fail (psc_server_get_port (self) == 0);

  g_object_set (self->soup, "tls-certificate", certificate, NULL);
  self->tls = TRUE;
}

gboolean
psc_server_listen_redirect (PscServer *self, const char *address, guint port, GError **error)
{
  PscConnectionsLimits limits;

  g_return_val_if_fail (PSC_IS_SERVER (self) && self->tls && self->redirect == NULL, FALSE);
  g_return_val_if_fail (psc_server_get_port (self) != 0, FALSE);

  self->redirect = soup_server_new ("server-header", "periscope", NULL);
  /* The same limits as the real server's: this port is as reachable as that one. */
  psc_connections_limits_init (&limits);
  self->redirect_connections = psc_connections_new (self->redirect, &limits);
  psc_redirect_add_handler (self->redirect, psc_server_get_port (self));
  if (!listen_on (self->redirect, address, port, 0, error))
    return FALSE;
  psc_connections_watch_listeners (self->redirect_connections);
  return TRUE;
}

guint
psc_server_get_redirect_port (PscServer *self)
{
  g_return_val_if_fail (PSC_IS_SERVER (self), 0);

  return self->redirect != NULL ? listening_port (self->redirect) : 0;
}

PscConnections *
psc_server_get_connections (PscServer *self)
{
  g_return_val_if_fail (PSC_IS_SERVER (self), NULL);

  return self->connections;
}

guint
psc_server_get_port (PscServer *self)
{
  g_return_val_if_fail (PSC_IS_SERVER (self), 0);

  return listening_port (self->soup);
}

gboolean
psc_server_accept_stream (PscServer *self, GIOStream *stream, GSocketAddress *local,
    GSocketAddress *remote, GError **error)
{
  g_return_val_if_fail (PSC_IS_SERVER (self) && G_IS_IO_STREAM (stream) &&
      G_IS_SOCKET_ADDRESS (local) && G_IS_SOCKET_ADDRESS (remote), FALSE);

  return soup_server_accept_iostream (self->soup, stream, local, remote, error);
}

static void
add_url (GStrvBuilder *builder, const char *scheme, const char *host, guint port)
{
  g_autofree char *url = NULL;

  if (strchr (host, ':') != NULL)
    url = g_strdup_printf ("%s://[%s]:%u/", scheme, host, port);
  else
    url = g_strdup_printf ("%s://%s:%u/", scheme, host, port);
  g_strv_builder_add (builder, url);
}

GStrv
psc_server_get_page_urls (PscServer *self, const char *address)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  guint port = psc_server_get_port (self);
  const char *scheme = self->tls ? "https" : "http";

  if (address != NULL && !g_str_equal (address, "0.0.0.0") && !g_str_equal (address, "::")) {
    add_url (builder, scheme, address, port);
  } else {
    GList *ips = nice_interfaces_get_local_ips (FALSE);
    add_url (builder, scheme, "localhost", port);
    for (GList *l = ips; l != NULL; l = l->next)
      add_url (builder, scheme, l->data, port);
    g_list_free_full (ips, g_free);
  }
  return g_strv_builder_end (builder);
}
