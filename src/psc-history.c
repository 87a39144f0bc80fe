/* periscope — the rooms and their chat history, kept in SQLite
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-history.h"

#include <sqlite3.h>

G_DEFINE_QUARK (psc-history-error-quark, psc_history_error)

/* The schema's version, in the file's `user_version`: 0 is a new file. A newer file is
 * refused rather than written by code that does not know its tables. */
#define SCHEMA_VERSION 1
/* Milliseconds a statement waits for another connection's lock (a backup tool, sqlite3 on
 * the command line) before it fails. */
#define BUSY_TIMEOUT_MS 2000

struct _PscHistory {
  sqlite3 *db;
  char *path;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS rooms ("
    "  id TEXT PRIMARY KEY,"
    "  title TEXT,"
    "  stream TEXT,"
    "  created_at INTEGER NOT NULL);"
    /* AUTOINCREMENT: a chat's id is never reused, even after the newest ones were deleted,
     * so a client paging with `after` never skips or repeats one. */
    "CREATE TABLE IF NOT EXISTS chats ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  room TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  from_peer_id TEXT,"
    "  name TEXT,"
    "  time INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS chats_by_room ON chats (room, id);"
    "CREATE INDEX IF NOT EXISTS chats_by_time ON chats (time);";

PscChat *
psc_chat_new (const char *room, const char *text, const char *from_peer_id, const char *name,
    gint64 time)
{
  PscChat *chat = g_new0 (PscChat, 1);

  chat->room = g_strdup (room);
  chat->text = g_strdup (text);
  chat->from_peer_id = g_strdup (from_peer_id);
  chat->name = g_strdup (name);
  chat->time = time;
  return chat;
}

void
psc_chat_free (PscChat *chat)
{
  if (chat == NULL)
    return;
  g_free (chat->room);
  g_free (chat->text);
  g_free (chat->from_peer_id);
  g_free (chat->name);
  g_free (chat);
}

void
psc_history_room_free (PscHistoryRoom *room)
{
  if (room == NULL)
    return;
  g_free (room->id);
  g_free (room->title);
  g_free (room->stream);
  g_free (room);
}

/* SQLite's last error on @self as @code, naming the file and what was being done. */
static void
set_error (PscHistory *self, GError **error, PscHistoryError code, const char *doing)
{
  g_set_error (error, PSC_HISTORY_ERROR, code, "chat database %s: %s: %s", self->path, doing,
      sqlite3_errmsg (self->db));
}

static gboolean
exec (PscHistory *self, const char *sql, PscHistoryError code, const char *doing,
    GError **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) == SQLITE_OK)
    return TRUE;
  set_error (self, error, code, doing);
  return FALSE;
}

static sqlite3_stmt *
prepare (PscHistory *self, const char *sql, PscHistoryError code, GError **error)
{
  sqlite3_stmt *statement = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &statement, NULL) != SQLITE_OK) {
    set_error (self, error, code, "preparing a statement");
    return NULL;
  }
  return statement;
}

static void
bind_text (sqlite3_stmt *statement, int index, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (statement, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (statement, index);
}

static char *
column_text (sqlite3_stmt *statement, int index)
{
  return g_strdup ((const char *) sqlite3_column_text (statement, index));
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (PscHistory *self, sqlite3_stmt *statement, PscHistoryError code, const char *doing,
    GError **error)
{
  if (sqlite3_step (statement) == SQLITE_DONE)
    return TRUE;
  set_error (self, error, code, doing);
  return FALSE;
}

static gboolean
migrate (PscHistory *self, GError **error)
{
  sqlite3_stmt *statement = prepare (self, "PRAGMA user_version", PSC_HISTORY_ERROR_OPEN,
      error);
  int version;

  if (statement == NULL)
    return FALSE;
  if (sqlite3_step (statement) != SQLITE_ROW) {
    sqlite3_finalize (statement);
    set_error (self, error, PSC_HISTORY_ERROR_OPEN, "reading its version");
    return FALSE;
  }
  version = sqlite3_column_int (statement, 0);
  sqlite3_finalize (statement);
  if (version > SCHEMA_VERSION) {
    g_set_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_SCHEMA,
        "chat database %s was written by a newer periscope (schema %d, this one knows %d)",
        self->path, version, SCHEMA_VERSION);
    return FALSE;
  }
  if (version == SCHEMA_VERSION)
    return TRUE;
  if (!exec (self, "BEGIN IMMEDIATE", PSC_HISTORY_ERROR_WRITE, "making its tables", error))
    return FALSE;
  if (exec (self, schema, PSC_HISTORY_ERROR_WRITE, "making its tables", error) &&
      exec (self, "PRAGMA user_version = " G_STRINGIFY (SCHEMA_VERSION),
          PSC_HISTORY_ERROR_WRITE, "making its tables", error) &&
      exec (self, "COMMIT", PSC_HISTORY_ERROR_WRITE, "making its tables", error))
    return TRUE;
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

PscHistory *
psc_history_open (const char *path, GError **error)
{
  g_autoptr (PscHistory) self = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_new0 (PscHistory, 1);
  self->path = g_strdup (path);
  rc = sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
      SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    g_set_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_OPEN,
        "cannot open the chat database %s: %s", path,
        self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
    return NULL;
  }
  /* SQLite falls back to read-only by itself when the file is; said now, not at the first
   * message. */
  if (sqlite3_db_readonly (self->db, "main") == 1) {
    g_set_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_READ_ONLY,
        "chat database %s is read-only: chat is off until periscope may write it", path);
    return NULL;
  }
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
  /* The first statement that reads the file: a file that is not a database fails here. */
  if (!exec (self, "PRAGMA journal_mode = WAL", PSC_HISTORY_ERROR_OPEN,
          "switching to WAL mode", error) ||
      !exec (self, "PRAGMA synchronous = NORMAL", PSC_HISTORY_ERROR_OPEN,
          "setting synchronous", error) ||
      !migrate (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
psc_history_close (PscHistory *self)
{
  if (self == NULL)
    return;
  /* Closing the last connection checkpoints the WAL into the file. */
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_free (self->path);
  g_free (self);
}

const char *
psc_history_get_path (PscHistory *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

gboolean
psc_history_save_room (PscHistory *self, const PscHistoryRoom *room, GError **error)
{
  sqlite3_stmt *statement;
  gboolean ok;

  g_return_val_if_fail (self != NULL && room != NULL && room->id != NULL, FALSE);

  statement = prepare (self, "INSERT OR REPLACE INTO rooms (id, title, stream, created_at) "
      "VALUES (?, ?, ?, ?)", PSC_HISTORY_ERROR_WRITE, error);
  if (statement == NULL)
    return FALSE;
  bind_text (statement, 1, room->id);
  bind_text (statement, 2, room->title);
  bind_text (statement, 3, room->stream);
  sqlite3_bind_int64 (statement, 4, room->created_at);
  ok = step_done (self, statement, PSC_HISTORY_ERROR_WRITE, "storing a room", error);
  sqlite3_finalize (statement);
  return ok;
}

/* Runs @sql, which takes the room id as its one parameter. */
static gboolean
delete_by_room (PscHistory *self, const char *sql, const char *id, GError **error)
{
  sqlite3_stmt *statement = prepare (self, sql, PSC_HISTORY_ERROR_WRITE, error);
  gboolean ok;

  if (statement == NULL)
    return FALSE;
  bind_text (statement, 1, id);
  ok = step_done (self, statement, PSC_HISTORY_ERROR_WRITE, "deleting a room", error);
  sqlite3_finalize (statement);
  return ok;
}

gboolean
psc_history_delete_room (PscHistory *self, const char *id, GError **error)
{
  g_return_val_if_fail (self != NULL && id != NULL, FALSE);

  if (!exec (self, "BEGIN IMMEDIATE", PSC_HISTORY_ERROR_WRITE, "deleting a room", error))
    return FALSE;
  if (delete_by_room (self, "DELETE FROM chats WHERE room = ?", id, error) &&
      delete_by_room (self, "DELETE FROM rooms WHERE id = ?", id, error) &&
      exec (self, "COMMIT", PSC_HISTORY_ERROR_WRITE, "deleting a room", error))
    return TRUE;
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

GPtrArray *
psc_history_list_rooms (PscHistory *self, GError **error)
{
  g_autoptr (GPtrArray) rooms = g_ptr_array_new_with_free_func (
      (GDestroyNotify) psc_history_room_free);
  sqlite3_stmt *statement;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);

  statement = prepare (self, "SELECT id, title, stream, created_at FROM rooms "
      "ORDER BY created_at, id", PSC_HISTORY_ERROR_READ, error);
  if (statement == NULL)
    return NULL;
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    PscHistoryRoom *room = g_new0 (PscHistoryRoom, 1);
    room->id = column_text (statement, 0);
    room->title = column_text (statement, 1);
    room->stream = column_text (statement, 2);
    room->created_at = sqlite3_column_int64 (statement, 3);
    g_ptr_array_add (rooms, room);
  }
  sqlite3_finalize (statement);
  if (rc != SQLITE_DONE) {
    set_error (self, error, PSC_HISTORY_ERROR_READ, "listing the rooms");
    return NULL;
  }
  return g_steal_pointer (&rooms);
}

gboolean
psc_history_append (PscHistory *self, GPtrArray *chats, GError **error)
{
  sqlite3_stmt *statement;
  gboolean ok = TRUE;

  g_return_val_if_fail (self != NULL && chats != NULL, FALSE);

  if (!exec (self, "BEGIN IMMEDIATE", PSC_HISTORY_ERROR_WRITE, "storing a message", error))
    return FALSE;
  statement = prepare (self, "INSERT INTO chats (room, text, from_peer_id, name, time) "
      "VALUES (?, ?, ?, ?, ?)", PSC_HISTORY_ERROR_WRITE, error);
  for (guint i = 0; statement != NULL && ok && i < chats->len; i++) {
    PscChat *chat = g_ptr_array_index (chats, i);

    sqlite3_reset (statement);
    bind_text (statement, 1, chat->room);
    bind_text (statement, 2, chat->text);
    bind_text (statement, 3, chat->from_peer_id);
    bind_text (statement, 4, chat->name);
    sqlite3_bind_int64 (statement, 5, chat->time);
    ok = step_done (self, statement, PSC_HISTORY_ERROR_WRITE, "storing a message", error);
    if (ok)
      chat->id = sqlite3_last_insert_rowid (self->db);
  }
  sqlite3_finalize (statement);
  if (statement != NULL && ok &&
      exec (self, "COMMIT", PSC_HISTORY_ERROR_WRITE, "storing a message", error))
    return TRUE;
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  for (guint i = 0; i < chats->len; i++)
    ((PscChat *) g_ptr_array_index (chats, i))->id = 0;
  return FALSE;
}

GPtrArray *
psc_history_list_chats (PscHistory *self, const char *room, gint64 after, guint limit,
    gboolean last, GError **error)
{
  g_autoptr (GPtrArray) chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_chat_free);
  sqlite3_stmt *statement;
  int rc;

  g_return_val_if_fail (self != NULL && room != NULL && limit > 0, NULL);

  statement = prepare (self, last ?
      "SELECT id, text, from_peer_id, name, time FROM chats WHERE room = ?1 AND id > ?2 "
      "ORDER BY id DESC LIMIT ?3" :
      "SELECT id, text, from_peer_id, name, time FROM chats WHERE room = ?1 AND id > ?2 "
      "ORDER BY id LIMIT ?3", PSC_HISTORY_ERROR_READ, error);
  if (statement == NULL)
    return NULL;
  bind_text (statement, 1, room);
  sqlite3_bind_int64 (statement, 2, after);
  sqlite3_bind_int64 (statement, 3, limit);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    PscChat *chat = psc_chat_new (room, NULL, NULL, NULL, sqlite3_column_int64 (statement, 4));
    chat->id = sqlite3_column_int64 (statement, 0);
    chat->text = column_text (statement, 1);
    chat->from_peer_id = column_text (statement, 2);
    chat->name = column_text (statement, 3);
    g_ptr_array_add (chats, chat);
  }
  sqlite3_finalize (statement);
  if (rc != SQLITE_DONE) {
    set_error (self, error, PSC_HISTORY_ERROR_READ, "reading messages");
    return NULL;
  }
  /* The last ones were read newest first. */
  if (last) {
    for (guint i = 0; i < chats->len / 2; i++) {
      gpointer *data = chats->pdata;
      gpointer swap = data[i];
      data[i] = data[chats->len - 1 - i];
      data[chats->len - 1 - i] = swap;
    }
  }
  return g_steal_pointer (&chats);
}

guint64
psc_history_count_chats (PscHistory *self, const char *room)
{
  sqlite3_stmt *statement;
  guint64 count = 0;

  g_return_val_if_fail (self != NULL && room != NULL, 0);

  statement = prepare (self, "SELECT COUNT(*) FROM chats WHERE room = ?",
      PSC_HISTORY_ERROR_READ, NULL);
  if (statement == NULL)
    return 0;
  bind_text (statement, 1, room);
  if (sqlite3_step (statement) == SQLITE_ROW)
    count = (guint64) sqlite3_column_int64 (statement, 0);
  sqlite3_finalize (statement);
  return count;
}

gint64
psc_history_expire (PscHistory *self, gint64 before, guint max_per_room, GError **error)
{
  sqlite3_stmt *statement;
  gint64 deleted = 0;
  gboolean ok;

  g_return_val_if_fail (self != NULL, -1);

  if (!exec (self, "BEGIN IMMEDIATE", PSC_HISTORY_ERROR_WRITE, "expiring messages", error))
    return -1;
  statement = prepare (self, "DELETE FROM chats WHERE time < ?", PSC_HISTORY_ERROR_WRITE,
      error);
  ok = statement != NULL;
  if (ok) {
    sqlite3_bind_int64 (statement, 1, before);
    ok = step_done (self, statement, PSC_HISTORY_ERROR_WRITE, "expiring messages", error);
    deleted += sqlite3_changes (self->db);
    sqlite3_finalize (statement);
  }
  if (ok && max_per_room > 0) {
    /* Each room's newest max_per_room stay: a message goes when that many newer ones of its
     * room exist. */
    statement = prepare (self, "DELETE FROM chats WHERE id IN (SELECT id FROM ("
        "SELECT id, ROW_NUMBER () OVER (PARTITION BY room ORDER BY id DESC) AS n FROM chats) "
        "WHERE n > ?)", PSC_HISTORY_ERROR_WRITE, error);
    ok = statement != NULL;
    if (ok) {
      sqlite3_bind_int64 (statement, 1, max_per_room);
      ok = step_done (self, statement, PSC_HISTORY_ERROR_WRITE, "expiring messages", error);
      deleted += sqlite3_changes (self->db);
      sqlite3_finalize (statement);
    }
  }
  if (ok && exec (self, "COMMIT", PSC_HISTORY_ERROR_WRITE, "expiring messages", error))
    return deleted;
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}
