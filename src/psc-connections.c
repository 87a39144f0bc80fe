/* periscope — the HTTP connection policy: timeouts, caps, body limits, a listener that died
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-connections.h"

#include <gst/gst.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "psc-redirect.h"

GST_DEBUG_CATEGORY_STATIC (psc_connections_debug);
#define GST_CAT_DEFAULT psc_connections_debug

/* The most of a refused body read and thrown away after the 413, and for how long: a client
 * still sending when the socket closes gets a reset, which can destroy the 413 in its
 * receive buffer before it reads it (RFC 9112 §9.6, "lingering close"). */
#define LINGER_BYTES (1024 * 1024)
#define LINGER_MS 1000
/* One log line per kind of refusal at most this often: a flood must not flood the log. */
#define LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

struct _PscConnections {
  GObject parent;

  SoupServer *server;           /* not referenced */
  PscConnectionsLimits limits;
  gboolean close_keepalive;
  gboolean release_accepted;    /* drop libsoup's leaked reference to each accepted socket */
  guint https_port;             /* TLS listeners: plain HTTP is redirected to this port */
  GHashTable *connections;      /* GSocket* -> Connection* */
  GHashTable *per_address;      /* address string -> count */
  GArray *body_limits;          /* BodyLimit */
  GPtrArray *listener_watches;  /* GSource* */
  gboolean listener_failed;
  guint64 refused[PSC_CONNECTIONS_REFUSED_COUNT];
  gint64 last_log[PSC_CONNECTIONS_REFUSED_COUNT];
};

G_DEFINE_FINAL_TYPE (PscConnections, psc_connections, G_TYPE_OBJECT)

enum {
  SIGNAL_LISTENER_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  char *prefix;
  gsize max_bytes;
} BodyLimit;

/* One open HTTP connection. */
typedef struct {
  PscConnections *self;
  GSocket *socket;              /* referenced: its address is the key, never reused while here */
  char *address;
  SoupServerMessage *msg;       /* the latest request: its "disconnected" ends the entry */
  guint timer;                  /* armed while a request is awaited, until its body is in */
  gint64 waiting_since;         /* monotonic µs: when the timer was armed */
  gboolean got_headers;         /* the awaited request's headers are in */
  gsize body_limit;
  gsize body_read;
} Connection;

/* A refused body: the 413 written on the stolen stream, the rest read and dropped. */
typedef struct {
  GIOStream *stream;
  GSocket *socket;
  GBytes *response;
  GCancellable *cancellable;
  guint deadline;
  gsize discarded;
  guint8 buffer[4096];
} Refusal;

int
psc_count_open_fds (guint64 *limit)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  struct rlimit rl;
  guint64 soft = getrlimit (RLIMIT_NOFILE, &rl) == 0 ? (guint64) rl.rlim_cur : 0;
  int count = 0;

  if (limit != NULL)
    *limit = soft;
  /* Reading the directory takes a descriptor: with none left, ask each number in turn. */
  if (dir == NULL) {
    if (errno != EMFILE)
      return -1;
    for (guint64 fd = 0; fd < MIN (soft, 1 << 20); fd++)
      if (fcntl ((int) fd, F_GETFD) != -1)
        count++;
    return count;
  }
  while (g_dir_read_name (dir) != NULL)
    count++;
  return count - 1;             /* the directory's own descriptor */
}

void
psc_connections_limits_init (PscConnectionsLimits *limits)
{
  struct rlimit rl;
  guint64 fds = 1024;

  g_return_if_fail (limits != NULL);

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    fds = rl.rlim_cur;
  limits->request_timeout_s = PSC_CONNECTIONS_REQUEST_TIMEOUT_S;
  limits->max_per_address = PSC_CONNECTIONS_MAX_PER_ADDRESS;
  limits->max_total = (guint) CLAMP (fds / 4, 16, 1024);
}

static void
connection_free (gpointer data)
{
  Connection *conn = data;
  guint *count = g_hash_table_lookup (conn->self->per_address, conn->address);

  if (count != NULL && --*count == 0)
    g_hash_table_remove (conn->self->per_address, conn->address);
  g_clear_handle_id (&conn->timer, g_source_remove);
  if (conn->msg != NULL)
    g_signal_handlers_disconnect_by_data (conn->msg, conn);
  g_clear_object (&conn->msg);
  g_clear_object (&conn->socket);
  g_free (conn->address);
  g_free (conn);
}

static void
psc_connections_dispose (GObject *object)
{
  PscConnections *self = PSC_CONNECTIONS (object);

  if (self->server != NULL) {
    g_signal_handlers_disconnect_by_data (self->server, self);
    self->server = NULL;
  }
  if (self->listener_watches != NULL) {
    for (guint i = 0; i < self->listener_watches->len; i++)
      g_source_destroy (g_ptr_array_index (self->listener_watches, i));
    g_ptr_array_set_size (self->listener_watches, 0);
  }
  g_hash_table_remove_all (self->connections);
  G_OBJECT_CLASS (psc_connections_parent_class)->dispose (object);
}

static void
psc_connections_finalize (GObject *object)
{
  PscConnections *self = PSC_CONNECTIONS (object);

  g_hash_table_unref (self->connections);
  g_hash_table_unref (self->per_address);
  for (guint i = 0; i < self->body_limits->len; i++)
    g_free (g_array_index (self->body_limits, BodyLimit, i).prefix);
  g_array_unref (self->body_limits);
  g_ptr_array_unref (self->listener_watches);
  G_OBJECT_CLASS (psc_connections_parent_class)->finalize (object);
}

static void
psc_connections_class_init (PscConnectionsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = psc_connections_dispose;
  object_class->finalize = psc_connections_finalize;

  /**
   * PscConnections::listener-failed:
   * @connections: the policy
   * @error: why: a G_IO_ERROR, with the file descriptors open and the limit in its message
   *
   * A listening socket has connections waiting that the server no longer accepts. Nothing
   * but a restart brings the listener back: the daemon exits with status 69.
   */
  signals[SIGNAL_LISTENER_FAILED] = g_signal_new ("listener-failed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      G_TYPE_ERROR);
}

static void
psc_connections_init (PscConnections *self)
{
  self->connections = g_hash_table_new_full (NULL, NULL, NULL, connection_free);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->body_limits = g_array_new (FALSE, FALSE, sizeof (BodyLimit));
  self->listener_watches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
}

/* Counts a refusal, and says so in the log at most every LOG_INTERVAL_US per kind. */
static void
count_refusal (PscConnections *self, PscConnectionsRefusal why, const char *address,
    const char *reason)
{
  gint64 now = g_get_monotonic_time ();

  self->refused[why]++;
  GST_INFO ("%s: %s", address, reason);
  if (self->last_log[why] == 0 || now - self->last_log[why] >= LOG_INTERVAL_US) {
    self->last_log[why] = now;
    g_message ("periscope: HTTP connection from %s refused: %s (%" G_GUINT64_FORMAT
        " so far)", address, reason, self->refused[why]);
  }
}

static char *
remote_address (GSocket *socket)
{
  g_autoptr (GSocketAddress) address = g_socket_get_remote_address (socket, NULL);

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("unknown");
  return g_inet_address_to_string (g_inet_socket_address_get_address (
          G_INET_SOCKET_ADDRESS (address)));
}

/* Ends a connection libsoup still polls: shut down, never closed, so that libsoup sees the
 * end of the stream and frees the connection itself (closing the descriptor under it would
 * let another socket take its number). */
static void
shut_down (GSocket *socket)
{
  g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

/* The whole HTTP/1.1 response, written by us rather than libsoup, that refuses a request:
 * @status, and @reason (one line) as a plain-text body; the connection closes after it
 * (psc_redirect_raw_response()). */
static GBytes *
refusal_response (guint status, const char *reason)
{
  g_autofree char *body = g_strconcat (reason, "\n", NULL);
  char *response = psc_redirect_raw_response (status, NULL, body, FALSE);

  return g_bytes_new_take (response, strlen (response));
}

/* Answers @status with @reason on a connection whose request libsoup has not read, then
 * shuts it down. The socket is new and its send buffer empty: a short answer fits whole. */
static void
answer_and_shut_down (GSocket *socket, guint status, const char *reason)
{
  g_autoptr (GBytes) response = refusal_response (status, reason);

  g_socket_send_with_blocking (socket, g_bytes_get_data (response, NULL),
      g_bytes_get_size (response), FALSE, NULL, NULL);
  shut_down (socket);
}

static gboolean
on_request_timeout (gpointer user_data)
{
  Connection *conn = user_data;
  g_autofree char *reason = g_strdup_printf ("no complete request within %u s",
      conn->self->limits.request_timeout_s);

  conn->timer = 0;
  count_refusal (conn->self, PSC_CONNECTIONS_REFUSED_TIMEOUT, conn->address, reason);
  shut_down (conn->socket);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (Connection *conn)
{
  g_clear_handle_id (&conn->timer, g_source_remove);
  conn->waiting_since = g_get_monotonic_time ();
  conn->got_headers = FALSE;
  if (conn->self->limits.request_timeout_s > 0)
    conn->timer = g_timeout_add_seconds (conn->self->limits.request_timeout_s,
        on_request_timeout, conn);
}

static gboolean
is_websocket_upgrade (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  return soup_message_headers_header_contains (headers, "Connection", "Upgrade") &&
      soup_message_headers_header_equals (headers, "Upgrade", "websocket");
}

/* WORKAROUND(libsoup 3.2): when the client closes an idle keep-alive connection, libsoup
 * 3.2 never disconnects it (the next message on the connection has no completion callback):
 * its descriptor stays in CLOSE-WAIT for good, one per connection, until the process runs
 * out and the listener goes deaf. Every response but a WebSocket upgrade says
 * `Connection: close`, so libsoup closes the connection once the response is written.
 * Upstream: libsoup commit d20c6601664624116f3dc43f21c7ec4a186cf8d3 ("server: do not leak
 * idle connections closed by the client"), in 3.3.0.
 * Remove when: periscope requires libsoup 3.3 (Debian 12 ships 3.2.3); gated on
 * soup_get_minor_version() < 3 meanwhile. */
static void
close_after_response (PscConnections *self, SoupServerMessage *msg)
{
  if (self->close_keepalive)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Connection", "close");
}

static gsize
body_limit_for (PscConnections *self, const char *path)
{
  gsize best_length = 0;
  gsize limit = PSC_CONNECTIONS_MAX_BODY;

  for (guint i = 0; i < self->body_limits->len; i++) {
    BodyLimit *entry = &g_array_index (self->body_limits, BodyLimit, i);
    gsize length = strlen (entry->prefix);

    if (length >= best_length && g_str_has_prefix (path, entry->prefix) &&
        (path[length] == '\0' || path[length] == '/')) {
      best_length = length;
      limit = entry->max_bytes;
    }
  }
  return limit;
}

static void
refusal_free (Refusal *refusal)
{
  g_clear_handle_id (&refusal->deadline, g_source_remove);
  g_io_stream_close (refusal->stream, NULL, NULL);
  g_object_unref (refusal->stream);
  g_bytes_unref (refusal->response);
  g_object_unref (refusal->cancellable);
  g_free (refusal);
}

static gboolean
on_linger_over (gpointer user_data)
{
  Refusal *refusal = user_data;

  refusal->deadline = 0;
  g_cancellable_cancel (refusal->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_discarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Refusal *refusal = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0 || (refusal->discarded += n) >= LINGER_BYTES) {
    refusal_free (refusal);
    return;
  }
  g_input_stream_read_async (G_INPUT_STREAM (source), refusal->buffer,
      sizeof (refusal->buffer), G_PRIORITY_DEFAULT, refusal->cancellable, on_discarded,
      refusal);
}

static void
on_refusal_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Refusal *refusal = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL)) {
    refusal_free (refusal);
    return;
  }
  /* The 413 and then the end of the stream; what the client still sends is dropped. */
  if (refusal->socket != NULL)
    g_socket_shutdown (refusal->socket, FALSE, TRUE, NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (refusal->stream), refusal->buffer,
      sizeof (refusal->buffer), G_PRIORITY_DEFAULT, refusal->cancellable, on_discarded,
      refusal);
}

/* Refuses @msg's body with 413 before libsoup reads it. libsoup 3.2 reads a request's whole
 * body even when a got-headers handler has set a status, unless the client asked
 * "Expect: 100-continue" (soup-server-message-io-http1.c, io_read()): otherwise the
 * connection is taken from libsoup and answered here. @conn is freed on return. */
static void
refuse_body (PscConnections *self, Connection *conn, SoupServerMessage *msg,
    const char *reason)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  Refusal *refusal;

  count_refusal (self, PSC_CONNECTIONS_REFUSED_BODY, conn->address, reason);
  if (soup_message_headers_get_expectations (request) & SOUP_EXPECTATION_CONTINUE) {
    g_autofree char *body = g_strconcat (reason, "\n", NULL);

    soup_server_message_set_status (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, NULL);
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Connection", "close");
    soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
        body, strlen (body));
    return;
  }

  refusal = g_new0 (Refusal, 1);
  /* Emits "disconnected": @conn is freed here. libsoup's reader returns without touching
   * its state once the message's I/O is gone, as after a WebSocket upgrade. */
  refusal->stream = soup_server_message_steal_connection (msg);
  if (refusal->stream == NULL) {
    g_free (refusal);
    return;
  }
  refusal->socket = g_object_get_data (G_OBJECT (refusal->stream), "GSocket");
  refusal->response = refusal_response (SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, reason);
  refusal->cancellable = g_cancellable_new ();
  refusal->deadline = g_timeout_add (LINGER_MS, on_linger_over, refusal);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (refusal->stream),
      g_bytes_get_data (refusal->response, NULL), g_bytes_get_size (refusal->response),
      G_PRIORITY_DEFAULT, refusal->cancellable, on_refusal_written, refusal);
}

/* The bytes of @headers as sent: "Name: value\r\n" each. */
static gsize
headers_size (SoupMessageHeaders *headers)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;
  gsize size = 0;

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    size += strlen (name) + strlen (value) + 4;
  return size;
}

/* RFC 6585 §5; libsoup 3.2 has no name for it. */
#define REQUEST_HEADER_FIELDS_TOO_LARGE 431

/* Headers over the limit: answered 431 (libsoup then skips the route), and the connection
 * closed after. Returns TRUE if refused. */
static gboolean
refuse_headers (PscConnections *self, Connection *conn, SoupServerMessage *msg)
{
  gsize size = headers_size (soup_server_message_get_request_headers (msg));
  g_autofree char *reason = NULL;
  g_autofree char *body = NULL;

  if (size <= PSC_CONNECTIONS_MAX_HEADERS)
    return FALSE;
  reason = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes of request headers, over the %d "
      "taken", size, PSC_CONNECTIONS_MAX_HEADERS);
  count_refusal (self, PSC_CONNECTIONS_REFUSED_HEADERS, conn->address, reason);
  body = g_strconcat (reason, "\n", NULL);
  soup_server_message_set_status (msg, REQUEST_HEADER_FIELDS_TOO_LARGE,
      "Request Header Fields Too Large");
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
      "close");
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
      strlen (body));
  return TRUE;
}

static void
on_got_headers (SoupServerMessage *msg, gpointer user_data)
{
  Connection *conn = user_data;
  PscConnections *self = conn->self;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  goffset length;

  conn->got_headers = TRUE;

  if (!is_websocket_upgrade (msg))
    close_after_response (self, msg);

  conn->body_limit = body_limit_for (self, path);
  conn->body_read = 0;
  if (refuse_headers (self, conn, msg))
    return;
  if (soup_message_headers_get_encoding (request) != SOUP_ENCODING_CONTENT_LENGTH)
    return;
  length = soup_message_headers_get_content_length (request);
  if (length > 0 && (guint64) length > conn->body_limit) {
    g_autofree char *reason = g_strdup_printf ("a body of %" G_GINT64_FORMAT " bytes is "
        "over the %" G_GSIZE_FORMAT " bytes %s takes", (gint64) length, conn->body_limit,
        path);
    refuse_body (self, conn, msg, reason);
  }
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  Connection *conn = user_data;

  conn->body_read += g_bytes_get_size (chunk);
  if (conn->body_read > conn->body_limit) {
    g_autofree char *reason = g_strdup_printf ("a body over the %" G_GSIZE_FORMAT
        " bytes %s takes", conn->body_limit, g_uri_get_path (soup_server_message_get_uri (msg)));
    refuse_body (conn->self, conn, msg, reason);
  }
}

/* Runs after libsoup's own got-body handler, which ran the route and the WebSocket
 * handshake. */
static void
on_got_body (SoupServerMessage *msg, gpointer user_data)
{
  Connection *conn = user_data;

  g_clear_handle_id (&conn->timer, g_source_remove);
  /* A WebSocket handshake that failed is a plain response. */
  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    close_after_response (conn->self, msg);
}

/* A response written on a keep-alive connection: the next request must start in time. */
static void
on_finished (SoupServerMessage *msg, gpointer user_data)
{
  arm_timer (user_data);
}

static void
on_disconnected (SoupServerMessage *msg, gpointer user_data)
{
  Connection *conn = user_data;

  GST_LOG ("%s: connection closed", conn->address);
  g_hash_table_remove (conn->self->connections, conn->socket);
}

static void
follow_message (Connection *conn, SoupServerMessage *msg)
{
  if (conn->msg != NULL)
    g_signal_handlers_disconnect_by_data (conn->msg, conn);
  g_set_object (&conn->msg, msg);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), conn);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), conn);
  g_signal_connect (msg, "got-body", G_CALLBACK (on_got_body), conn);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), conn);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_disconnected), conn);
  arm_timer (conn);
}

/* The connection that has waited longest for a request whose headers have not come, if its
 * timer is armed: the one a new connection takes the place of when the total cap is full. */
static Connection *
longest_waiting (PscConnections *self)
{
  GHashTableIter iter;
  Connection *conn, *longest = NULL;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    if (conn->timer != 0 && !conn->got_headers &&
        (longest == NULL || conn->waiting_since < longest->waiting_since))
      longest = conn;
  return longest;
}

/* Emitted when a connection is accepted (its first message), and on a keep-alive connection
 * when the next request's first bytes arrive. */
static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  PscConnections *self = user_data;
  GSocket *socket = soup_server_message_get_socket (msg);
  Connection *conn;
  g_autofree char *address = NULL;
  guint *count;

  if (socket == NULL)
    return;
  conn = g_hash_table_lookup (self->connections, socket);
  if (conn != NULL) {
    follow_message (conn, msg);
    return;
  }
  /* WORKAROUND(libsoup 3.2): SoupListener keeps the reference g_socket_accept() gave it, so
   * every connection's GSocket outlives it (its descriptor is closed, the object with its
   * addresses is not: ~340 bytes a connection, measured with valgrind — 60 MB a month at one
   * Prometheus scrape every 15 s). A connection's first request is where periscope first sees
   * the socket, and the connection holds a reference of its own then (its "socket" property),
   * so the leaked one is dropped here, once per socket.
   * Upstream: libsoup commit b545d5f047d01f086c88abddacff9ba519b5afa1 "soup-listener: Plug
   * a leak", in 3.4.0.
   * Remove when: periscope requires libsoup 3.4 (gated on the running version meanwhile). */
  if (self->release_accepted)
    g_object_unref (socket);
  /* Before the TLS handshake, which starts once this returns: a browser given http://box:PORT/
   * for the HTTPS port is sent on, and the connection is libsoup's to close. */
  if (self->https_port != 0 && psc_redirect_answer_plain (socket, self->https_port))
    return;

  address = remote_address (socket);
  count = g_hash_table_lookup (self->per_address, address);
  if (self->limits.max_per_address > 0 && count != NULL &&
      *count >= self->limits.max_per_address) {
    g_autofree char *reason = g_strdup_printf ("%u connections open from this address, the "
        "most allowed", *count);
    count_refusal (self, PSC_CONNECTIONS_REFUSED_ADDRESS_CAP, address, reason);
    answer_and_shut_down (socket, SOUP_STATUS_SERVICE_UNAVAILABLE, reason);
    return;
  }
  /* A full total cap closes the connection that has waited longest without sending a
   * request, rather than refusing the new one: otherwise idle connections from a few
   * addresses (each under the per-address cap) would lock every other client out until
   * their request timeout, again and again. A client that does send its request in time
   * is never the one closed (unless idle on keep-alive, which it may expect). */
  if (self->limits.max_total > 0 &&
      g_hash_table_size (self->connections) >= self->limits.max_total &&
      (conn = longest_waiting (self)) != NULL) {
    g_autofree char *reason = g_strdup_printf ("closed for a new connection: %u connections "
        "open, the most allowed, and this one sent no request for %" G_GINT64_FORMAT " ms",
        g_hash_table_size (self->connections),
        (g_get_monotonic_time () - conn->waiting_since) / 1000);

    count_refusal (self, PSC_CONNECTIONS_REFUSED_EVICTED, conn->address, reason);
    shut_down (conn->socket);
    g_hash_table_remove (self->connections, conn->socket);
  }
  if (self->limits.max_total > 0 &&
      g_hash_table_size (self->connections) >= self->limits.max_total) {
    g_autofree char *reason = g_strdup_printf ("%u connections open, the most allowed",
        g_hash_table_size (self->connections));
    count_refusal (self, PSC_CONNECTIONS_REFUSED_TOTAL_CAP, address, reason);
    answer_and_shut_down (socket, SOUP_STATUS_SERVICE_UNAVAILABLE, reason);
    return;
  }

  if (count == NULL) {
    count = g_new0 (guint, 1);
    g_hash_table_insert (self->per_address, g_strdup (address), count);
  }
  (*count)++;
  conn = g_new0 (Connection, 1);
  conn->self = self;
  conn->socket = g_object_ref (socket);
  conn->address = g_steal_pointer (&address);
  g_hash_table_insert (self->connections, socket, conn);
  GST_LOG ("%s: connection accepted (%u open)", conn->address,
      g_hash_table_size (self->connections));
  follow_message (conn, msg);
}

PscConnections *
psc_connections_new (SoupServer *server, const PscConnectionsLimits *limits)
{
  PscConnections *self;

  g_return_val_if_fail (SOUP_IS_SERVER (server) && limits != NULL, NULL);

  if (psc_connections_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_connections_debug, "psc-connections", 0,
        "periscope HTTP connection policy");

  self = g_object_new (PSC_TYPE_CONNECTIONS, NULL);
  self->server = server;
  self->limits = *limits;
  self->close_keepalive = soup_get_major_version () == 3 && soup_get_minor_version () < 3;
  self->release_accepted = soup_get_major_version () == 3 && soup_get_minor_version () < 4;
  GST_DEBUG ("request timeout %u s, at most %u connections per address and %u in all%s",
      limits->request_timeout_s, limits->max_per_address, limits->max_total,
      self->close_keepalive ? "; no keep-alive (libsoup < 3.3)" : "");
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), self);
  return self;
}

void
psc_connections_set_limits (PscConnections *self, const PscConnectionsLimits *limits)
{
  g_return_if_fail (PSC_IS_CONNECTIONS (self) && limits != NULL);

  self->limits = *limits;
}

void
psc_connections_set_body_limit (PscConnections *self, const char *prefix, gsize max_bytes)
{
  BodyLimit limit = { g_strdup (prefix), max_bytes };

  g_return_if_fail (PSC_IS_CONNECTIONS (self) && prefix != NULL);

  g_array_append_val (self->body_limits, limit);
}

void
psc_connections_redirect_plain (PscConnections *self, guint https_port)
{
  g_return_if_fail (PSC_IS_CONNECTIONS (self) && https_port <= G_MAXUINT16);

  self->https_port = https_port;
}

/* Dispatched only when libsoup's own watch on the socket is gone (it has the higher
 * priority, and sees the same readiness) while a connection waits to be accepted. */
static gboolean
on_listener_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PscConnections *self = user_data;
  g_autoptr (GError) error = NULL;
  guint64 limit;
  int fds;

  if (self->listener_failed)
    return G_SOURCE_REMOVE;
  self->listener_failed = TRUE;
  fds = psc_count_open_fds (&limit);
  g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "the HTTP listener (fd %d) stopped "
      "accepting connections (libsoup gives up after one failed accept); %d file "
      "descriptors open, the limit is %" G_GUINT64_FORMAT, g_socket_get_fd (socket), fds,
      limit);
  GST_ERROR ("%s", error->message);
  g_signal_emit (self, signals[SIGNAL_LISTENER_FAILED], 0, error);
  return G_SOURCE_REMOVE;
}

void
psc_connections_watch_listeners (PscConnections *self)
{
  GSList *listeners;

  g_return_if_fail (PSC_IS_CONNECTIONS (self) && self->server != NULL);

  listeners = soup_server_get_listeners (self->server);
  for (GSList *l = listeners; l != NULL; l = l->next) {
    GSource *source = g_socket_create_source (l->data, G_IO_IN, NULL);

    /* libsoup listens with GSocket's default backlog of 10 and has no setting for it: a
     * burst of more than 10 connections (a page and its viewers reconnecting after a
     * restart, players started together, or a flood of idle connections) then has its
     * SYNs dropped, and each waits for the client's retransmission, 1 s and more
     * (measured: every 11th of 300 connections made in a row waited 1.0 s). listen(2) on a
     * listening socket sets its backlog anew (Linux); GSocket refuses to change a listening
     * socket's, so the call goes to the descriptor. */
    if (listen (g_socket_get_fd (l->data), SOMAXCONN) != 0)
      GST_WARNING ("the accept backlog stays at libsoup's: %s", g_strerror (errno));
    /* A connection is accepted once its first bytes are in (or after the request timeout,
     * rounded up to the kernel's SYN-ACK retransmissions: 21 s for 10): then one byte tells a
     * plain-HTTP client from a TLS one (psc_redirect_answer_plain()). */
    if (self->https_port != 0) {
      int seconds = MAX (self->limits.request_timeout_s, 1);
      if (setsockopt (g_socket_get_fd (l->data), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds,
              sizeof seconds) != 0)
        GST_WARNING ("no TCP_DEFER_ACCEPT: plain HTTP on the HTTPS port may go unanswered: %s",
            g_strerror (errno));
    }

    g_source_set_priority (source, G_PRIORITY_LOW);
    g_source_set_callback (source, G_SOURCE_FUNC (on_listener_ready), self, NULL);
    g_source_attach (source, NULL);
    g_ptr_array_add (self->listener_watches, source);
  }
  g_slist_free (listeners);
}

guint
psc_connections_get_count (PscConnections *self)
{
  g_return_val_if_fail (PSC_IS_CONNECTIONS (self), 0);

  return g_hash_table_size (self->connections);
}

guint64
psc_connections_get_refused (PscConnections *self, PscConnectionsRefusal why)
{
  g_return_val_if_fail (PSC_IS_CONNECTIONS (self) && why < PSC_CONNECTIONS_REFUSED_COUNT, 0);

  return self->refused[why];
}
