/* periscope — the signalling protocol: JSON text messages <-> PscMessage
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/**
 * SECTION:psc-protocol
 * @title: psc-protocol
 * @short_description: the signalling protocol: JSON text messages to and from #PscMessage
 *
 * Parses, validates and serialises the WebSocket signalling messages (offer, answer,
 * ice_candidate, peer_joined, peer_left, existing_peers, error, stream_state, chat,
 * chat_history, viewers, room_closed), checks chat texts and display names, and names the
 * error codes a peer is told. Pure data: no GStreamer, no network; any thread, and a libFuzzer target
 * (tests/fuzz). docs/protocol.md describes every message.
 */

G_BEGIN_DECLS

/**
 * PSC_PROTOCOL_MAX_MESSAGE_SIZE:
 *
 * Largest signalling message accepted, in bytes. An SDP offer for one video m-line is
 * about 1.5 KiB and a candidate line under 200 bytes, so 64 KiB leaves ample room while a
 * flood of huge frames is refused before json-glib sees it.
 */
#define PSC_PROTOCOL_MAX_MESSAGE_SIZE (64 * 1024)

/**
 * PSC_PROTOCOL_MAX_ID_LENGTH:
 *
 * Longest peer or room id, in bytes. Ids are `[A-Za-z0-9_.-]+` (psc_protocol_id_is_valid()).
 */
#define PSC_PROTOCOL_MAX_ID_LENGTH 64

/**
 * PSC_PROTOCOL_MAX_CHAT_TEXT:
 *
 * Longest chat text, in bytes of UTF-8 after trimming (psc_protocol_check_chat_text()).
 */
#define PSC_PROTOCOL_MAX_CHAT_TEXT 4096

/**
 * PSC_PROTOCOL_MAX_NAME_LENGTH:
 *
 * Longest display name, in characters (not bytes) after trimming
 * (psc_protocol_check_name()).
 */
#define PSC_PROTOCOL_MAX_NAME_LENGTH 64

/**
 * PSC_PROTOCOL_ERROR:
 *
 * The error domain of the signalling protocol: what a peer sent, or what it is told went wrong. Codes are #PscProtocolError.
 */
#define PSC_PROTOCOL_ERROR (psc_protocol_error_quark ())

/**
 * psc_protocol_error_quark:
 *
 * The quark behind #PSC_PROTOCOL_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_protocol_error_quark (void);

/**
 * PscProtocolError:
 * @PSC_PROTOCOL_ERROR_TOO_LARGE: "too_large": over #PSC_PROTOCOL_MAX_MESSAGE_SIZE
 * @PSC_PROTOCOL_ERROR_INVALID_JSON: "invalid_json": not JSON, or not a JSON object
 * @PSC_PROTOCOL_ERROR_UNKNOWN_TYPE: "unknown_type": `type` names no message
 * @PSC_PROTOCOL_ERROR_MISSING_FIELD: "missing_field": a required field is absent
 * @PSC_PROTOCOL_ERROR_INVALID_FIELD: "invalid_field": a field has the wrong JSON type or value
 * @PSC_PROTOCOL_ERROR_UNKNOWN_PEER: "unknown_peer": target_peer_id is not in the room
 * @PSC_PROTOCOL_ERROR_BAD_STATE: "bad_state": message not valid now (e.g. candidate before
 *   answer)
 * @PSC_PROTOCOL_ERROR_BAD_SDP: "bad_sdp": the SDP could not be parsed or applied
 * @PSC_PROTOCOL_ERROR_PEER_ID_TAKEN: "peer_id_taken": another peer in the room has this id
 * @PSC_PROTOCOL_ERROR_TIMEOUT: "timeout": the WebRTC session did not connect in time, or a
 *   connected viewer went silent
 * @PSC_PROTOCOL_ERROR_STREAM_FAILED: "stream_failed": the camera pipeline failed
 * @PSC_PROTOCOL_ERROR_TOO_MANY_PEERS: "too_many_peers": the viewer or peer limit is reached
 * @PSC_PROTOCOL_ERROR_RATE_LIMITED: "rate_limited": the peer sent more than its budget
 * @PSC_PROTOCOL_ERROR_INTERNAL: "internal": anything else
 * @PSC_PROTOCOL_ERROR_CONNECTION_FAILED: "connection_failed": ICE found no path, or DTLS
 *   failed
 * @PSC_PROTOCOL_ERROR_SESSION_ENDED: "session_ended": the viewer ended the WebRTC session
 *   (RTCP BYE)
 * @PSC_PROTOCOL_ERROR_NO_COMMON_CODEC: "no_common_codec": the viewer decodes no codec the
 *   stream can send
 * @PSC_PROTOCOL_ERROR_UNKNOWN_ROOM: "unknown_room": the room was neither made through the
 *   rooms API nor is a stream's (and the daemon does not make rooms on join, `--open-rooms`)
 * @PSC_PROTOCOL_ERROR_CHAT_UNAVAILABLE: "chat_unavailable": the chat history cannot be
 *   written (no database, read-only, full disk); the message was not sent
 *
 * The codes of #PSC_PROTOCOL_ERROR: errors a peer is told about in an `error` message. Each
 * has a stable wire name (psc_protocol_error_to_string()), the `code` field of the message.
 */
typedef enum {
  PSC_PROTOCOL_ERROR_TOO_LARGE,
  PSC_PROTOCOL_ERROR_INVALID_JSON,
  PSC_PROTOCOL_ERROR_UNKNOWN_TYPE,
  PSC_PROTOCOL_ERROR_MISSING_FIELD,
  PSC_PROTOCOL_ERROR_INVALID_FIELD,
  PSC_PROTOCOL_ERROR_UNKNOWN_PEER,
  PSC_PROTOCOL_ERROR_BAD_STATE,
  PSC_PROTOCOL_ERROR_BAD_SDP,
  PSC_PROTOCOL_ERROR_PEER_ID_TAKEN,
  PSC_PROTOCOL_ERROR_TIMEOUT,
  PSC_PROTOCOL_ERROR_STREAM_FAILED,
  PSC_PROTOCOL_ERROR_TOO_MANY_PEERS,
  PSC_PROTOCOL_ERROR_RATE_LIMITED,
  PSC_PROTOCOL_ERROR_INTERNAL,
  PSC_PROTOCOL_ERROR_CONNECTION_FAILED,
  PSC_PROTOCOL_ERROR_SESSION_ENDED,
  PSC_PROTOCOL_ERROR_NO_COMMON_CODEC,
  PSC_PROTOCOL_ERROR_UNKNOWN_ROOM,
  PSC_PROTOCOL_ERROR_CHAT_UNAVAILABLE,
} PscProtocolError;

/**
 * psc_protocol_error_to_string:
 * @code: an error code
 *
 * The `code` field of an `error` message (docs/protocol.md, "Errors").
 *
 * Returns: (transfer none): the wire name of @code, e.g. "missing_field".
 */
const char * psc_protocol_error_to_string (PscProtocolError code);

/**
 * PscMessageType:
 * @PSC_MESSAGE_OFFER: "offer": an SDP offer (the camera's to a browser), relayed between peers
 * @PSC_MESSAGE_ANSWER: "answer": an SDP answer to an offer
 * @PSC_MESSAGE_ICE_CANDIDATE: "ice_candidate": a trickled ICE candidate, or end-of-candidates
 * @PSC_MESSAGE_PEER_JOINED: "peer_joined": a peer joined the receiver's room
 * @PSC_MESSAGE_PEER_LEFT: "peer_left": a peer left the receiver's room
 * @PSC_MESSAGE_EXISTING_PEERS: "existing_peers": sent to a peer when it joins: its id, the
 *   room, the peers already there, the ICE servers
 * @PSC_MESSAGE_ERROR: "error": what went wrong, sent by the server only
 * @PSC_MESSAGE_STREAM_STATE: "stream_state": the stream's source went offline (with the
 *   reason) or is live again, sent by the server to the stream's room
 * @PSC_MESSAGE_CHAT: "chat": a chat message: a peer's text to the room or to one peer, and
 *   the same message as the server hands it out (with id, sender, name and time)
 * @PSC_MESSAGE_CHAT_HISTORY: "chat_history": the room's last stored chats, sent on join
 * @PSC_MESSAGE_VIEWERS: "viewers": how many viewers the room's camera has now
 * @PSC_MESSAGE_ROOM_CLOSED: "room_closed": the room was deleted; the socket closes next
 * @PSC_MESSAGE_REQUEST_OFFER: "request_offer": a peer asks the room's camera for a new
 *   session (a new offer), replacing the one it has, if any
 * @PSC_MESSAGE_PEER_STATE: "peer_state": whether a browser's microphone and camera are on,
 *   from that browser to the server and from the server to the others in its room
 *
 * The `type` of a signalling message. The names are those of the room/peer signalling
 * servers periscope grew from (offer, answer, ice_candidate, peer_joined, peer_left,
 * existing_peers), plus `error`.
 */
typedef enum {
  PSC_MESSAGE_OFFER,
  PSC_MESSAGE_ANSWER,
  PSC_MESSAGE_ICE_CANDIDATE,
  PSC_MESSAGE_PEER_JOINED,
  PSC_MESSAGE_PEER_LEFT,
  PSC_MESSAGE_EXISTING_PEERS,
  PSC_MESSAGE_ERROR,
  PSC_MESSAGE_STREAM_STATE,
  PSC_MESSAGE_CHAT,
  PSC_MESSAGE_CHAT_HISTORY,
  PSC_MESSAGE_VIEWERS,
  PSC_MESSAGE_ROOM_CLOSED,
  PSC_MESSAGE_REQUEST_OFFER,
  PSC_MESSAGE_PEER_STATE,
} PscMessageType;

/**
 * psc_message_type_to_string:
 * @type: a message type
 *
 * The `type` field of a message as it goes on the wire.
 *
 * Returns: (transfer none): the wire name, e.g. "ice_candidate".
 */
const char * psc_message_type_to_string (PscMessageType type);

/**
 * PscMessage:
 * @type: what the message is
 * @from_peer_id: (nullable): sender, filled in by the server when it relays or originates
 * @target_peer_id: (nullable): recipient; a message from a browser without one is for the
 *   room's camera
 * @sdp: (nullable): the SDP text of an offer or answer
 * @candidate: (nullable): an ICE candidate attribute value ("candidate:…", RFC 8839 §5.1),
 *   or "" for end-of-candidates
 * @sdp_mline_index: the m-line the candidate belongs to
 * @sdp_mid: (nullable): the media id the candidate belongs to
 * @peer_id: (nullable): the peer that joined or left; for existing_peers, the receiver's own id
 * @room: (nullable): for existing_peers, the room joined; for chat and room_closed, the room
 * @peers: (nullable): for existing_peers, the other peers in the room (camera first)
 * @peer_names: (nullable): for existing_peers, the display names of @peers, in their order
 *   (`peer_info`); %NULL: none sent
 * @peer_kinds: (nullable): for existing_peers, what each of @peers is ("camera" or
 *   "browser"); as long as @peer_names
 * @name: (nullable): a display name: the receiver's own in existing_peers, the peer's in
 *   peer_joined and peer_left, the sender's in chat
 * @kind: (nullable): for peer_joined and peer_left, "camera" or "browser"
 * @text: (nullable): for chat, the message
 * @chat_id: for chat as the server sends it, the message's id (0: none, a client's chat); a
 *   stored message's id, or with @is_private the number of `"p-N"`
 * @is_private: for chat, a message to @target_peer_id only (`"private": true`)
 * @time: (nullable): for chat, when the server got it (RFC 3339, UTC, ms)
 * @chats: (nullable) (element-type PscMessage): for chat_history, chat messages, oldest first
 * @count: for viewers, the camera's viewers
 * @audio: for peer_state, the peer's microphone is on
 * @video: for peer_state, the peer's camera is on
 * @error_code: (nullable): for error, a psc_protocol_error_to_string() name
 * @error_message: (nullable): for error, a sentence for a human
 * @state: (nullable): for stream_state, the stream's state ("live" or "offline")
 * @reason: (nullable): for stream_state when offline, why, in one line for a human
 * @ice_servers: (nullable): for offer and existing_peers, a JSON array of RTCIceServer
 *   objects to hand to the browser's RTCPeerConnection; a reference, released by
 *   psc_message_free(). The server sets a json_node_ref() of the one array
 *   psc_ice_servers_to_json_node() built; a node that is not an array is not sent.
 *
 * One signalling message, parsed or to be serialised. Free with psc_message_free().
 */
typedef struct {
  PscMessageType type;
  char *from_peer_id;
  char *target_peer_id;
  char *sdp;
  char *candidate;
  guint sdp_mline_index;
  char *sdp_mid;
  char *peer_id;
  char *room;
  GStrv peers;
  char *error_code;
  char *error_message;
  JsonNode *ice_servers;
  char *state;
  char *reason;
  GStrv peer_names;
  GStrv peer_kinds;
  char *name;
  char *kind;
  char *text;
  gint64 chat_id;
  gboolean is_private;
  char *time;
  GPtrArray *chats;
  guint count;
  gboolean audio;
  gboolean video;
} PscMessage;

/**
 * psc_message_new:
 * @type: the message type
 *
 * A message to fill in and send (psc_message_to_json()).
 *
 * Returns: (transfer full): an empty message of @type; free with psc_message_free().
 */
PscMessage * psc_message_new (PscMessageType type);

/**
 * psc_message_new_error:
 * @code: what went wrong
 * @message: a sentence for a human, saying what was wrong and, where it helps, what to do
 *   (copied)
 *
 * An `error` message with @code's wire name (psc_protocol_error_to_string()).
 *
 * Returns: (transfer full): an `error` message; free with psc_message_free().
 */
PscMessage * psc_message_new_error (PscProtocolError code, const char *message);

/**
 * psc_message_free:
 * @message: (nullable) (transfer full): a message, or %NULL
 *
 * Frees @message, its strings, and its reference to @ice_servers.
 */
void psc_message_free (PscMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscMessage, psc_message_free)

/**
 * psc_message_parse:
 * @data: the text of one WebSocket message (not necessarily NUL-terminated)
 * @length: its length in bytes
 * @error: a PSC_PROTOCOL_ERROR on failure
 *
 * Parses and validates one message: size, JSON, `type`, and the fields that type requires
 * with their JSON types. Ids must be 1..PSC_PROTOCOL_MAX_ID_LENGTH bytes of
 * `[A-Za-z0-9_.-]`. A candidate must start with "candidate:" (an "a=" prefix is dropped,
 * as browsers differ), or be empty/null for end-of-candidates (RFC 8838 §4.5).
 * Unknown extra fields are ignored so that newer clients still talk to older servers.
 *
 * Returns: (transfer full): the message, or %NULL with @error set.
 */
PscMessage * psc_message_parse (const char *data, gsize length, GError **error);

/**
 * psc_message_to_json:
 * @message: a message
 *
 * Serialises the fields @message's type carries (docs/protocol.md); %NULL strings are left
 * out.
 *
 * Returns: (transfer full): @message as compact JSON text.
 */
char * psc_message_to_json (const PscMessage *message);

/**
 * psc_protocol_check_chat_text:
 * @text: a chat text from a peer (UTF-8 checked here too: a data channel's string may not be)
 * @length: its length in bytes, or -1 if NUL-terminated
 * @error: %PSC_PROTOCOL_ERROR_TOO_LARGE over #PSC_PROTOCOL_MAX_CHAT_TEXT bytes,
 *   %PSC_PROTOCOL_ERROR_INVALID_FIELD empty, not UTF-8 or with a NUL
 *
 * The one rule for chat texts (docs/protocol.md, "chat"): 1 to #PSC_PROTOCOL_MAX_CHAT_TEXT
 * bytes of UTF-8 once white space is trimmed from both ends, no NUL.
 *
 * Returns: (transfer full): the trimmed text, or %NULL with @error set.
 */
char *   psc_protocol_check_chat_text (const char *text, gssize length, GError **error);

/**
 * psc_protocol_check_name:
 * @name: a display name (the `name` query parameter of the WebSocket URL)
 * @error: %PSC_PROTOCOL_ERROR_INVALID_FIELD
 *
 * The one rule for display names: 1 to #PSC_PROTOCOL_MAX_NAME_LENGTH characters of UTF-8
 * once white space is trimmed from both ends, no control characters (Unicode Cc: no line
 * breaks, no escape sequences in someone else's page or log).
 *
 * Returns: (transfer full): the trimmed name, or %NULL with @error set.
 */
char *   psc_protocol_check_name (const char *name, GError **error);

/**
 * psc_protocol_format_time:
 * @us: µs since the Unix epoch
 *
 * The one time format of chats, in messages and the REST API: RFC 3339 in UTC with
 * milliseconds, "2026-11-30T10:20:31.123Z".
 *
 * Returns: (transfer full): @us as text.
 */
char *   psc_protocol_format_time (gint64 us);

/**
 * psc_protocol_id_is_valid:
 * @id: (nullable): a peer or room id from the wire or a URL path
 *
 * The one rule for ids: 1 to #PSC_PROTOCOL_MAX_ID_LENGTH bytes of `[A-Za-z0-9_.-]`, so an id
 * is safe in a URL path, an element name and a log line.
 *
 * Returns: %TRUE if @id is usable as a peer or room id; %FALSE for %NULL.
 */
gboolean psc_protocol_id_is_valid (const char *id);

/**
 * psc_protocol_is_one_json_object:
 * @data: (array length=length): text from a client
 * @length: its length in bytes
 *
 * Whether @data can be one JSON object and nothing after it (whitespace aside), with no string
 * escape JSON does not have (RFC 8259 §7): to be checked before json_parser_load_from_data()
 * on anything a client sent. json-glib 1.6 leaks the first of two top-level values (`{}{}`),
 * and its GScanner takes escapes such as octal `\222`, which can make a string that is not
 * UTF-8; see the WORKAROUND in psc-protocol.c.
 *
 * Returns: %TRUE if @data may be handed to the parser
 */
gboolean psc_protocol_is_one_json_object (const char *data, gsize length);

G_END_DECLS
