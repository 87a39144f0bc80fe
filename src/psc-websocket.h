/* periscope — accepting a WebSocket with its limits: message size over fragments, unsent bytes
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

/**
 * SECTION:psc-websocket
 * @title: psc-websocket
 * @short_description: accepting a WebSocket with its limits: message size over fragments, unsent bytes
 *
 * WebSocket upgrades on the #SoupServer with what libsoup 3.2 lacks: a bound on a whole
 * message however many fragments it comes in (closed with 1009), a count of the bytes queued
 * for a peer and not yet written, and refusals that complete their closing handshake. Used by
 * #PscServer for signalling; main context only.
 */

G_BEGIN_DECLS

/**
 * PSC_WEBSOCKET_SLACK:
 *
 * Bytes allowed on top of a handler's message limit before the 1009 close: the frame headers
 * of a message split into many fragments, and the pings between them.
 */
#define PSC_WEBSOCKET_SLACK (16 * 1024)

/**
 * psc_websocket_add_handler:
 * @server: the server
 * @path: the path prefix to serve, as for soup_server_add_handler()
 * @max_message: bytes (> 0) a client may send from the end of its last complete message —
 *   frame headers, continuation frames and control frames included — plus
 *   %PSC_WEBSOCKET_SLACK; past that the connection is closed with 1009 "message too big"
 *   (RFC 6455 §7.4.1) and nothing more is read from it
 * @callback: called with each upgraded connection, as soup_server_add_websocket_handler()'s
 * @user_data: for @callback
 *
 * Serves WebSocket upgrades on @path like soup_server_add_websocket_handler(), without
 * extensions (permessage-deflate would let a small frame inflate past any limit), with these
 * differences:
 *
 * - A message is bounded whole, not frame by frame. libsoup 3.2 bounds each frame
 *   (max-incoming-payload-size) but assembles a message from any number of continuation
 *   frames, and drops the connection without a close frame when one frame is too big. Here
 *   the bytes read since the last complete message are counted below libsoup, on the
 *   connection's stream; libsoup's own limit is switched off.
 * - The bytes libsoup has queued for a connection and not yet written can be asked
 *   (psc_websocket_get_unsent_bytes()), when the text was sent with psc_websocket_send_text().
 * - A connection stays referenced until its "closed" signal, so a connection the callback
 *   closes and drops at once (a refusal) completes the closing handshake and the client
 *   receives the close code and reason, instead of a reset (1006 in browsers and Node).
 *
 * A request on @path that is not a valid WebSocket handshake gets libsoup's answer (400 with
 * the reason, or 403).
 */
void        psc_websocket_add_handler (SoupServer *server, const char *path,
    guint64 max_message, SoupServerWebsocketCallback callback, gpointer user_data);

/**
 * psc_websocket_send_text:
 * @connection: an open connection from psc_websocket_add_handler()
 * @text: UTF-8, NUL-terminated
 *
 * soup_websocket_connection_send_text(), counting the frame's bytes into
 * psc_websocket_get_unsent_bytes(). On any other connection it only sends.
 */
void        psc_websocket_send_text (SoupWebsocketConnection *connection, const char *text);

/**
 * psc_websocket_get_unsent_bytes:
 * @connection: a connection from psc_websocket_add_handler()
 *
 * libsoup 3.2 has no buffered-amount API; this is the bytes of the frames sent with
 * psc_websocket_send_text(), and of the pongs libsoup queues for the client's pings (seen in
 * the frame headers read), that libsoup has not written to the socket yet, read at the
 * connection's stream (sent − written). libsoup's own keepalive pings and close frames are
 * written without being counted as sent, so they make this a few bytes low until the queue
 * empties again. A client whose pongs pile up past the message limit without reading them is
 * closed with 1008 "not reading".
 *
 * Returns: the bytes; 0 for a connection not accepted by psc_websocket_add_handler().
 */
guint64     psc_websocket_get_unsent_bytes (SoupWebsocketConnection *connection);

/**
 * psc_websocket_get_received_bytes:
 * @connection: a connection from psc_websocket_add_handler()
 *
 * Counted below libsoup, on the connection's stream, for signalling's per-peer budget.
 *
 * Returns: the bytes read from the client since the upgrade, frame headers and control
 *   frames included (what a byte budget should charge: pings cost libsoup a pong each);
 *   0 for another connection.
 */
guint64     psc_websocket_get_received_bytes (SoupWebsocketConnection *connection);

/**
 * psc_websocket_is_over_limit:
 * @connection: a connection from psc_websocket_add_handler()
 *
 * Tells the owner why the connection closed, to count the refusal.
 *
 * Returns: %TRUE once the connection has been closed with 1009 for sending more than its
 *   message limit (psc_websocket_add_handler()).
 */
gboolean    psc_websocket_is_over_limit (SoupWebsocketConnection *connection);

G_END_DECLS
