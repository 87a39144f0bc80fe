/* periscope — the REST API and health check: /api/streams…, /healthz
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-signalling.h"
#include "psc-whep.h"

/**
 * SECTION:psc-api
 * @title: psc-api
 * @short_description: the REST API (/api/streams…) and the health check (/healthz)
 *
 * HTTP handlers that describe what the daemon serves: the streams, their viewers (WebSocket
 * and WHEP alike) with webrtcbin's statistics, the rooms' peers, and a health check for a
 * supervisor or load balancer. Main context only; requests that need statistics are paused,
 * never blocking the loop. docs/protocol.md documents the JSON.
 */

G_BEGIN_DECLS

/**
 * psc_api_add_handlers:
 * @server: the #SoupServer to add the handlers to
 * @registry: the streams (a reference is taken)
 * @signalling: the rooms, their peers and WebSocket viewers (a reference is taken)
 * @whep: (nullable): WHEP sessions to list among the viewers (a reference is taken)
 *
 * Adds, all answering JSON (application/json):
 * - `GET /api/streams`: every stream (see docs/protocol.md for the fields), with its viewers
 *   and their statistics from webrtcbin (bytes sent, RTT, loss);
 * - `GET /api/streams/{id}`: one stream, 404 if unknown;
 * - `GET /api/streams/{id}/peers`: the room's peers (the rooms/peers listing of the
 *   signalling servers periscope grew from);
 * - `GET /healthz`: 200 `{"status":"ok",…}` when every stream is playing, 503
 *   `{"status":"failing",…}` otherwise, with each stream's state.
 * Statistics are gathered asynchronously (the request is paused meanwhile), so a request
 * never blocks the main loop.
 */
void psc_api_add_handlers (SoupServer *server, PscRegistry *registry,
    PscSignalling *signalling, PscWhep *whep);

G_END_DECLS
