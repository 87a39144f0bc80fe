/* periscope — the rooms and their chat history, kept in SQLite
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-history
 * @title: psc-history
 * @short_description: the rooms and their chat history, kept in SQLite
 *
 * #PscHistory is the store behind the rooms API and the chat: one SQLite file
 * (`--data-dir`/#PSC_HISTORY_FILE) holding the rooms made through the API (their title and
 * stream) and every room message, in WAL mode. Pure but for its file: no GStreamer, no
 * network; main context only (one connection, no locking of its own). Errors are
 * #PSC_HISTORY_ERROR; the caller says them once and carries on without chat.
 */

G_BEGIN_DECLS

/**
 * PSC_HISTORY_FILE:
 *
 * The database's file name inside `--data-dir`.
 */
#define PSC_HISTORY_FILE "periscope.sqlite3"

/**
 * PSC_HISTORY_ERROR:
 *
 * The error domain of the store. Codes are #PscHistoryError.
 */
#define PSC_HISTORY_ERROR (psc_history_error_quark ())

/**
 * psc_history_error_quark:
 *
 * The quark behind #PSC_HISTORY_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_history_error_quark (void);

/**
 * PscHistoryError:
 * @PSC_HISTORY_ERROR_OPEN: the file cannot be opened or made (a missing directory, no
 *   permission, not a database)
 * @PSC_HISTORY_ERROR_READ_ONLY: the file can be read but not written
 * @PSC_HISTORY_ERROR_SCHEMA: the file was written by a newer periscope (its `user_version`)
 * @PSC_HISTORY_ERROR_WRITE: a write failed (a full disk, an I/O error, a lock held too long)
 * @PSC_HISTORY_ERROR_READ: a query failed
 *
 * Why the store failed; the message carries SQLite's own words and the file's path.
 */
typedef enum {
  PSC_HISTORY_ERROR_OPEN,
  PSC_HISTORY_ERROR_READ_ONLY,
  PSC_HISTORY_ERROR_SCHEMA,
  PSC_HISTORY_ERROR_WRITE,
  PSC_HISTORY_ERROR_READ,
} PscHistoryError;

/**
 * PscChat:
 * @id: the message's id, SQLite's rowid: increasing, never reused in one database
 *   (`AUTOINCREMENT`); 0 before it is stored
 * @room: the room's id
 * @text: the message, UTF-8
 * @from_peer_id: (nullable): who sent it
 * @name: (nullable): the sender's display name then
 * @time: when the server got it, µs since the Unix epoch
 *
 * One stored chat message. Free with psc_chat_free().
 */
typedef struct {
  gint64 id;
  char *room;
  char *text;
  char *from_peer_id;
  char *name;
  gint64 time;
} PscChat;

/**
 * psc_chat_new:
 * @room: the room's id
 * @text: the message
 * @from_peer_id: (nullable): its sender
 * @name: (nullable): the sender's display name
 * @time: µs since the Unix epoch
 *
 * A message to store with psc_history_append().
 *
 * Returns: (transfer full): a chat not stored yet (@id 0), the strings copied; free with
 *   psc_chat_free().
 */
PscChat * psc_chat_new (const char *room, const char *text, const char *from_peer_id,
    const char *name, gint64 time);

/**
 * psc_chat_free:
 * @chat: (nullable) (transfer full): a chat, or %NULL
 *
 * Frees @chat and its strings.
 */
void      psc_chat_free (PscChat *chat);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscChat, psc_chat_free)

/**
 * PscHistoryRoom:
 * @id: the room's id
 * @title: (nullable): its title
 * @stream: (nullable): the stream whose camera joins its calls
 * @created_at: µs since the Unix epoch
 *
 * A room made through the API, as stored. Free with psc_history_room_free().
 */
typedef struct {
  char *id;
  char *title;
  char *stream;
  gint64 created_at;
} PscHistoryRoom;

/**
 * psc_history_room_free:
 * @room: (nullable) (transfer full): a stored room, or %NULL
 *
 * Frees @room and its strings.
 */
void      psc_history_room_free (PscHistoryRoom *room);

/**
 * PscHistory:
 *
 * An open database (psc_history_open()); free with psc_history_close().
 */
typedef struct _PscHistory PscHistory;

/**
 * psc_history_open:
 * @path: the database file; made, with its schema, if it does not exist (its directory
 *   must)
 * @error: a #PSC_HISTORY_ERROR
 *
 * Opens the store: WAL journal (readers never wait for the writer, and a crash mid-write
 * leaves the last commit intact), `synchronous=NORMAL` (in WAL mode a commit reaches the OS
 * at once and the disk at the next checkpoint: a crash of periscope loses nothing, a power
 * cut may lose the last commits, never the file's consistency; https://sqlite.org/wal.html),
 * a 2 s busy timeout, foreign keys on; the schema made or upgraded by its `user_version`.
 * A file that is read-only to this process is refused (#PSC_HISTORY_ERROR_READ_ONLY): the
 * chat would fail at its first message instead.
 *
 * Returns: (transfer full): the store, or %NULL with @error set.
 */
PscHistory * psc_history_open (const char *path, GError **error);

/**
 * psc_history_close:
 * @history: (nullable) (transfer full): the store, or %NULL
 *
 * Checkpoints and closes the database.
 */
void         psc_history_close (PscHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscHistory, psc_history_close)

/**
 * psc_history_get_path:
 * @history: the store
 *
 * Where the store is, for log lines.
 *
 * Returns: (transfer none): the database file, for messages.
 */
const char * psc_history_get_path (PscHistory *history);

/**
 * psc_history_save_room:
 * @history: the store
 * @room: the room to add, or to replace (by id)
 * @error: a #PSC_HISTORY_ERROR
 *
 * Stores a room made through the API, so that it survives a restart.
 *
 * Returns: %TRUE if stored.
 */
gboolean     psc_history_save_room (PscHistory *history, const PscHistoryRoom *room,
    GError **error);

/**
 * psc_history_delete_room:
 * @history: the store
 * @id: a room's id
 * @error: a #PSC_HISTORY_ERROR
 *
 * Deletes the room and all its chats, in one transaction. A room that is not stored is no
 * error (its chats, an open room's, go all the same).
 *
 * Returns: %TRUE if deleted.
 */
gboolean     psc_history_delete_room (PscHistory *history, const char *id, GError **error);

/**
 * psc_history_list_rooms:
 * @history: the store
 * @error: a #PSC_HISTORY_ERROR
 *
 * The rooms stored with psc_history_save_room(), for #PscRooms at start.
 *
 * Returns: (transfer full) (element-type PscHistoryRoom): the stored rooms, oldest first;
 *   %NULL with @error set.
 */
GPtrArray *  psc_history_list_rooms (PscHistory *history, GError **error);

/**
 * psc_history_append:
 * @history: the store
 * @chats: (element-type PscChat): messages to store, in order; each gets its @id
 * @error: a #PSC_HISTORY_ERROR (#PSC_HISTORY_ERROR_WRITE)
 *
 * Stores @chats in one transaction: all of them or none (seed 002's bulk save, and one
 * message at a time from the chat).
 *
 * Returns: %TRUE if stored.
 */
gboolean     psc_history_append (PscHistory *history, GPtrArray *chats, GError **error);

/**
 * psc_history_list_chats:
 * @history: the store
 * @room: a room's id
 * @after: only ids above this one (0: from the first), for paging
 * @limit: most messages to return, ≥ 1
 * @last: %TRUE: the last @limit messages above @after (a joining peer's history); %FALSE:
 *   the first @limit of them (a page)
 * @error: a #PSC_HISTORY_ERROR
 *
 * A room's stored messages: a joining peer's history, or a page of the REST API.
 *
 * Returns: (transfer full) (element-type PscChat): the messages, oldest first; %NULL with
 *   @error set.
 */
GPtrArray *  psc_history_list_chats (PscHistory *history, const char *room, gint64 after,
    guint limit, gboolean last, GError **error);

/**
 * psc_history_count_chats:
 * @history: the store
 * @room: a room's id
 *
 * For the rooms listing's `chat_count`, and whether an empty room is kept.
 *
 * Returns: how many messages the room has; 0 when the query fails.
 */
guint64      psc_history_count_chats (PscHistory *history, const char *room);

/**
 * psc_history_expire:
 * @history: the store
 * @before: messages older than this go, µs since the Unix epoch
 * @max_per_room: each room keeps at most this many, its newest; 0: no limit
 * @error: a #PSC_HISTORY_ERROR
 *
 * The retention (`--chat-retention-days`, `--chat-max-per-room`), in one transaction.
 *
 * Returns: the messages deleted, or -1 with @error set.
 */
gint64       psc_history_expire (PscHistory *history, gint64 before, guint max_per_room,
    GError **error);

G_END_DECLS
