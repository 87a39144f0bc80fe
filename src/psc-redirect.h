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
 * a route of the real one. Main context only.
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
void psc_redirect_add_handler (SoupServer *soup, guint https_port);

G_END_DECLS
