/* periscope — rooms and peers over WebSocket: the camera's offer, relays between browsers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-signalling.h"
#include "psc-protocol.h"
#include "psc-sdp.h"
#include "psc-websocket.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (psc_signalling_debug);
#define GST_CAT_DEFAULT psc_signalling_debug

/* Seconds between WebSocket pings: a viewer whose network vanished is noticed. */
#define KEEPALIVE_S 15
/* Peers in rooms without a camera, over all of them: relays cost only memory, but that too
 * must be bounded against a client opening sockets in a loop. */
#define MAX_RELAY_PEERS 256
/* Each peer's inbound budget, a token bucket per second with a burst allowance. Generous
 * for signalling (one offer, an answer and a few dozen candidates per session) and small
 * enough that no peer can flood the daemon, or another peer through relays. */
#define BUDGET_MESSAGES_PER_S 50
#define BUDGET_MESSAGES_BURST 200
#define BUDGET_BYTES_PER_S (256 * 1024)
#define BUDGET_BYTES_BURST (1024 * 1024)
/* Log lines about one peer (or about refusals, which have no peer yet): the first few in each
 * interval, then one line saying how many were left out. A client must not be able to fill
 * the journal; the counters still count everything. */
#define LOG_BURST 5
#define LOG_INTERVAL_S 10
/* Each peer's chat budget (rooms-spec): 5 messages a second, bursts of 20. Over it, the
 * message is refused with `rate_limited` and the socket stays open; the transport budget
 * above still closes a flood. */
#define CHAT_PER_S 5
#define CHAT_BURST 20
/* The stored messages a joining peer gets (`chat_history`). */
#define CHAT_HISTORY_ON_JOIN 50
/* How often the camera's viewer count is looked at, and sent when it changed: at most two
 * `viewers` messages a second, however fast viewers come and go. */
#define VIEWERS_INTERVAL_MS 500

/* request_offer: at most one new session with the camera a second per peer (each is a
 * webrtcbin, with its threads and its DTLS handshake). */
#define SESSION_RESTART_MIN_US G_USEC_PER_SEC

typedef struct {
  gint64 window_start_us;       /* monotonic */
  guint logged;
  guint suppressed;
} LogBudget;

typedef struct _Room Room;

/* What a room is: a stream's (its camera offers to every peer), one made through the rooms
 * API (#PscRooms; a call, with the camera of its stream if it has one), or one made by its
 * first peer (--open-rooms). */
typedef enum {
  ROOM_STREAM,
  ROOM_CALL,
  ROOM_OPEN,
} RoomKind;

static const char *const room_kind_names[] = {
  [ROOM_STREAM] = "stream",
  [ROOM_CALL] = "call",
  [ROOM_OPEN] = "open",
};

typedef struct {
  PscSignalling *signalling;    /* not owned */
  Room *room;                   /* not owned */
  char *id;
  char *name;                   /* the display name */
  gboolean datachannel;         /* asked for a chat data channel with the camera */
  PscCodec codec;               /* what the camera sends it (rooms with a camera) */
  char *announce;               /* nullable: the H.264 profile-level-id offered, if not the
                                 * stream's */
  gint64 session_started_us;    /* monotonic: the last session with the camera started */
  gboolean state_known;         /* it sent peer_state: audio and video below are its own */
  gboolean audio;
  gboolean video;
  char *address;                /* nullable: the remote IP address */
  gboolean seated;              /* a seat of address is taken (psc_registry_take_seat()) */
  SoupWebsocketConnection *connection;
  PscViewer *viewer;            /* nullable: relay rooms, or after the session ended */
  gint64 joined_at;             /* µs since the epoch */
  gint64 budget_updated_us;     /* monotonic */
  double budget_messages;
  double budget_bytes;
  guint64 received_bytes;       /* psc_websocket_get_received_bytes() at the last message */
  gint64 chat_updated_us;       /* monotonic */
  double chat_budget;
  LogBudget log_budget;
} Peer;

struct _Room {
  char *id;
  RoomKind kind;
  PscStream *stream;            /* nullable: a room without a camera */
  guint viewers_timer;          /* while peers are in a room with a camera */
  guint viewers_sent;           /* the count last sent */
  gulong stream_error_handler;
  gulong stream_state_handler;
  GHashTable *peers;            /* id -> Peer*, owned */
  GPtrArray *order;             /* Peer*, in joining order, not owned */
};

struct _PscSignalling {
  GObject parent;

  PscRegistry *registry;
  gulong stream_added_handler;
  GHashTable *rooms;            /* id -> Room*, owned */
  PscViewerOptions viewer_options;
  JsonNode *ice_servers;        /* handed to browsers in existing_peers and offer */
  gboolean shutting_down;
  PscSignallingCounters counters;
  guint stream_peers;           /* peers in rooms with a camera (each has a viewer) */
  LogBudget refusal_log_budget;
  LogBudget peer_log_budget;     /* lines about peers, all of them together (peer_message) */
  guint relay_peers;            /* peers in rooms without one */
  PscRooms *call_rooms;          /* the rooms API's, and --open-rooms */
  gint64 private_chats;         /* the N of the last private chat's id, "p-N" */
  gboolean chat_failing;        /* the store's failure is logged once, until it works again */
};

G_DEFINE_FINAL_TYPE (PscSignalling, psc_signalling, G_TYPE_OBJECT)

static void peer_free (Peer *peer);

static void
room_free (Room *room)
{
  if (room->stream_error_handler != 0)
    g_signal_handler_disconnect (room->stream, room->stream_error_handler);
  if (room->stream_state_handler != 0)
    g_signal_handler_disconnect (room->stream, room->stream_state_handler);
  g_clear_object (&room->stream);
  g_clear_handle_id (&room->viewers_timer, g_source_remove);
  g_ptr_array_unref (room->order);
  g_hash_table_unref (room->peers);
  g_free (room->id);
  g_free (room);
}

static Room *
room_new (const char *id, RoomKind kind, PscStream *stream)
{
  Room *room = g_new0 (Room, 1);

  room->id = g_strdup (id);
  room->kind = kind;
  room->stream = stream ? g_object_ref (stream) : NULL;
  room->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) peer_free);
  room->order = g_ptr_array_new ();
  return room;
}

static void
psc_signalling_finalize (GObject *object)
{
  PscSignalling *self = PSC_SIGNALLING (object);

  g_clear_signal_handler (&self->stream_added_handler, self->registry);
  g_hash_table_unref (self->rooms);
  g_clear_object (&self->registry);
  g_clear_object (&self->call_rooms);
  psc_ice_options_clear (&self->viewer_options.ice);
  g_clear_pointer (&self->ice_servers, json_node_unref);
  G_OBJECT_CLASS (psc_signalling_parent_class)->finalize (object);
}

static void
psc_signalling_class_init (PscSignallingClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psc_signalling_finalize;
}

static void
psc_signalling_init (PscSignalling *self)
{
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) room_free);
}

static void add_stream_room (PscSignalling *self, PscStream *stream);

static void
on_stream_added (PscRegistry *registry, PscStream *stream, gpointer user_data)
{
  add_stream_room (user_data, stream);
}

PscSignalling *
psc_signalling_new (PscRegistry *registry, const PscViewerOptions *options)
{
  PscSignalling *self;
  GPtrArray *streams;

  g_return_val_if_fail (PSC_IS_REGISTRY (registry) && options != NULL, NULL);

  if (psc_signalling_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_signalling_debug, "psc-signalling", 0, "periscope signalling");

  self = g_object_new (PSC_TYPE_SIGNALLING, NULL);
  self->registry = g_object_ref (registry);
  self->viewer_options = *options;
  psc_ice_options_copy (&options->ice, &self->viewer_options.ice);
  self->ice_servers = psc_ice_servers_to_json_node (options->ice.servers);
  /* Today's rooms until psc_signalling_set_rooms(): made on join, no history. */
  self->call_rooms = psc_rooms_new (NULL, TRUE);
  streams = psc_registry_get_streams (registry);
  for (guint i = 0; i < streams->len; i++)
    add_stream_room (self, g_ptr_array_index (streams, i));
  self->stream_added_handler = g_signal_connect (registry, "stream-added",
      G_CALLBACK (on_stream_added), self);
  return self;
}

/* ---- Logging, a few lines per client ---- */

/* Returns whether a line may be logged now; says first how many were left out before. */
static gboolean
log_budget_take (LogBudget *budget, const char *about)
{
  gint64 now = g_get_monotonic_time ();

  if (budget->window_start_us == 0 ||
      now - budget->window_start_us >= LOG_INTERVAL_S * G_USEC_PER_SEC) {
    if (budget->suppressed > 0)
      g_message ("%s: %u more log lines left out in %d s", about, budget->suppressed,
          LOG_INTERVAL_S);
    budget->window_start_us = now;
    budget->logged = 0;
    budget->suppressed = 0;
  }
  if (budget->logged < LOG_BURST) {
    budget->logged++;
    return TRUE;
  }
  budget->suppressed++;
  return FALSE;
}

/* The line that closes a budget: the count of what was left out since its last summary. */
static void
log_budget_flush (LogBudget *budget, const char *about)
{
  if (budget->suppressed > 0)
    g_message ("%s: %u more log lines left out", about, budget->suppressed);
  budget->suppressed = 0;
}

/* A line about one peer: within the peer's budget, and within one shared by all peers, so
 * that a client opening many connections (each closed for its limits) is bounded too. */
#define peer_message(peer, ...) G_STMT_START { \
    g_autofree char *about_ = g_strdup_printf ("peer %s of room %s", (peer)->id, \
        (peer)->room->id); \
    if (log_budget_take (&(peer)->log_budget, about_) && \
        log_budget_take (&(peer)->signalling->peer_log_budget, "peers")) \
      g_message (__VA_ARGS__); \
  } G_STMT_END

/* ---- Sending ---- */

/* Closes unless a close is under way already (libsoup refuses a second close frame). */
static void
close_connection (SoupWebsocketConnection *connection, gushort code, const char *reason)
{
  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (connection, code, reason);
}

static void drop_viewer (Peer *peer);

/* A peer that does not read what it is sent is closed, rather than its queue growing in
 * libsoup without bound (a browser tab frozen, or a client relayed to by others). */
static void
drop_slow_peer (Peer *peer, guint64 unsent)
{
  peer->signalling->counters.refused_total++;
  peer_message (peer, "peer %s of room %s closed: it does not read (%" G_GUINT64_FORMAT
      " KiB unsent, the limit is %d KiB)", peer->id, peer->room->id, unsent / 1024,
      PSC_SIGNALLING_MAX_UNSENT / 1024);
  drop_viewer (peer);
  close_connection (peer->connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
      "not reading: too much unsent");
}

static void
send_message (Peer *peer, const PscMessage *message)
{
  g_autofree char *text = NULL;
  guint64 unsent;

  if (soup_websocket_connection_get_state (peer->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  text = psc_message_to_json (message);
  unsent = psc_websocket_get_unsent_bytes (peer->connection);
  if (unsent + strlen (text) > PSC_SIGNALLING_MAX_UNSENT) {
    drop_slow_peer (peer, unsent);
    return;
  }
  psc_websocket_send_text (peer->connection, text);
}

PscProtocolError
psc_signalling_error_code (const GError *error)
{
  g_return_val_if_fail (error != NULL, PSC_PROTOCOL_ERROR_INTERNAL);

  if (error->domain == PSC_PROTOCOL_ERROR)
    return error->code;
  if (error->domain == PSC_SDP_ERROR)
    return PSC_PROTOCOL_ERROR_BAD_SDP;
  if (error->domain == PSC_REGISTRY_ERROR)
    return error->code == PSC_REGISTRY_ERROR_NO_STREAM ? PSC_PROTOCOL_ERROR_UNKNOWN_PEER :
        PSC_PROTOCOL_ERROR_TOO_MANY_PEERS;
  if (error->domain == PSC_VIEWER_ERROR) {
    switch ((PscViewerError) error->code) {
      case PSC_VIEWER_ERROR_BAD_STATE:
        return PSC_PROTOCOL_ERROR_BAD_STATE;
      case PSC_VIEWER_ERROR_BAD_CANDIDATE:
        return PSC_PROTOCOL_ERROR_INVALID_FIELD;
      case PSC_VIEWER_ERROR_REMOTE_SDP:
        return PSC_PROTOCOL_ERROR_BAD_SDP;
      case PSC_VIEWER_ERROR_CONNECT_TIMEOUT:
      case PSC_VIEWER_ERROR_SILENT:
        return PSC_PROTOCOL_ERROR_TIMEOUT;
      case PSC_VIEWER_ERROR_ENDED:
        return PSC_PROTOCOL_ERROR_SESSION_ENDED;
      case PSC_VIEWER_ERROR_CONNECTION_FAILED:
        return PSC_PROTOCOL_ERROR_CONNECTION_FAILED;
      case PSC_VIEWER_ERROR_BUILD:
      case PSC_VIEWER_ERROR_NEGOTIATION:
      case PSC_VIEWER_ERROR_FAILED:
        break;
    }
  }
  return PSC_PROTOCOL_ERROR_INTERNAL;
}

/* @from: (nullable): the peer the error is about (the camera, for its session), sent as
 * from_peer_id. */
static void
send_error_from (Peer *peer, const char *from, const GError *error)
{
  g_autoptr (PscMessage) message = psc_message_new_error (psc_signalling_error_code (error),
      error->message);

  message->from_peer_id = g_strdup (from);
  peer->signalling->counters.protocol_errors_total++;
  GST_INFO ("peer %s: error %s: %s", peer->id, message->error_code, error->message);
  send_message (peer, message);
}

static void
send_error (Peer *peer, const GError *error)
{
  send_error_from (peer, NULL, error);
}

static void
broadcast (Room *room, Peer *except, const PscMessage *message)
{
  for (guint i = 0; i < room->order->len; i++) {
    Peer *other = g_ptr_array_index (room->order, i);
    if (other != except)
      send_message (other, message);
  }
}

static void
broadcast_membership (Room *room, Peer *peer, PscMessageType type)
{
  g_autoptr (PscMessage) message = psc_message_new (type);

  message->peer_id = g_strdup (peer->id);
  message->name = g_strdup (peer->name);
  message->kind = g_strdup ("browser");
  broadcast (room, peer, message);
}

/* The camera's peer id in a room with one: its stream's id. */
static const char *
camera_id (Room *room)
{
  return psc_stream_get_id (room->stream);
}

/* ---- The camera peer's session with one browser ---- */

static void
on_viewer_offer (PscViewer *viewer, const char *sdp, gpointer user_data)
{
  Peer *peer = user_data;
  g_autoptr (PscMessage) message = psc_message_new (PSC_MESSAGE_OFFER);

  message->from_peer_id = g_strdup (camera_id (peer->room));
  message->target_peer_id = g_strdup (peer->id);
  message->sdp = g_strdup (sdp);
  message->ice_servers = json_node_ref (peer->signalling->ice_servers);
  send_message (peer, message);
}

static void
on_viewer_ice_candidate (PscViewer *viewer, guint mline, const char *candidate,
    gpointer user_data)
{
  Peer *peer = user_data;
  g_autoptr (PscMessage) message = psc_message_new (PSC_MESSAGE_ICE_CANDIDATE);

  message->from_peer_id = g_strdup (camera_id (peer->room));
  message->target_peer_id = g_strdup (peer->id);
  message->candidate = g_strdup (candidate);
  message->sdp_mline_index = mline;
  send_message (peer, message);
}

static void
on_viewer_connected (PscViewer *viewer, gpointer user_data)
{
  Peer *peer = user_data;

  peer_message (peer, "viewer %s is watching stream %s", peer->id, peer->room->id);
}

static void
drop_viewer (Peer *peer)
{
  if (peer->viewer == NULL)
    return;
  g_signal_handlers_disconnect_by_data (peer->viewer, peer);
  psc_viewer_stop (peer->viewer);
  g_clear_object (&peer->viewer);
}

/* A peer of a stream's room is there for its session with the camera: once that ended, the
 * socket is closed too, after the `error`. Otherwise a peer whose session failed would stay,
 * uncounted by --max-viewers (which counts sessions) and by the relay cap (which counts
 * peers without a camera). The page reconnects for a new session. A call's peer stays in
 * its call (it counts as a relay peer), its calls with the other browsers go on, and it may
 * ask for a new session (request_offer). */
static void
close_after_session (Peer *peer, const GError *error)
{
  gboolean internal = psc_signalling_error_code (error) == PSC_PROTOCOL_ERROR_INTERNAL;

  if (peer->room->kind != ROOM_STREAM)
    return;
  close_connection (peer->connection, internal ? SOUP_WEBSOCKET_CLOSE_SERVER_ERROR :
      SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, internal ? "WebRTC session failed" :
      "WebRTC session ended");
}

static void
on_viewer_failed (PscViewer *viewer, GError *error, gpointer user_data)
{
  Peer *peer = user_data;

  peer->signalling->counters.viewers_failed_total++;
  peer_message (peer, "viewer %s of stream %s dropped: %s", peer->id, peer->room->id,
      error->message);
  send_error_from (peer, camera_id (peer->room), error);
  drop_viewer (peer);
  close_after_session (peer, error);
}

static void on_viewer_chat (PscViewer *viewer, const char *text, gpointer user_data);

/* Returns FALSE, with the peer told why and its socket closed, if the viewer cannot start.
 * @announce: (nullable): the H.264 profile-level-id to offer, if not the stream's. */
static gboolean
start_viewer (Peer *peer, PscCodec codec, const char *announce)
{
  PscSignalling *self = peer->signalling;
  g_autoptr (GError) error = NULL;

  GST_INFO ("peer %s of stream %s gets %s", peer->id, peer->room->id,
      psc_codec_to_string (codec));
  peer->session_started_us = g_get_monotonic_time ();
  peer->viewer = psc_viewer_new (peer->room->stream, peer->id, codec, &self->viewer_options);
  if (announce != NULL)
    psc_viewer_set_profile_level_id (peer->viewer, announce);
  g_signal_connect (peer->viewer, "offer", G_CALLBACK (on_viewer_offer), peer);
  g_signal_connect (peer->viewer, "ice-candidate", G_CALLBACK (on_viewer_ice_candidate), peer);
  g_signal_connect (peer->viewer, "connected", G_CALLBACK (on_viewer_connected), peer);
  g_signal_connect (peer->viewer, "failed", G_CALLBACK (on_viewer_failed), peer);
  if (peer->datachannel) {
    psc_viewer_enable_chat (peer->viewer);
    g_signal_connect (peer->viewer, "chat", G_CALLBACK (on_viewer_chat), peer);
  }
  if (psc_viewer_start (peer->viewer, &error))
    return TRUE;
  self->counters.viewers_failed_total++;
  peer_message (peer, "viewer %s of stream %s refused: %s", peer->id, peer->room->id,
      error->message);
  send_error_from (peer, camera_id (peer->room), error);
  drop_viewer (peer);
  close_after_session (peer, error);
  return FALSE;
}

/* ---- Chat ---- */

/* A stored chat as the `chat` message peers get. */
static PscMessage *
chat_message (const PscChat *chat)
{
  PscMessage *message;

  message = psc_message_new (PSC_MESSAGE_CHAT);
  message->chat_id = chat->id;
  message->room = g_strdup (chat->room);
  message->text = g_strdup (chat->text);
  message->from_peer_id = g_strdup (chat->from_peer_id);
  message->name = g_strdup (chat->name);
  message->time = psc_protocol_format_time (chat->time);
  return message;
}

/* Sends @message to @peer's WebSocket, and to its chat data channel if it has one. */
static void
send_chat (Peer *peer, const PscMessage *message)
{
  send_message (peer, message);
  if (peer->viewer != NULL && peer->datachannel) {
    g_autofree char *text = psc_message_to_json (message);
    psc_viewer_send_chat (peer->viewer, text);
  }
}

/* Refills the peer's chat bucket for the time passed and takes one message from it. */
static gboolean
spend_chat_budget (Peer *peer)
{
  gint64 now = g_get_monotonic_time ();

  peer->chat_budget = MIN (CHAT_BURST, peer->chat_budget +
      (now - peer->chat_updated_us) / (double) G_USEC_PER_SEC * CHAT_PER_S);
  peer->chat_updated_us = now;
  if (peer->chat_budget < 1)
    return FALSE;
  peer->chat_budget -= 1;
  return TRUE;
}

/* A room message: stored (its id is the store's), then sent to every peer, the sender
 * included. Without a store that works, nobody gets it: the sender is told. */
static gboolean
send_room_chat (Peer *peer, const char *text, GError **error)
{
  PscSignalling *self = peer->signalling;
  PscHistory *history = psc_rooms_get_history (self->call_rooms);
  g_autoptr (GPtrArray) chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_chat_free);
  g_autoptr (GError) store_error = NULL;
  g_autoptr (PscMessage) message = NULL;

  if (history == NULL) {
    g_set_error_literal (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_CHAT_UNAVAILABLE,
        "chat is unavailable: periscope has no chat database (see its log)");
    return FALSE;
  }
  g_ptr_array_add (chats, psc_chat_new (peer->room->id, text, peer->id, peer->name,
          g_get_real_time ()));
  if (!psc_history_append (history, chats, &store_error)) {
    if (!self->chat_failing)
      g_warning ("chat is unavailable: %s", store_error->message);
    self->chat_failing = TRUE;
    g_set_error_literal (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_CHAT_UNAVAILABLE,
        "chat is unavailable: the chat database cannot be written (see periscope's log)");
    return FALSE;
  }
  if (self->chat_failing)
    g_message ("chat works again: %s is written", psc_history_get_path (history));
  self->chat_failing = FALSE;
  message = chat_message (g_ptr_array_index (chats, 0));
  for (guint i = 0; i < peer->room->order->len; i++)
    send_chat (g_ptr_array_index (peer->room->order, i), message);
  return TRUE;
}

/* A chat from @peer, over its WebSocket or its data channel: @text as the peer sent it, to
 * the room or, with @target, to one peer. */
static gboolean
handle_chat (Peer *peer, const char *text, gssize length, const char *target, GError **error)
{
  g_autofree char *checked = NULL;
  g_autoptr (PscMessage) message = NULL;
  Peer *to;

  if (!spend_chat_budget (peer)) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_RATE_LIMITED,
        "more than %d chat messages a second (bursts of %d): this one was not sent",
        CHAT_PER_S, CHAT_BURST);
    return FALSE;
  }
  checked = psc_protocol_check_chat_text (text, length, error);
  if (checked == NULL)
    return FALSE;
  if (target == NULL)
    return send_room_chat (peer, checked, error);

  /* Private: not stored, to the target and back to the sender. */
  to = g_hash_table_lookup (peer->room->peers, target);
  if (to == NULL || to == peer) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_UNKNOWN_PEER,
        "no peer \"%s\" to chat with in room %s", target, peer->room->id);
    return FALSE;
  }
  message = psc_message_new (PSC_MESSAGE_CHAT);
  message->chat_id = ++peer->signalling->private_chats;
  message->is_private = TRUE;
  message->room = g_strdup (peer->room->id);
  message->text = g_steal_pointer (&checked);
  message->from_peer_id = g_strdup (peer->id);
  message->target_peer_id = g_strdup (to->id);
  message->name = g_strdup (peer->name);
  message->time = psc_protocol_format_time (g_get_real_time ());
  send_chat (to, message);
  send_chat (peer, message);
  return TRUE;
}

/* The viewer's chat data channel got a text (main context). */
static void
on_viewer_chat (PscViewer *viewer, const char *text, gpointer user_data)
{
  Peer *peer = user_data;
  g_autoptr (GError) error = NULL;

  if (!handle_chat (peer, text, -1, NULL, &error)) {
    g_autoptr (PscMessage) message = psc_message_new_error (psc_signalling_error_code (error),
        error->message);
    g_autofree char *json = psc_message_to_json (message);

    /* Said where it was sent, and on the WebSocket as every error is. */
    psc_viewer_send_chat (viewer, json);
    send_error (peer, error);
  }
}

/* ---- Messages from a browser ---- */

static gboolean
relay (Peer *peer, PscMessage *message, GError **error)
{
  Peer *target = g_hash_table_lookup (peer->room->peers, message->target_peer_id);

  if (target == NULL || target == peer) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_UNKNOWN_PEER,
        "no peer \"%s\" in room %s", message->target_peer_id, peer->room->id);
    return FALSE;
  }
  g_free (message->from_peer_id);
  message->from_peer_id = g_strdup (peer->id);
  send_message (target, message);
  return TRUE;
}

/* request_offer: a new session with the camera, in place of the one the peer has (a
 * browser whose connection failed, or whose session the server ended, in a call it stays
 * in). A request too soon after the last session started is refused with `rate_limited`
 * from the camera, as the session's own errors are, and the socket stays open. */
static void
restart_session (Peer *peer)
{
  if (g_get_monotonic_time () - peer->session_started_us < SESSION_RESTART_MIN_US) {
    g_autoptr (GError) soon = g_error_new_literal (PSC_PROTOCOL_ERROR,
        PSC_PROTOCOL_ERROR_RATE_LIMITED,
        "at most one new session with the camera a second: ask again later");
    send_error_from (peer, camera_id (peer->room), soon);
    return;
  }
  if (peer->viewer != NULL)
    GST_INFO ("peer %s of room %s restarts its session with the camera", peer->id,
        peer->room->id);
  drop_viewer (peer);
  start_viewer (peer, peer->codec, peer->announce);
}

/* A peer_state message from @peer, as the others get it. */
static PscMessage *
peer_state_message (Peer *peer)
{
  PscMessage *message = psc_message_new (PSC_MESSAGE_PEER_STATE);

  message->from_peer_id = g_strdup (peer->id);
  message->audio = peer->audio;
  message->video = peer->video;
  return message;
}

/* peer_state: kept, for those who join later, and passed on to the room when it changed.
 * One message goes to every peer: it spends the sender's chat budget (a person's mute
 * button is not pressed five times a second). */
static gboolean
set_peer_state (Peer *peer, const PscMessage *message, GError **error)
{
  g_autoptr (PscMessage) state = NULL;

  if (!spend_chat_budget (peer)) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_RATE_LIMITED,
        "more than %d chat and peer_state messages a second (bursts of %d): this one was "
        "not passed on", CHAT_PER_S, CHAT_BURST);
    return FALSE;
  }
  if (peer->state_known && peer->audio == message->audio && peer->video == message->video)
    return TRUE;
  peer->state_known = TRUE;
  peer->audio = message->audio;
  peer->video = message->video;
  state = peer_state_message (peer);
  broadcast (peer->room, peer, state);
  return TRUE;
}

static gboolean
handle_message (Peer *peer, PscMessage *message, GError **error)
{
  Room *room = peer->room;
  gboolean for_camera = room->stream != NULL &&
      (message->target_peer_id == NULL || g_str_equal (message->target_peer_id,
          camera_id (room)));

  switch (message->type) {
    case PSC_MESSAGE_CHAT:
      return handle_chat (peer, message->text, -1, message->target_peer_id, error);
    case PSC_MESSAGE_PEER_STATE:
      return set_peer_state (peer, message, error);
    case PSC_MESSAGE_OFFER:
      if (for_camera) {
        g_set_error_literal (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_BAD_STATE,
            "the camera makes the offer; answer it instead");
        return FALSE;
      }
      break;
    case PSC_MESSAGE_ANSWER:
    case PSC_MESSAGE_ICE_CANDIDATE:
      if (!for_camera)
        break;
      if (peer->viewer == NULL) {
        g_set_error_literal (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_BAD_STATE,
            "no WebRTC session with the camera (it ended): send request_offer for a new one");
        return FALSE;
      }
      if (message->type == PSC_MESSAGE_ANSWER)
        return psc_viewer_set_answer (peer->viewer, message->sdp, error);
      return psc_viewer_add_ice_candidate (peer->viewer, message->sdp_mline_index,
          message->candidate, error);
    case PSC_MESSAGE_REQUEST_OFFER:
      if (!for_camera) {
        g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_BAD_STATE,
            room->stream == NULL ? "room %s has no camera to ask for an offer" :
            "only the camera (%s) takes request_offer: browsers offer to each other",
            room->stream == NULL ? room->id : camera_id (room));
        return FALSE;
      }
      restart_session (peer);
      return TRUE;
    default:
      g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_BAD_STATE,
          "only the server sends \"%s\" messages", psc_message_type_to_string (message->type));
      return FALSE;
  }
  if (message->target_peer_id == NULL) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_MISSING_FIELD,
        "target_peer_id is required in a room without a camera");
    return FALSE;
  }
  return relay (peer, message, error);
}

/* Refills the peer's token buckets for the time passed, then takes one message of @length
 * bytes. Returns FALSE when either bucket is empty. */
static gboolean
spend_budget (Peer *peer, gsize length)
{
  gint64 now = g_get_monotonic_time ();
  double elapsed_s = (now - peer->budget_updated_us) / (double) G_USEC_PER_SEC;

  peer->budget_updated_us = now;
  peer->budget_messages = MIN (BUDGET_MESSAGES_BURST,
      peer->budget_messages + elapsed_s * BUDGET_MESSAGES_PER_S);
  peer->budget_bytes = MIN (BUDGET_BYTES_BURST,
      peer->budget_bytes + elapsed_s * BUDGET_BYTES_PER_S);
  if (peer->budget_messages < 1 || peer->budget_bytes < length)
    return FALSE;
  peer->budget_messages -= 1;
  peer->budget_bytes -= length;
  return TRUE;
}

static void
on_message (SoupWebsocketConnection *connection, int data_type, GBytes *bytes,
    gpointer user_data)
{
  Peer *peer = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) message = NULL;
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  guint64 received = psc_websocket_get_received_bytes (connection);

  /* libsoup delivers messages until the client's close frame: a peer being closed (over its
   * budget, say) is not answered, logged or counted again for each. */
  if (soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  /* The budget charges what was read since the last message, frame headers and pings
   * included, when the connection counts it (psc-websocket); the message otherwise. */
  if (received > peer->received_bytes) {
    length = MAX (length, received - peer->received_bytes);
    peer->received_bytes = received;
  }
  if (!spend_budget (peer, length)) {
    g_autoptr (GError) limit = g_error_new (PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_RATE_LIMITED,
        "more than %d messages or %d KiB per second: closing", BUDGET_MESSAGES_PER_S,
        BUDGET_BYTES_PER_S / 1024);
    peer->signalling->counters.refused_total++;
    peer_message (peer, "peer %s of room %s closed: %s", peer->id, peer->room->id,
        limit->message);
    send_error (peer, limit);
    close_connection (peer->connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "rate limited");
    return;
  }
  if (data_type != SOUP_WEBSOCKET_DATA_TEXT) {
    g_set_error_literal (&error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_JSON,
        "binary messages are not part of the protocol: send JSON text");
  } else {
    message = psc_message_parse (data, g_bytes_get_size (bytes), &error);
    if (message != NULL)
      handle_message (peer, message, &error);
  }
  if (error != NULL)
    send_error (peer, error);
}

static void
leave (Peer *peer)
{
  PscSignalling *self = peer->signalling;
  Room *room = peer->room;

  GST_INFO ("peer %s left room %s", peer->id, room->id);
  if (psc_websocket_is_over_limit (peer->connection)) {
    self->counters.refused_total++;
    peer_message (peer, "peer %s of room %s closed: a message over %d KiB", peer->id, room->id,
        PSC_SIGNALLING_MAX_FRAME / 1024);
  }
  if (peer->viewer != NULL)
    peer_message (peer, "viewer %s of stream %s left", peer->id, room->id);
  {
    g_autofree char *about = g_strdup_printf ("peer %s of room %s", peer->id, room->id);
    log_budget_flush (&peer->log_budget, about);
  }
  g_ptr_array_remove (room->order, peer);
  if (room->kind == ROOM_STREAM)
    self->stream_peers--;
  else
    self->relay_peers--;
  broadcast_membership (room, peer, PSC_MESSAGE_PEER_LEFT);
  g_hash_table_remove (room->peers, peer->id);     /* frees peer */
  if (g_hash_table_size (room->peers) > 0)
    return;
  g_clear_handle_id (&room->viewers_timer, g_source_remove);
  if (room->kind == ROOM_CALL)
    psc_rooms_set_occupied (self->call_rooms, room->id, FALSE);
  /* A call's or an open room's state is its peers: made again on the next join. */
  if (room->kind != ROOM_STREAM)
    g_hash_table_remove (self->rooms, room->id);
}

static void
on_closed (SoupWebsocketConnection *connection, gpointer user_data)
{
  leave (user_data);
}

static void
peer_free (Peer *peer)
{
  drop_viewer (peer);
  g_signal_handlers_disconnect_by_data (peer->connection, peer);
  close_connection (peer->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_object_unref (peer->connection);
  if (peer->seated)
    psc_registry_release_seat (peer->signalling->registry, peer->address);
  g_free (peer->address);
  g_free (peer->name);
  g_free (peer->announce);
  g_free (peer->id);
  g_free (peer);
}

/* ---- Rooms ---- */

static void
on_stream_error (PscStream *stream, GError *error, gpointer user_data)
{
  Room *room = user_data;
  g_autoptr (PscMessage) message = psc_message_new_error (PSC_PROTOCOL_ERROR_STREAM_FAILED,
      error->message);

  broadcast (room, NULL, message);
}

/* The stream's source went away or came back: the page says so (its video shows the
 * slate meanwhile, on the same connection). */
static PscMessage *
stream_state_message (PscStreamState state, const char *reason)
{
  PscMessage *message = psc_message_new (PSC_MESSAGE_STREAM_STATE);

  message->state = g_strdup (psc_supervisor_state_to_string (state));
  message->reason = g_strdup (reason);
  return message;
}

static void
on_stream_state (PscStream *stream, guint state, const char *reason, gpointer user_data)
{
  g_autoptr (PscMessage) message = stream_state_message (state, reason);

  broadcast (user_data, NULL, message);
}

/* A room whose camera offers @stream to every peer that joins: a stream's, or a call's. */
static Room *
add_room (PscSignalling *self, const char *id, RoomKind kind, PscStream *stream)
{
  Room *room = room_new (id, kind, stream);

  if (stream != NULL) {
    room->stream_error_handler = g_signal_connect (stream, "error",
        G_CALLBACK (on_stream_error), room);
    room->stream_state_handler = g_signal_connect (stream, "state-changed",
        G_CALLBACK (on_stream_state), room);
  }
  g_hash_table_replace (self->rooms, room->id, room);
  return room;
}

static void
add_stream_room (PscSignalling *self, PscStream *stream)
{
  add_room (self, psc_stream_get_id (stream), ROOM_STREAM, stream);
}

/* Main context: the camera's viewers (WebSocket and WHEP), sent to the room's peers when
 * the count changed since the last time. */
static gboolean
on_viewers_timer (gpointer user_data)
{
  Room *room = user_data;
  g_autoptr (PscMessage) message = NULL;
  PscStreamStats stats;

  psc_stream_get_stats (room->stream, &stats);
  if (stats.viewers == room->viewers_sent)
    return G_SOURCE_CONTINUE;
  room->viewers_sent = stats.viewers;
  message = psc_message_new (PSC_MESSAGE_VIEWERS);
  message->count = stats.viewers;
  broadcast (room, NULL, message);
  return G_SOURCE_CONTINUE;
}

const char *
psc_signalling_get_default_room (PscSignalling *self)
{
  PscStream *stream;

  g_return_val_if_fail (PSC_IS_SIGNALLING (self), NULL);

  stream = psc_registry_get_default_stream (self->registry);
  return stream ? psc_stream_get_id (stream) : NULL;
}

void
psc_signalling_refuse (PscSignalling *self, SoupWebsocketConnection *connection,
    PscProtocolError code, const char *text)
{
  g_autoptr (PscMessage) message = NULL;
  g_autofree char *json = NULL;

  g_return_if_fail (PSC_IS_SIGNALLING (self) && SOUP_IS_WEBSOCKET_CONNECTION (connection));

  message = psc_message_new_error (code, text);
  json = psc_message_to_json (message);
  self->counters.refused_total++;
  psc_websocket_send_text (connection, json);
  soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, text);
}

/* Whether a client that listed @codecs decodes H.264 of profile-level-id @plid: an
 * `h264:PLID` entry per H.264 decoder it has (the page lists them), one of which must
 * decode @plid; a client that lists none cannot say, and is taken at its word. A browser
 * matches an offer's H.264 to its decoders by profile (Chromium: profile_idc and the
 * constraint flags): when the first decoder that fits announces another profile than the
 * stream's (Debian's Chromium lists High 4:4:4 Predictive, f4…, and no High), *@announce is
 * that decoder's profile with the stream's level, for the viewer's offer. */
static gboolean
client_decodes_h264 (const char *const *codecs, const char *plid, char **announce)
{
  gboolean listed = FALSE;

  for (guint i = 0; codecs[i] != NULL; i++) {
    const char *decoder = codecs[i] + 5;

    if (g_ascii_strncasecmp (codecs[i], "h264:", 5) != 0)
      continue;
    listed = TRUE;
    if (!psc_sdp_h264_profile_decodes (decoder, plid))
      continue;
    if (g_ascii_strncasecmp (decoder, plid, 4) != 0) {
      g_autofree char *mixed = g_strdup_printf ("%.4s%s", decoder, plid + 4);
      *announce = g_ascii_strdown (mixed, -1);
    }
    return TRUE;
  }
  return !listed;
}

/* The codec a viewer of @stream gets (psc_codec_choose()); FALSE, with a sentence for the
 * viewer saying what it listed and what the stream has, if none fits. H.264 passed through
 * from the source counts only if the client's H.264 decoders take its profile; *@announce
 * is then the profile-level-id to offer it, if not the stream's (client_decodes_h264()). */
static gboolean
choose_codec (PscStream *stream, const char *const *codecs, PscCodec *codec, char **announce,
    GError **error)
{
  PscCodecSet client = psc_codec_set_from_strv (codecs);
  PscCodecSet available = 0;
  g_autofree char *plid = psc_stream_dup_h264_profile_level_id (stream);
  gboolean wrong_profile = FALSE;

  for (guint i = 0; i < PSC_CODEC_COUNT; i++) {
    if (psc_stream_can_send (stream, (PscCodec) i))
      available |= PSC_CODEC_SET_OF (i);
  }
  if (codecs != NULL && plid != NULL && (client & PSC_CODEC_SET_OF (PSC_CODEC_H264)) &&
      !client_decodes_h264 (codecs, plid, announce)) {
    client &= ~PSC_CODEC_SET_OF (PSC_CODEC_H264);
    wrong_profile = TRUE;
  }
  if (psc_codec_choose (psc_stream_get_codec (stream), codecs != NULL ? &client : NULL,
          available, codec)) {
    if (*codec != PSC_CODEC_H264)
      g_clear_pointer (announce, g_free);
    return TRUE;
  }
  g_clear_pointer (announce, g_free);
  {
    g_autofree char *listed = codecs != NULL ? g_strjoinv (",", (char **) codecs) : NULL;
    g_autofree char *has = psc_codec_set_to_string (available);
    g_autofree char *profile = wrong_profile ? g_strdup_printf ("; its H.264 decoders take "
        "none of the camera's profile-level-id %s", plid) : NULL;
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_NO_COMMON_CODEC,
        "this browser decodes none of the codecs stream %s can send (it listed \"%s\"; "
        "the stream has %s%s)", psc_stream_get_id (stream), listed != NULL ? listed : "", has,
        profile != NULL ? profile : "");
  }
  return FALSE;
}

/* Whether a peer may join @room (NULL: a new one of @kind), a room that is not a stream's. */
static gboolean
check_relay_limits (PscSignalling *self, Room *room, RoomKind kind, GError **error)
{
  guint relay_rooms = g_hash_table_size (self->rooms) -
      psc_registry_get_streams (self->registry)->len;

  if (self->relay_peers >= MAX_RELAY_PEERS) {
    g_set_error_literal (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_TOO_MANY_PEERS,
        "too many peers in rooms without a camera; try again later");
    return FALSE;
  }
  if (room == NULL && kind == ROOM_OPEN && relay_rooms >= PSC_SIGNALLING_MAX_RELAY_ROOMS) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_TOO_MANY_PEERS,
        "too many rooms without a camera (%d); join one, or try again later",
        PSC_SIGNALLING_MAX_RELAY_ROOMS);
    return FALSE;
  }
  if (room != NULL && g_hash_table_size (room->peers) >= PSC_SIGNALLING_MAX_ROOM_PEERS) {
    g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_TOO_MANY_PEERS,
        "room %s is full (%d peers)", room->id, PSC_SIGNALLING_MAX_ROOM_PEERS);
    return FALSE;
  }
  return TRUE;
}

/* The display name a peer asked for, checked; "Guest NNNN" if it asked for none. */
static char *
display_name (const char *name, GError **error)
{
  if (name == NULL)
    return g_strdup_printf ("Guest %04d", g_random_int_range (0, 10000));
  return psc_protocol_check_name (name, error);
}

/* What @room_id is, for a peer that joins it and finds no Room: a call made through the
 * rooms API (with its stream's camera, if that stream exists), or an open room when the
 * daemon makes them on join. FALSE, with `unknown_room`, otherwise. */
static gboolean
resolve_room (PscSignalling *self, const char *room_id, RoomKind *kind, PscStream **stream,
    GError **error)
{
  const PscHistoryRoom *call = psc_rooms_lookup (self->call_rooms, room_id);

  if (call != NULL) {
    *kind = ROOM_CALL;
    *stream = call->stream ? psc_registry_lookup (self->registry, call->stream) : NULL;
    return TRUE;
  }
  if (psc_rooms_get_open (self->call_rooms)) {
    *kind = ROOM_OPEN;
    return TRUE;
  }
  g_set_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_UNKNOWN_ROOM,
      "no room \"%s\": make one with POST /api/rooms, or join a stream's room", room_id);
  return FALSE;
}

/* What a joining peer is sent after `existing_peers`: the stream's state if it is offline,
 * the room's last stored chats, the camera's viewer count. */
static void
welcome_more (Peer *peer)
{
  Room *room = peer->room;
  PscHistory *history = psc_rooms_get_history (peer->signalling->call_rooms);
  g_autoptr (GPtrArray) chats = NULL;

  if (room->stream != NULL && psc_stream_get_state (room->stream) == PSC_STREAM_OFFLINE) {
    g_autofree char *reason = psc_stream_dup_offline_reason (room->stream);
    g_autoptr (PscMessage) offline = stream_state_message (PSC_STREAM_OFFLINE, reason);
    send_message (peer, offline);
  }
  chats = history ? psc_history_list_chats (history, room->id, 0, CHAT_HISTORY_ON_JOIN, TRUE,
      NULL) : NULL;
  if (chats != NULL && chats->len > 0) {
    g_autoptr (PscMessage) message = psc_message_new (PSC_MESSAGE_CHAT_HISTORY);
    message->chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_message_free);
    for (guint i = 0; i < chats->len; i++)
      g_ptr_array_add (message->chats,
          chat_message (g_ptr_array_index (chats, i)));
    send_message (peer, message);
  }
  for (guint i = 0; i < room->order->len; i++) {
    Peer *other = g_ptr_array_index (room->order, i);
    if (other != peer && other->state_known) {
      g_autoptr (PscMessage) state = peer_state_message (other);
      send_message (peer, state);
    }
  }
  if (room->stream != NULL) {
    g_autoptr (PscMessage) viewers = psc_message_new (PSC_MESSAGE_VIEWERS);
    PscStreamStats stats;

    psc_stream_get_stats (room->stream, &stats);
    viewers->count = stats.viewers;
    send_message (peer, viewers);
    if (room->viewers_timer == 0) {
      room->viewers_sent = stats.viewers;
      room->viewers_timer = g_timeout_add (VIEWERS_INTERVAL_MS, on_viewers_timer, room);
    }
  }
}

/* `existing_peers`: the camera first (if the room has one), then the browsers. */
static PscMessage *
welcome_message (PscSignalling *self, Peer *peer)
{
  Room *room = peer->room;
  PscMessage *welcome = psc_message_new (PSC_MESSAGE_EXISTING_PEERS);
  g_autoptr (GStrvBuilder) ids = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) kinds = g_strv_builder_new ();

  if (room->stream != NULL) {
    g_strv_builder_add (ids, camera_id (room));
    g_strv_builder_add (names, camera_id (room));
    g_strv_builder_add (kinds, "camera");
  }
  for (guint i = 0; i < room->order->len; i++) {
    Peer *other = g_ptr_array_index (room->order, i);
    if (other == peer)
      continue;
    g_strv_builder_add (ids, other->id);
    g_strv_builder_add (names, other->name);
    g_strv_builder_add (kinds, "browser");
  }
  welcome->peer_id = g_strdup (peer->id);
  welcome->room = g_strdup (room->id);
  welcome->name = g_strdup (peer->name);
  welcome->peers = g_strv_builder_end (ids);
  welcome->peer_names = g_strv_builder_end (names);
  welcome->peer_kinds = g_strv_builder_end (kinds);
  welcome->ice_servers = json_node_ref (self->ice_servers);
  return welcome;
}

void
psc_signalling_accept (PscSignalling *self, const char *room_id, const char *peer_id,
    const char *name, gboolean datachannel, const char *const *codecs, const char *address,
    SoupWebsocketConnection *connection)
{
  PscCodec codec = PSC_CODEC_H264;
  g_autoptr (PscMessage) welcome = NULL;
  g_autofree char *assigned = NULL;
  g_autofree char *announce = NULL;
  g_autofree char *checked_name = NULL;
  g_autoptr (GError) limit = NULL;
  RoomKind kind;
  PscStream *stream = NULL;
  Room *room;
  Peer *peer;

  g_return_if_fail (PSC_IS_SIGNALLING (self) && SOUP_IS_WEBSOCKET_CONNECTION (connection));
  g_return_if_fail (psc_protocol_id_is_valid (room_id));

  if (self->shutting_down) {
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        "periscope is shutting down");
    return;
  }
  checked_name = display_name (name, &limit);
  room = g_hash_table_lookup (self->rooms, room_id);
  if (room != NULL) {
    kind = room->kind;
    stream = room->stream;
  }
  if (checked_name == NULL || (room == NULL && !resolve_room (self, room_id, &kind, &stream,
              &limit))) {
    psc_signalling_refuse (self, connection, psc_signalling_error_code (limit),
        limit->message);
    return;
  }
  if (peer_id == NULL) {
    do {
      g_autofree char *uuid = g_uuid_string_random ();
      g_free (assigned);
      assigned = g_strndup (uuid, 8);
    } while ((room != NULL && g_hash_table_contains (room->peers, assigned)) ||
        g_str_equal (assigned, room_id) ||
        (stream != NULL && g_str_equal (assigned, psc_stream_get_id (stream))));
    peer_id = assigned;
  } else if ((room != NULL && g_hash_table_contains (room->peers, peer_id)) ||
      (stream != NULL && g_str_equal (peer_id, psc_stream_get_id (stream)))) {
    g_autofree char *text = g_strdup_printf ("peer id \"%s\" is taken in room %s", peer_id,
        room_id);
    psc_signalling_refuse (self, connection, PSC_PROTOCOL_ERROR_PEER_ID_TAKEN, text);
    return;
  }
  if (kind != ROOM_STREAM && !check_relay_limits (self, room, kind, &limit)) {
    psc_signalling_refuse (self, connection, PSC_PROTOCOL_ERROR_TOO_MANY_PEERS, limit->message);
    return;
  }
  /* Last: a seat taken is given back only when the peer is freed. */
  if (stream != NULL &&
      (!choose_codec (stream, codecs, &codec, &announce, &limit) ||
          !psc_registry_take_seat (self->registry, address, &limit))) {
    if (log_budget_take (&self->refusal_log_budget, "refused viewers"))
      g_message ("refusing a viewer of stream %s: %s", psc_stream_get_id (stream),
          limit->message);
    psc_signalling_refuse (self, connection, psc_signalling_error_code (limit),
        limit->message);
    return;
  }
  if (room == NULL) {
    room = add_room (self, room_id, kind, stream);
    if (kind == ROOM_CALL)
      psc_rooms_set_occupied (self->call_rooms, room_id, TRUE);
  }

  peer = g_new0 (Peer, 1);
  peer->signalling = self;
  peer->room = room;
  peer->id = g_strdup (peer_id);
  peer->name = g_steal_pointer (&checked_name);
  peer->datachannel = datachannel && room->stream != NULL;
  peer->codec = codec;
  peer->announce = g_steal_pointer (&announce);
  peer->connection = g_object_ref (connection);
  peer->address = g_strdup (address);
  /* The seat taken above, given back when the peer is freed. */
  peer->seated = room->stream != NULL;
  peer->joined_at = g_get_real_time ();
  peer->budget_updated_us = g_get_monotonic_time ();
  peer->budget_messages = BUDGET_MESSAGES_BURST;
  peer->budget_bytes = BUDGET_BYTES_BURST;
  peer->chat_updated_us = peer->budget_updated_us;
  peer->chat_budget = CHAT_BURST;
  peer->received_bytes = psc_websocket_get_received_bytes (connection);
  if (room->kind == ROOM_STREAM)
    self->stream_peers++;
  else
    self->relay_peers++;
  self->counters.websocket_sessions_total++;
  soup_websocket_connection_set_keepalive_interval (connection, KEEPALIVE_S);
  g_signal_connect (connection, "message", G_CALLBACK (on_message), peer);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), peer);

  g_hash_table_replace (room->peers, peer->id, peer);
  g_ptr_array_add (room->order, peer);
  welcome = welcome_message (self, peer);
  send_message (peer, welcome);
  welcome_more (peer);
  broadcast_membership (room, peer, PSC_MESSAGE_PEER_JOINED);
  GST_INFO ("peer %s (%s) joined room %s", peer->id, peer->name, room->id);

  if (room->stream != NULL)
    start_viewer (peer, peer->codec, peer->announce);
}

void
psc_peer_info_free (PscPeerInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->peer_id);
  g_free (info->room);
  g_free (info->address);
  g_free (info->name);
  g_clear_object (&info->viewer);
  g_free (info);
}

static void
add_peers (GPtrArray *list, Room *room)
{
  for (guint i = 0; i < room->order->len; i++) {
    Peer *peer = g_ptr_array_index (room->order, i);
    PscPeerInfo *info = g_new0 (PscPeerInfo, 1);

    info->peer_id = g_strdup (peer->id);
    info->room = g_strdup (room->id);
    info->joined_at = peer->joined_at;
    info->viewer = peer->viewer ? g_object_ref (peer->viewer) : NULL;
    info->address = g_strdup (peer->address);
    info->name = g_strdup (peer->name);
    g_ptr_array_add (list, info);
  }
}

GPtrArray *
psc_signalling_list_peers (PscSignalling *self, const char *room_id)
{
  GPtrArray *list;

  g_return_val_if_fail (PSC_IS_SIGNALLING (self), NULL);

  if (room_id != NULL && !g_hash_table_contains (self->rooms, room_id))
    return NULL;
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_peer_info_free);
  if (room_id != NULL) {
    add_peers (list, g_hash_table_lookup (self->rooms, room_id));
  } else {
    GHashTableIter iter;
    Room *room;
    g_hash_table_iter_init (&iter, self->rooms);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
      add_peers (list, room);
  }
  return list;
}

void
psc_signalling_get_counters (PscSignalling *self, PscSignallingCounters *counters)
{
  g_return_if_fail (PSC_IS_SIGNALLING (self) && counters != NULL);

  *counters = self->counters;
  counters->websocket_sessions = self->stream_peers + self->relay_peers;
}

guint
psc_signalling_get_peer_count (PscSignalling *self)
{
  GHashTableIter iter;
  Room *room;
  guint count = 0;

  g_return_val_if_fail (PSC_IS_SIGNALLING (self), 0);

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
    count += g_hash_table_size (room->peers);
  return count;
}

void
psc_signalling_shutdown (PscSignalling *self)
{
  GHashTableIter iter;
  Room *room;

  g_return_if_fail (PSC_IS_SIGNALLING (self));

  self->shutting_down = TRUE;
  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room)) {
    for (guint i = 0; i < room->order->len; i++) {
      Peer *peer = g_ptr_array_index (room->order, i);
      drop_viewer (peer);
      close_connection (peer->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
          "periscope is shutting down");
    }
  }
}

void
psc_signalling_set_rooms (PscSignalling *self, PscRooms *rooms)
{
  g_return_if_fail (PSC_IS_SIGNALLING (self) && PSC_IS_ROOMS (rooms));

  g_set_object (&self->call_rooms, rooms);
}

PscRooms *
psc_signalling_get_rooms (PscSignalling *self)
{
  g_return_val_if_fail (PSC_IS_SIGNALLING (self), NULL);

  return self->call_rooms;
}

const char *
psc_signalling_get_room_kind (PscSignalling *self, const char *room_id)
{
  Room *room;
  RoomKind kind;
  PscStream *stream;

  g_return_val_if_fail (PSC_IS_SIGNALLING (self), NULL);

  if (!psc_protocol_id_is_valid (room_id))
    return NULL;
  room = g_hash_table_lookup (self->rooms, room_id);
  if (room != NULL)
    return room_kind_names[room->kind];
  if (resolve_room (self, room_id, &kind, &stream, NULL))
    return room_kind_names[kind];
  return NULL;
}

static gint
compare_ids (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

GStrv
psc_signalling_list_open_rooms (PscSignalling *self)
{
  g_autoptr (GStrvBuilder) ids = g_strv_builder_new ();
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  GHashTableIter iter;
  Room *room;

  g_return_val_if_fail (PSC_IS_SIGNALLING (self), NULL);

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room)) {
    if (room->kind == ROOM_OPEN)
      g_ptr_array_add (sorted, room->id);
  }
  g_ptr_array_sort (sorted, compare_ids);
  for (guint i = 0; i < sorted->len; i++)
    g_strv_builder_add (ids, g_ptr_array_index (sorted, i));
  return g_strv_builder_end (ids);
}

gboolean
psc_signalling_close_room (PscSignalling *self, const char *room_id, const char *reason)
{
  g_autoptr (PscMessage) message = NULL;
  g_autoptr (GPtrArray) peers = NULL;
  Room *room;

  g_return_val_if_fail (PSC_IS_SIGNALLING (self) && room_id != NULL && reason != NULL, FALSE);

  room = g_hash_table_lookup (self->rooms, room_id);
  if (room != NULL && room->kind == ROOM_STREAM)
    return FALSE;
  if (room != NULL) {
    message = psc_message_new (PSC_MESSAGE_ROOM_CLOSED);
    message->room = g_strdup (room_id);
    message->reason = g_strdup (reason);
    peers = g_ptr_array_copy (room->order, NULL, NULL);
    /* Told, closed (1000: nothing went wrong), and gone from the room at once: the last one
     * out drops the room. */
    for (guint i = 0; i < peers->len; i++) {
      Peer *peer = g_ptr_array_index (peers, i);
      send_message (peer, message);
      close_connection (peer->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, "room closed");
    }
    for (guint i = 0; i < peers->len; i++)
      leave (g_ptr_array_index (peers, i));
  }
  g_message ("room %s closed: %s", room_id, reason);
  psc_rooms_delete (self->call_rooms, room_id);
  return TRUE;
}
