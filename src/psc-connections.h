/* periscope — the HTTP connection policy: timeouts, caps, body limits, a listener that died
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

/**
 * SECTION:psc-connections
 * @title: psc-connections
 * @short_description: the HTTP connection policy: timeouts, caps, body limits, a listener that died
 *
 * What the HTTP server lets one client, or all of them, hold: a request timeout against
 * slowloris, connection caps per address and in total, request bodies refused from their
 * headers, `Connection: close` below libsoup 3.3 (its keep-alive fd leak), and a watch that
 * notices when libsoup's listener stops accepting for good. Attached to the one #SoupServer by
 * #PscServer; main context only.
 */

G_BEGIN_DECLS

/**
 * PSC_CONNECTIONS_REQUEST_TIMEOUT_S:
 *
 * Seconds a client has to send a request's headers and body (and, between requests on a
 * keep-alive connection, to start the next one) before its connection is shut down.
 */
#define PSC_CONNECTIONS_REQUEST_TIMEOUT_S 10

/**
 * PSC_CONNECTIONS_MAX_PER_ADDRESS:
 *
 * Open HTTP connections one remote address may hold by default. A browser opens about 6;
 * the benchmark opens its viewers' WebSocket handshakes together, up to ~50.
 */
#define PSC_CONNECTIONS_MAX_PER_ADDRESS 64

/**
 * PSC_CONNECTIONS_MAX_HEADERS:
 *
 * Bytes of request headers accepted (names and values, with their separators), answered
 * `431` beyond. A browser sends about 1 KiB; nginx's default buffers take 8 KiB a line.
 * (libsoup 3.2 itself drops a connection, without an answer, past 64 KiB.)
 */
#define PSC_CONNECTIONS_MAX_HEADERS (16 * 1024)

/**
 * PSC_CONNECTIONS_MAX_BODY:
 *
 * Request body accepted, in bytes, on a route without a limit of its own.
 */
#define PSC_CONNECTIONS_MAX_BODY 4096

/**
 * PscConnectionsLimits:
 * @request_timeout_s: seconds for a request's headers and body; 0: no timeout
 * @max_per_address: open connections per remote IP address; 0: no cap
 * @max_total: open connections in all; 0: no cap
 *
 * WebSocket connections count while their handshake is read; once upgraded they leave the
 * HTTP server and these limits (signalling has its own).
 */
typedef struct {
  guint request_timeout_s;
  guint max_per_address;
  guint max_total;
} PscConnectionsLimits;

/**
 * psc_connections_limits_init:
 * @limits: (out): the defaults
 *
 * #PSC_CONNECTIONS_REQUEST_TIMEOUT_S, #PSC_CONNECTIONS_MAX_PER_ADDRESS, and in total a
 * quarter of the process's soft file-descriptor limit (RLIMIT_NOFILE) at the time of the
 * call, at most 1024: the rest is for the viewers' sockets.
 */
void          psc_connections_limits_init (PscConnectionsLimits *limits);

/**
 * PscConnectionsRefusal:
 * @PSC_CONNECTIONS_REFUSED_ADDRESS_CAP: a connection over the per-address cap (503)
 * @PSC_CONNECTIONS_REFUSED_TOTAL_CAP: a connection over the total cap (503)
 * @PSC_CONNECTIONS_REFUSED_TIMEOUT: a request not complete within the timeout (closed)
 * @PSC_CONNECTIONS_REFUSED_BODY: a body over its route's limit (413)
 * @PSC_CONNECTIONS_REFUSED_HEADERS: request headers over #PSC_CONNECTIONS_MAX_HEADERS (431)
 * @PSC_CONNECTIONS_REFUSED_EVICTED: a connection still waiting for its request's headers,
 *   closed to make room for a new one when the total cap was full
 * @PSC_CONNECTIONS_REFUSED_COUNT: the number of reasons above, not a reason
 *
 * Why a connection was refused or cut off; psc_connections_get_refused() counts them.
 */
typedef enum {
  PSC_CONNECTIONS_REFUSED_ADDRESS_CAP,
  PSC_CONNECTIONS_REFUSED_TOTAL_CAP,
  PSC_CONNECTIONS_REFUSED_TIMEOUT,
  PSC_CONNECTIONS_REFUSED_BODY,
  PSC_CONNECTIONS_REFUSED_HEADERS,
  PSC_CONNECTIONS_REFUSED_EVICTED,
  PSC_CONNECTIONS_REFUSED_COUNT,
} PscConnectionsRefusal;

/**
 * PSC_TYPE_CONNECTIONS:
 *
 * The #GType of #PscConnections.
 */
#define PSC_TYPE_CONNECTIONS (psc_connections_get_type ())

/**
 * PscConnections:
 *
 * The connection policy of one #SoupServer (psc_connections_new()); an opaque GObject, main
 * context only.
 *
 * Its one signal, `listener-failed` (@connections, a #GError of domain G_IO_ERROR whose
 * message gives the open file descriptors and the limit), is emitted once, on the main
 * context, when a listening socket has connections waiting that libsoup no longer accepts
 * (psc_connections_watch_listeners()). Only a restart brings the listener back.
 */
G_DECLARE_FINAL_TYPE (PscConnections, psc_connections, PSC, CONNECTIONS, GObject)

/**
 * psc_connections_new:
 * @server: the server to watch (not referenced: the caller keeps it alive and drops the
 *   policy before disconnecting it)
 * @limits: copied
 *
 * Attaches the connection policy to @server (its #SoupServer::request-started), main
 * context only:
 * - a request's headers and body must arrive within @limits->request_timeout_s, or the
 *   connection's socket is shut down (slowloris);
 * - a connection over the per-address cap is answered `503` and shut down at once; over the
 *   total cap, the connection that has waited longest without sending its request's headers
 *   is shut down to make room for it (counted as evicted), or, when every connection is
 *   busy with a request, it is answered `503`;
 * - request headers over #PSC_CONNECTIONS_MAX_HEADERS are answered `431` (RFC 6585 §5), the
 *   route not called;
 * - a body whose Content-Length (or, chunked, whose bytes so far) exceed its route's limit
 *   (psc_connections_set_body_limit()) is answered `413` before it is read, and the
 *   connection closed;
 * - with libsoup older than 3.3, every response but a WebSocket upgrade says
 *   `Connection: close` (libsoup 3.2 leaks each keep-alive connection its client closes);
 * - the #PscConnections `listener-failed` signal says when a listening socket can no longer
 *   accept (psc_connections_watch_listeners()).
 *
 * Connections are told apart by their #GSocket: a keep-alive connection carries several
 * messages.
 *
 * Returns: (transfer full): the policy; drop it to detach it.
 */
PscConnections * psc_connections_new (SoupServer *server, const PscConnectionsLimits *limits);

/**
 * psc_connections_set_limits:
 * @connections: the policy
 * @limits: copied; applies to connections and requests that start afterwards
 *
 * Replaces the limits given to psc_connections_new(); connections already over a new cap
 * stay open.
 */
void          psc_connections_set_limits (PscConnections *connections,
    const PscConnectionsLimits *limits);

/**
 * psc_connections_set_body_limit:
 * @connections: the policy
 * @prefix: a path prefix, as given to soup_server_add_handler() (e.g. "/whep")
 * @max_bytes: the largest request body accepted under @prefix
 *
 * Paths under no prefix take #PSC_CONNECTIONS_MAX_BODY; the longest matching prefix wins.
 */
void          psc_connections_set_body_limit (PscConnections *connections, const char *prefix,
    gsize max_bytes);

/**
 * psc_connections_redirect_plain:
 * @connections: the policy of a server that speaks TLS on its listeners
 * @https_port: the port it listens on; 0 turns this off
 *
 * Answers a client that speaks plain HTTP to the TLS port with a redirect to HTTPS instead
 * of a failed handshake (psc_redirect_answer_plain(), at accept, before any limit). Call it
 * before psc_connections_watch_listeners(), which gives the listening sockets
 * `TCP_DEFER_ACCEPT` for it.
 */
void          psc_connections_redirect_plain (PscConnections *connections, guint https_port);

/**
 * psc_connections_watch_listeners:
 * @connections: the policy
 *
 * Watches each listening socket of the server (call it after soup_server_listen()), and
 * raises its accept backlog from GSocket's 10 to SOMAXCONN (libsoup has no setting for it).
 * libsoup 3.2's listener drops its accept watch for good the first time g_socket_accept()
 * fails (EMFILE, or a connection reset before it was accepted): the server then never
 * accepts again, silently. Each socket gets a watch of its own at a lower priority than
 * libsoup's, so it is dispatched only when libsoup's is gone and connections wait; then
 * the `listener-failed` signal (#PscConnections) is emitted once.
 */
void          psc_connections_watch_listeners (PscConnections *connections);

/**
 * psc_connections_get_count:
 * @connections: the policy
 *
 * For /metrics and tests.
 *
 * Returns: the HTTP connections open now (WebSockets once upgraded not included).
 */
guint         psc_connections_get_count (PscConnections *connections);

/**
 * psc_connections_get_refused:
 * @connections: the policy
 * @why: the reason counted, not #PSC_CONNECTIONS_REFUSED_COUNT
 *
 * For /metrics and tests.
 *
 * Returns: how many connections were refused or cut off for @why since the start.
 */
guint64       psc_connections_get_refused (PscConnections *connections,
    PscConnectionsRefusal why);

/**
 * psc_count_open_fds:
 * @limit: (out) (optional): the soft RLIMIT_NOFILE
 *
 * Counts the process's open file descriptors, for the message of a failed listener and
 * /metrics. Any thread.
 *
 * Returns: the file descriptors this process holds (entries of /proc/self/fd), or -1.
 */
int           psc_count_open_fds (guint64 *limit);

G_END_DECLS
