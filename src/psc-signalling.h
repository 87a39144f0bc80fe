/* periscope — rooms and peers over WebSocket: the camera's offer, relays between browsers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-protocol.h"
#include "psc-registry.h"
#include "psc-rooms.h"
#include "psc-viewer.h"

/**
 * SECTION:psc-signalling
 * @title: psc-signalling
 * @short_description: rooms and peers over WebSocket: the camera's offer, relays between browsers
 *
 * #PscSignalling runs the WebSocket signalling of docs/protocol.md: a room per stream, whose
 * camera peer offers the stream to every browser that joins (a #PscViewer each), call rooms
 * made through the rooms API (#PscRooms) where browsers exchange messages among themselves
 * (and the camera of the room's stream offers to each), and, with `--open-rooms`, rooms made
 * by their first peer; display names, the camera's viewer count, chat (stored in the rooms'
 * #PscHistory, and over a viewer's data channel); with per-peer limits on message size, rate,
 * chat rate and unsent bytes. Its errors reach peers through psc_signalling_error_code().
 * Main context only.
 */

G_BEGIN_DECLS

/**
 * PSC_TYPE_SIGNALLING:
 *
 * The #GType of #PscSignalling.
 */
#define PSC_TYPE_SIGNALLING (psc_signalling_get_type ())

/**
 * PscSignalling:
 *
 * The rooms and their WebSocket peers (psc_signalling_new()); an opaque GObject, main context
 * only.
 */
G_DECLARE_FINAL_TYPE (PscSignalling, psc_signalling, PSC, SIGNALLING, GObject)

/**
 * PSC_SIGNALLING_MAX_FRAME:
 *
 * Largest WebSocket message, in bytes, however many frames it comes in: a client that sends
 * more (plus %PSC_WEBSOCKET_SLACK of frame headers) without finishing a message is closed with
 * 1009 "message too big" (RFC 6455 §7.4.1; psc_websocket_add_handler()). Messages between
 * #PSC_PROTOCOL_MAX_MESSAGE_SIZE and this get an `error` reply and the connection goes on.
 */
#define PSC_SIGNALLING_MAX_FRAME (1024 * 1024)

/**
 * PSC_SIGNALLING_MAX_ROOM_PEERS:
 *
 * Peers in one room without a camera (a mesh call between browsers: each sends its media to
 * every other, so a handful is already the most that works).
 */
#define PSC_SIGNALLING_MAX_ROOM_PEERS 16

/**
 * PSC_SIGNALLING_MAX_RELAY_ROOMS:
 *
 * Rooms without a camera at once: a room is made by its first peer, so without a bound one
 * client could spread its peers over as many rooms as it likes.
 */
#define PSC_SIGNALLING_MAX_RELAY_ROOMS 64

/**
 * PSC_SIGNALLING_MAX_UNSENT:
 *
 * Bytes that may wait in a peer's outbound queue (sent to it, not yet written to its socket,
 * psc_websocket_get_unsent_bytes()). A message that would pass it closes the peer with 1008
 * instead (counted in `refused_total`): a peer that does not read is dropped, and the daemon's
 * memory is not its buffer.
 */
#define PSC_SIGNALLING_MAX_UNSENT (1024 * 1024)

/**
 * PscPeerInfo:
 * @peer_id: the peer's id
 * @room: its room
 * @joined_at: when it joined, µs since the Unix epoch
 * @viewer: (nullable): its WebRTC session with the camera, if any (a reference)
 * @address: (nullable): its remote IP address: personal data, for roles that may see it
 *   (the API shows it to nobody yet)
 * @name: its display name
 *
 * One peer, as psc_signalling_list_peers() lists it. Free with psc_peer_info_free().
 */
typedef struct {
  char *peer_id;
  char *room;
  gint64 joined_at;
  PscViewer *viewer;
  char *address;
  char *name;
} PscPeerInfo;

/**
 * psc_peer_info_free:
 * @info: (nullable) (transfer full): a peer's info, or %NULL
 *
 * Frees @info, its strings and its reference to the viewer.
 */
void psc_peer_info_free (PscPeerInfo *info);

/**
 * PscSignallingCounters:
 * @websocket_sessions: WebSocket peers connected now
 * @websocket_sessions_total: WebSocket peers accepted since start
 * @viewers_failed_total: camera sessions that failed (ICE/DTLS, timeout, refused answer)
 * @protocol_errors_total: `error` messages sent to peers
 * @refused_total: peers refused (limits, taken ids) or closed for exceeding a limit (their
 *   budget, the message size, the unsent bytes)
 *
 * What signalling counts, for /metrics (psc_signalling_get_counters()).
 */
typedef struct {
  guint websocket_sessions;
  guint64 websocket_sessions_total;
  guint64 viewers_failed_total;
  guint64 protocol_errors_total;
  guint64 refused_total;
} PscSignallingCounters;

/**
 * psc_signalling_error_code:
 * @error: an error of any layer: PSC_PROTOCOL_ERROR, PSC_SDP_ERROR, PSC_VIEWER_ERROR,
 *   PSC_REGISTRY_ERROR
 *
 * The one translation of errors into the signalling protocol's `error` codes
 * (docs/protocol.md, "Errors"): the media layers know nothing of the wire; this is where
 * their errors meet it. A viewer's silence and connect timeout are `timeout`, its RTCP BYE
 * `session_ended`, an ICE or DTLS failure `connection_failed`, anything unforeseen `internal`.
 *
 * Returns: the code to send.
 */
PscProtocolError psc_signalling_error_code (const GError *error);

/**
 * psc_signalling_new:
 * @registry: the streams (a reference is taken); each has a room named after it, made
 *   when the stream is added to the registry, whose camera peer (same id) offers the stream
 *   to every peer that joins
 * @options: settings for the viewers it creates; copied
 *
 * Rooms are made for the streams already in @registry and for each one added later. Main
 * context only.
 *
 * Returns: (transfer full): signalling with a room per stream of @registry.
 */
PscSignalling * psc_signalling_new (PscRegistry *registry, const PscViewerOptions *options);

/**
 * psc_signalling_get_default_room:
 * @signalling: the signalling
 *
 * The room a peer joins on `/ws` without a room in the path.
 *
 * Returns: (transfer none) (nullable): the id of the default stream's room, for `/ws`.
 */
const char *    psc_signalling_get_default_room (PscSignalling *signalling);

/**
 * psc_signalling_accept:
 * @signalling: the signalling
 * @room_id: a valid id (psc_protocol_id_is_valid()): a stream's room, a room of #PscRooms
 *   (a call), or, when #PscRooms makes rooms on join (`--open-rooms`), any other; a peer
 *   joining a room that is none of these is refused with `unknown_room` (and 1008)
 * @peer_id: (nullable): the id the peer asked for; %NULL assigns a random one
 * @name: (nullable): the display name it asked for (the `name` query parameter; checked
 *   with psc_protocol_check_name(), refused with `invalid_field`); %NULL: "Guest NNNN"
 * @datachannel: the peer asked for a chat data channel with the camera (`datachannel=1`):
 *   its viewer's offer then carries one (psc_viewer_enable_chat())
 * @codecs: (nullable) (array zero-terminated=1): the codecs the peer says it decodes (the
 *   `codecs` query parameter, split at commas; unknown names are ignored), or %NULL if it
 *   said nothing
 * @address: (nullable): the peer's remote IP address: a viewer takes a seat of it
 *   (psc_registry_take_seat(), --max-viewers-per-address) until it leaves; %NULL: not
 *   counted per address
 * @connection: the upgraded WebSocket (a reference is taken)
 *
 * Joins the peer: sends it `existing_peers` (with names), the stream's state when offline,
 * `chat_history` when the room has stored chats and `viewers` in a room with a camera; tells
 * the others `peer_joined`; and in a room with a camera starts its viewer, whose offer follows. The viewer's codec is the stream's default
 * codec if it is in @codecs (or @codecs is %NULL), else the first other codec in @codecs the
 * stream has an encoder for (psc_codec_choose()); a peer that decodes none of them is refused
 * with `no_common_codec` and its socket closed with 1008. When the connection closes the peer
 * leaves, its viewer is freed, and the others get `peer_left`. Main thread only.
 *
 * Refused with `too_many_peers` (and 1008): a viewer over --max-viewers or over its address's
 * seats; a relay room's peer past #PSC_SIGNALLING_MAX_ROOM_PEERS, a new relay room past
 * #PSC_SIGNALLING_MAX_RELAY_ROOMS, or any relay peer past 256 in all.
 */
void            psc_signalling_accept (PscSignalling *signalling, const char *room_id,
    const char *peer_id, const char *name, gboolean datachannel, const char *const *codecs,
    const char *address, SoupWebsocketConnection *connection);

/**
 * psc_signalling_refuse:
 * @signalling: the signalling
 * @connection: an open WebSocket that is not (or no longer to be) a peer
 * @code: what the client is told (#PscProtocolError, an `error` message's `code`)
 * @text: the reason, for the `error` message and the close frame (at most 123 bytes of it
 *   fit in the close frame, RFC 6455 section 5.5)
 *
 * Refuses a peer: sends it an `error` message, closes the socket with 1008 (policy
 * violation) and counts it in the `refused` errors. Main thread only.
 */
void            psc_signalling_refuse (PscSignalling *signalling,
    SoupWebsocketConnection *connection, PscProtocolError code, const char *text);

/**
 * psc_signalling_list_peers:
 * @signalling: the signalling
 * @room_id: (nullable): one room, or %NULL for every room
 *
 * For the REST API's peers listing.
 *
 * Returns: (transfer full) (element-type PscPeerInfo) (nullable): the peers of each room in
 *   joining order (the rooms in no particular order), or %NULL if @room_id names no room.
 */
GPtrArray *     psc_signalling_list_peers (PscSignalling *signalling, const char *room_id);

/**
 * psc_signalling_get_peer_count:
 * @signalling: the signalling
 *
 * Also what psc_signalling_shutdown()'s caller waits on.
 *
 * Returns: the peers connected now, over every room.
 */
guint           psc_signalling_get_peer_count (PscSignalling *signalling);

/**
 * psc_signalling_get_counters:
 * @signalling: the signalling
 * @counters: (out caller-allocates): the counters since start
 *
 * Fills @counters, for /metrics.
 */
void            psc_signalling_get_counters (PscSignalling *signalling,
    PscSignallingCounters *counters);

/**
 * psc_signalling_shutdown:
 * @signalling: the signalling
 *
 * Stops every viewer and closes every WebSocket with 1001 "going away" (RFC 6455 §7.4.1),
 * so pages know to reconnect. The closes complete asynchronously: keep the main loop running
 * until psc_signalling_get_peer_count() is 0 or a short grace period ends.
 */
void            psc_signalling_shutdown (PscSignalling *signalling);

/**
 * psc_signalling_set_rooms:
 * @signalling: the signalling
 * @rooms: the call rooms, their store and whether rooms are made on join (a reference is
 *   taken)
 *
 * Until this is called, signalling has rooms of its own: made on join, without a store (no
 * chat). Main context only; before the first peer joins.
 */
void            psc_signalling_set_rooms (PscSignalling *signalling, PscRooms *rooms);

/**
 * psc_signalling_get_rooms:
 * @signalling: the signalling
 *
 * The call rooms, for the REST API.
 *
 * Returns: (transfer none): the call rooms (psc_signalling_set_rooms()).
 */
PscRooms *      psc_signalling_get_rooms (PscSignalling *signalling);

/**
 * psc_signalling_get_room_kind:
 * @signalling: the signalling
 * @room_id: (nullable): a room id
 *
 * What a peer joining @room_id would find.
 *
 * Returns: (transfer none) (nullable): "stream", "call" or "open" (an open room that exists
 *   now, or any valid id with `--open-rooms`); %NULL: a join would be refused
 *   (`unknown_room`).
 */
const char *    psc_signalling_get_room_kind (PscSignalling *signalling, const char *room_id);

/**
 * psc_signalling_list_open_rooms:
 * @signalling: the signalling
 *
 * For `GET /api/rooms`.
 *
 * Returns: (transfer full): the ids of the rooms made by their first peer (`--open-rooms`)
 *   that have peers now, sorted.
 */
GStrv           psc_signalling_list_open_rooms (PscSignalling *signalling);

/**
 * psc_signalling_close_room:
 * @signalling: the signalling
 * @room_id: a call or open room
 * @reason: for the peers, one line
 *
 * Closes the room (`DELETE /api/rooms/{id}`): each peer is sent `room_closed` and its socket
 * closed with 1000; the room and its chat history are deleted (psc_rooms_delete()).
 *
 * Returns: %FALSE for a stream's room, which cannot be closed.
 */
gboolean        psc_signalling_close_room (PscSignalling *signalling, const char *room_id,
    const char *reason);

G_END_DECLS
