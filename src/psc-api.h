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
 * PSC_API_MAX_TITLE:
 *
 * Longest room title, in characters of UTF-8.
 */
#define PSC_API_MAX_TITLE 200

/**
 * PSC_API_MAX_CHATS_PAGE:
 *
 * Most chats in one `GET /api/rooms/{id}/chats` page (`limit`).
 */
#define PSC_API_MAX_CHATS_PAGE 500

/**
 * PSC_API_MAX_CHATS_SAVED:
 *
 * Most chats in one `PUT /api/rooms/{id}/chats`.
 */
#define PSC_API_MAX_CHATS_SAVED 1000

/**
 * PSC_API_MAX_BODY:
 *
 * Largest request body under `/api/rooms`, in bytes: a bulk save of
 * #PSC_API_MAX_CHATS_SAVED messages of #PSC_PROTOCOL_MAX_CHAT_TEXT bytes, and their JSON
 * (the server applies it, psc_connections_set_body_limit()).
 */
#define PSC_API_MAX_BODY (6 * 1024 * 1024)

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
 * - `GET /api/rooms`, `POST /api/rooms`, `GET`/`DELETE /api/rooms/{id}`,
 *   `GET`/`PUT /api/rooms/{id}/chats`: the rooms (streams', made through the API, open ones)
 *   with their peers, and their chat history (#PscRooms, #PscHistory);
 * - `GET /healthz`: 200 `{"status":"ok",…}` when every stream is playing, 503
 *   `{"status":"failing",…}` otherwise, with each stream's state.
 * Statistics are gathered asynchronously (the request is paused meanwhile), so a request
 * never blocks the main loop.
 */
void psc_api_add_handlers (SoupServer *server, PscRegistry *registry,
    PscSignalling *signalling, PscWhep *whep);

G_END_DECLS
