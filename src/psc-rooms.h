/* periscope — the rooms made through the API: ids, titles, streams, when they are forgotten
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "psc-history.h"

/**
 * SECTION:psc-rooms
 * @title: psc-rooms
 * @short_description: the rooms made through the API: ids, titles, streams, when they are forgotten
 *
 * #PscRooms holds the call rooms made with `POST /api/rooms` (a random UUID each, a title,
 * optionally a stream whose camera joins their calls), kept in the #PscHistory store so they
 * survive a restart, and whether the daemon makes rooms on first join (`--open-rooms`). A
 * room nobody is in and that has no chat history is forgotten #PSC_ROOMS_FORGET_S seconds after
 * its last peer left (or after it was made). It also runs the chat retention. Signalling says
 * when a room fills and empties (psc_rooms_set_occupied()). Main context only.
 */

G_BEGIN_DECLS

/**
 * PSC_ROOMS_FORGET_S:
 *
 * Seconds an empty room without chat history is kept (rooms-spec: 10 min).
 */
#define PSC_ROOMS_FORGET_S 600

/**
 * PSC_ROOMS_MAX:
 *
 * Rooms made through the API at once: each is a row and a timer, and an admin's script in a
 * loop must not grow them without bound.
 */
#define PSC_ROOMS_MAX 1000

/**
 * PSC_TYPE_ROOMS:
 *
 * The #GType of #PscRooms.
 */
#define PSC_TYPE_ROOMS (psc_rooms_get_type ())

/**
 * PscRooms:
 *
 * The call rooms (psc_rooms_new()); an opaque GObject, main context only.
 */
G_DECLARE_FINAL_TYPE (PscRooms, psc_rooms, PSC, ROOMS, GObject)

/**
 * psc_rooms_new:
 * @history: (nullable) (transfer full): the store the rooms and chats are kept in; %NULL:
 *   none (nothing survives a restart, and chat is unavailable)
 * @open_rooms: whether a peer may make a room by joining it (`--open-rooms`)
 *
 * Loads the rooms @history holds; each is forgotten later as psc_rooms_set_occupied()
 * describes, unless it has chats.
 *
 * Returns: (transfer full): the rooms.
 */
PscRooms *   psc_rooms_new (PscHistory *history, gboolean open_rooms);

/**
 * psc_rooms_get_open:
 * @rooms: the rooms
 *
 * Whether the daemon runs with `--open-rooms`.
 *
 * Returns: whether a peer may make a room by joining it.
 */
gboolean     psc_rooms_get_open (PscRooms *rooms);

/**
 * psc_rooms_get_history:
 * @rooms: the rooms
 *
 * The store of the rooms and their chats.
 *
 * Returns: (transfer none) (nullable): the store, or %NULL when there is none.
 */
PscHistory * psc_rooms_get_history (PscRooms *rooms);

/**
 * psc_rooms_create:
 * @rooms: the rooms
 * @title: (nullable): its title (checked by the caller)
 * @stream: (nullable): the stream whose camera joins its calls (checked by the caller)
 * @error: %G_IO_ERROR_NO_SPACE over #PSC_ROOMS_MAX rooms
 *
 * Makes a room with a random UUID (RFC 9562 version 4, g_uuid_string_random()), stores it
 * (a store that fails is logged: the room works, but is gone after a restart), and starts its
 * forget timer.
 *
 * Returns: (transfer none): the room, valid until it is deleted or forgotten; %NULL with
 *   @error set.
 */
const PscHistoryRoom * psc_rooms_create (PscRooms *rooms, const char *title,
    const char *stream, GError **error);

/**
 * psc_rooms_lookup:
 * @rooms: the rooms
 * @id: (nullable): a room id
 *
 * Finds a room made through the API.
 *
 * Returns: (transfer none) (nullable): the room made through the API with @id.
 */
const PscHistoryRoom * psc_rooms_lookup (PscRooms *rooms, const char *id);

/**
 * psc_rooms_list:
 * @rooms: the rooms
 *
 * For `GET /api/rooms`.
 *
 * Returns: (transfer container) (element-type PscHistoryRoom): every room made through the
 *   API, oldest first; the elements are @rooms' own.
 */
GPtrArray *  psc_rooms_list (PscRooms *rooms);

/**
 * psc_rooms_delete:
 * @rooms: the rooms
 * @id: a room id: a room made through the API, or an open room (whose chats go)
 *
 * Forgets the room and deletes its chat history (a store that fails is logged).
 */
void         psc_rooms_delete (PscRooms *rooms, const char *id);

/**
 * psc_rooms_set_occupied:
 * @rooms: the rooms
 * @id: a room made through the API (any other id is ignored)
 * @occupied: whether peers are in it now
 *
 * Signalling's news: a room that empties starts its forget timer, one that fills stops it.
 */
void         psc_rooms_set_occupied (PscRooms *rooms, const char *id, gboolean occupied);

/**
 * psc_rooms_set_forget_delay:
 * @rooms: the rooms
 * @seconds: how long an empty room without history is kept (#PSC_ROOMS_FORGET_S by default)
 *
 * For rooms made or emptied after the call (tests use a short one).
 */
void         psc_rooms_set_forget_delay (PscRooms *rooms, guint seconds);

/**
 * psc_rooms_set_retention:
 * @rooms: the rooms
 * @days: chats older than this many days are deleted (`--chat-retention-days`); 0: kept
 * @max_per_room: each room keeps at most this many chats, its newest
 *   (`--chat-max-per-room`); 0: no limit
 *
 * Applies the retention now and then every hour.
 */
void         psc_rooms_set_retention (PscRooms *rooms, guint days, guint max_per_room);

G_END_DECLS
