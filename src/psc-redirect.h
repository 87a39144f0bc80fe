/* periscope — plain HTTP redirected to HTTPS
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

/**
 * SECTION:psc-redirect
 * @title: psc-redirect
 * @short_description: plain HTTP redirected to HTTPS
 *
 * With TLS on, the pages, signalling and WHEP are only on the HTTPS port; a browser given
 * `http://box:80/` (`--http-redirect-port`) is sent on to `https://box:PORT/`. The redirect
 * is served by a second #SoupServer of its own, so that no plain-HTTP request ever reaches
 * a route of the real one. A browser given `http://box:PORT/`, the HTTPS port itself, is
 * sent on too (psc_redirect_answer_plain()). Main context only.
 */

G_BEGIN_DECLS

/**
 * psc_redirect_add_handler:
 * @soup: a plain-HTTP #SoupServer that serves nothing else
 * @https_port: the TCP port of the HTTPS server
 *
 * Answers every request to @soup with `308 Permanent Redirect` (RFC 9110 §15.4.9: the
 * method and body are kept, so a WHEP `POST` is sent on as a `POST`) to the same path and
 * query on `https://HOST:@https_port`, where HOST is the host the client asked for
 * (`Host`), and with a one-line body saying where to go. A request without a usable host
 * gets `400`.
 */
void     psc_redirect_add_handler (SoupServer *soup, guint https_port);

/**
 * psc_redirect_raw_response:
 * @status: the HTTP status
 * @location: (nullable): a `Location` header's value, header-safe
 * @body: the body, text (`text/plain; charset=utf-8`)
 * @head_only: the answer to a `HEAD`: the body's length is sent, not the body
 *
 * A whole HTTP/1.1 response that ends the connection (`Connection: close`), written by hand
 * for a socket libsoup does not serve: plain HTTP on the HTTPS port
 * (psc_redirect_plain_answer()), and the connection policy's refusals (#PscConnections).
 *
 * Returns: (transfer full): the response.
 */
char *   psc_redirect_raw_response (guint status, const char *location, const char *body,
    gboolean head_only);

/**
 * psc_redirect_plain_answer:
 * @head: the first bytes a client sent (@length of them, not NUL-terminated; may hold NULs)
 * @length: their number
 * @fallback_host: (nullable): the host to send the client to when its request names none
 *   (HTTP/1.0 without `Host`): the address it connected to
 * @https_port: the HTTPS port
 * @head_length: (out): how many bytes of @head the answer covers: the request's head, or as
 *   much of it as came in whole lines
 *
 * The whole answer, `308 Permanent Redirect` with `Connection: close`, to a plain-HTTP
 * request whose first bytes are @head: to the same path and query on `https://HOST:PORT`,
 * HOST and PORT from `Host` (the port the client reached, which a NAT may have mapped to
 * this one), else @fallback_host and @https_port; to `/` when its target cannot be read, is
 * over 2 KiB, or would not fit in a header as it is. A `HEAD` gets no body.
 *
 * Returns: (transfer full) (nullable): the response's bytes, or %NULL when @head does not
 *   begin as an HTTP request does (an upper-case letter) or there is no host that fits in a
 *   header to send to.
 */
char *   psc_redirect_plain_answer (const char *head, gsize length, const char *fallback_host,
    guint https_port, gsize *head_length);

/**
 * psc_redirect_answer_plain:
 * @socket: a connection just accepted on the HTTPS port, before its TLS handshake has read
 *   anything (#SoupServer::request-started of its first message)
 * @https_port: that port
 *
 * Tells a plain-HTTP client on the HTTPS port apart by the first byte it sent, peeked at: a
 * TLS client's is 22, a handshake record (RFC 8446 §5.1), an HTTP request's an upper-case
 * letter. The plain request's head (what of it has arrived) is read off the socket and
 * answered as psc_redirect_plain_answer() says, HOST from its `Host` or else the address it
 * connected to; then the socket is shut down, and libsoup's handshake, seeing the end of the stream,
 * closes it. A client that has sent nothing yet is left alone: the listening socket should
 * have `TCP_DEFER_ACCEPT`, so that the first bytes are there at accept (tcp(7)).
 *
 * Returns: %TRUE if @socket was a plain-HTTP client and has been answered.
 */
gboolean psc_redirect_answer_plain (GSocket *socket, guint https_port);

G_END_DECLS
