/* periscope — the one HTTP server: viewer page, WebSocket signalling
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-access.h"
#include "psc-auth.h"
#include "psc-connections.h"
#include "psc-origin.h"
#include "psc-registry.h"
#include "psc-signalling.h"
#include "psc-whep.h"

/**
 * SECTION:psc-server
 * @title: psc-server
 * @short_description: the one HTTP server: viewer page, WebSocket signalling, WHEP, API, metrics
 *
 * #PscServer owns the process's one #SoupServer: it routes the page, WebSocket upgrades (to
 * #PscSignalling), WHEP, the REST API and /metrics, and puts every connection under the policy
 * of #PscConnections. Main context only.
 */

G_BEGIN_DECLS

/**
 * PSC_TYPE_SERVER:
 *
 * The #GType of #PscServer.
 */
#define PSC_TYPE_SERVER (psc_server_get_type ())

/**
 * PscServer:
 *
 * The HTTP server (psc_server_new()); an opaque GObject, main context only.
 *
 * Its one signal, `listener-failed` (@server, the #GError of #PscConnections' signal of the same
 * name), is emitted on the main context when the server can no longer accept connections; the
 * daemon then exits with status 69 so that its supervisor restarts it.
 */
G_DECLARE_FINAL_TYPE (PscServer, psc_server, PSC, SERVER, GObject)

/**
 * psc_server_new:
 * @registry: the streams, for the API and metrics (a reference is taken by them)
 * @signalling: where WebSocket peers go (a reference is taken)
 * @whep: (nullable): the WHEP endpoint to serve at /whep (a reference is taken)
 *
 * Routes:
 * - `GET /`, `/viewer.js`, `/style.css`: the viewer page, compiled in (GResource)
 * - `GET /room/{id}`: the call page (`room.html`), for a room a peer may join; 404 otherwise
 * - `/whep/…` (psc_whep_add_handlers()), `/api/…`, `/healthz`, `/metrics`
 * - `WS /ws` (the default stream), `/ws/{room}`, `/ws/{room}/{peer_id}`, and the form
 *   `/webrtc/signaling/{room}/{peer_id}` of the earlier signalling servers
 *
 * Every connection passes the policy of psc_connections_new(): the default limits
 * (psc_connections_limits_init(), at the time of this call), request bodies up to
 * #PSC_WHEP_MAX_OFFER under /whep and #PSC_CONNECTIONS_MAX_BODY elsewhere.
 * The `listener-failed` signal (#PscServer) says when the server can no longer accept connections.
 *
 * Returns: (transfer full): a server, not listening yet.
 */
PscServer * psc_server_new (PscRegistry *registry, PscSignalling *signalling, PscWhep *whep);

/**
 * psc_server_listen:
 * @server: the server
 * @address: (nullable): an IP address to listen on; %NULL: every interface, IPv4 and IPv6
 * @port: TCP port; 0 picks a free one
 * @error: a G_IO_ERROR (e.g. G_IO_ERROR_ADDRESS_IN_USE)
 *
 * Listens, and watches the listening sockets (psc_connections_watch_listeners()); with a
 * certificate (psc_server_set_tls_certificate()), for HTTPS and `wss:` only, plain HTTP to
 * that port answered with a redirect to HTTPS (psc_connections_redirect_plain()).
 *
 * Returns: %TRUE if listening.
 */
gboolean    psc_server_listen (PscServer *server, const char *address, guint port,
    GError **error);

/**
 * psc_server_set_tls_certificate:
 * @server: a server that is not listening yet
 * @certificate: (transfer none): the certificate, with its private key (psc_tls_load(),
 *   psc_tls_self_signed())
 *
 * Makes psc_server_listen() listen for HTTPS (TLS through GLib's backend, glib-networking),
 * and psc_server_get_page_urls() give `https:` URLs. The page builds its WebSocket's URL
 * from its own location, so signalling becomes `wss:` with it.
 */
void        psc_server_set_tls_certificate (PscServer *server, GTlsCertificate *certificate);

/**
 * psc_server_listen_redirect:
 * @server: a server listening for HTTPS (psc_server_set_tls_certificate(), then
 *   psc_server_listen())
 * @address: (nullable): an IP address to listen on; %NULL: every interface
 * @port: TCP port for plain HTTP; 0 picks a free one
 * @error: a G_IO_ERROR
 *
 * Also listens for plain HTTP on @port, answering every request there with a redirect to
 * the same path on the HTTPS port (psc_redirect_add_handler()), under the same connection
 * limits as the HTTPS port (its own #PscConnections, counted apart).
 *
 * Returns: %TRUE if listening.
 */
gboolean    psc_server_listen_redirect (PscServer *server, const char *address, guint port,
    GError **error);

/**
 * psc_server_get_redirect_port:
 * @server: the server
 *
 * The port of the plain-HTTP redirect, useful after asking psc_server_listen_redirect() for
 * port 0.
 *
 * Returns: the TCP port psc_server_listen_redirect() listens on, or 0 if it was not called.
 */
guint       psc_server_get_redirect_port (PscServer *server);

/**
 * psc_server_get_connections:
 * @server: the server
 *
 * For /metrics, and tests that change the limits (psc_connections_set_limits()).
 *
 * Returns: (transfer none): the server's connection policy (limits, counters).
 */
PscConnections * psc_server_get_connections (PscServer *server);

/**
 * psc_server_set_origin_policy:
 * @server: the server
 * @policy: (transfer full): the origins trusted besides the page's own and loopback
 *   (`--allow-origin`), and the server's names (`--allow-host`, its own); a new server trusts
 *   no other origin, and answers only to addresses and `localhost`
 *
 * Every request made to a name the policy does not know (psc_origin_policy_host_is_trusted():
 * DNS rebinding) is answered `421` with a one-line reason before its route, counted
 * (`periscope_http_refused_total{reason="host"}`) and logged (one line per 10 s at most).
 *
 * Every request with an `Origin` header passes the policy once read, before its route:
 * - from a foreign origin (#PSC_ORIGIN_FOREIGN), a WebSocket upgrade, a CORS preflight or any
 *   method but GET, HEAD and OPTIONS is answered `403` with a one-line reason, counted
 *   (`periscope_http_refused_total{reason="origin"}` in /metrics) and logged (one line per
 *   10 s at most); a GET gets its answer without CORS headers, which the browser keeps
 *   from the page;
 * - from a trusted origin that is not the page's own (loopback, listed), every answer
 *   carries `Access-Control-Allow-Origin` (that origin) and `Access-Control-Expose-Headers`,
 *   and a preflight (OPTIONS with `Access-Control-Request-Method`) is answered `204` with
 *   the methods and headers WHEP and the API take;
 * - every answer to a request with an `Origin` says `Vary: Origin`.
 *
 * Requests without an `Origin` (players, curl, scripts) are not concerned.
 */
void        psc_server_set_origin_policy (PscServer *server, PscOriginPolicy *policy);

/**
 * psc_server_set_auth:
 * @server: the server
 * @auth: (transfer full): the accounts (`--users`, `--token-file`); a new server has none
 *
 * With a user or a token in @auth, every request but the public ones (`/healthz`, the login
 * page) needs credentials of the role its route needs (psc_auth_role_for_path()), checked
 * after the origin policy, before the route (#PscAccess): `401` with `WWW-Authenticate`
 * without valid ones (the page itself: `303` to `/login`), `403` for a role below,
 * `429` with `Retry-After` after too many failed logins from the address.
 */
void        psc_server_set_auth (PscServer *server, PscAuth *auth);

/**
 * psc_server_get_access:
 * @server: the server
 *
 * For tests (counters, the accounts' clock).
 *
 * Returns: (transfer none): the server's access check.
 */
PscAccess * psc_server_get_access (PscServer *server);

/**
 * psc_server_get_refused_origins:
 * @server: the server
 *
 * For tests; /metrics has it as `periscope_http_refused_total{reason="origin"}`.
 *
 * Returns: the requests refused for their origin since the start.
 */
guint64     psc_server_get_refused_origins (PscServer *server);

/**
 * psc_server_get_port:
 * @server: the server
 *
 * The port of the first listening socket.
 *
 * Returns: the TCP port listened on (useful after asking for port 0), or 0.
 */
guint       psc_server_get_port (PscServer *server);

/**
 * psc_server_accept_stream:
 * @server: the server
 * @stream: an open connection that came from no listening socket: the fuzz target of the
 *   HTTP edge (tests/fuzz/fuzz-http.c) feeds its requests so, from memory
 * @local: the server's address, for a request without a Host header (HTTP/1.0)
 * @remote: the client's address, as the access check, the throttle and the log see it
 * @error: why libsoup did not take the connection
 *
 * Serves HTTP on @stream as on a connection accepted from a listener
 * (soup_server_accept_iostream()): the same origin policy, access check and routes. Without a
 * #GSocket, #PscConnections' limits and request timeout do not apply to it. Main context.
 *
 * Returns: %TRUE if the connection was taken.
 */
gboolean    psc_server_accept_stream (PscServer *server, GIOStream *stream,
    GSocketAddress *local, GSocketAddress *remote, GError **error);

/**
 * psc_server_get_page_urls:
 * @server: a listening server
 * @address: (nullable): the address given to psc_server_listen()
 *
 * What the daemon prints at start-up for a person to open.
 *
 * Returns: (transfer full): the URLs a person can open (`https:` with TLS on): the bound
 *   address, or when bound to every interface, localhost and each interface address found
 *   by libnice.
 */
GStrv       psc_server_get_page_urls (PscServer *server, const char *address);

G_END_DECLS
