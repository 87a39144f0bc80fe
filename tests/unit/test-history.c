/* periscope unit tests: the rooms and chat store (SQLite): paging, transactions, retention,
 * a reopened file, files it cannot use
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-history.h"
#include "../psc-test-caps.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

typedef struct {
  char *dir;
  char *path;
  PscHistory *history;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("psc-history-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, PSC_HISTORY_FILE, NULL);
  f->history = psc_history_open (f->path, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  psc_history_close (f->history);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *file = g_strconcat (f->path, suffixes[i], NULL);
    g_chmod (file, 0600);
    g_unlink (file);
  }
  g_chmod (f->dir, 0700);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* Stores @n messages "ROOM #i" in one transaction, @time µs apart from 1 s. */
static void
append (PscHistory *history, const char *room, guint n, gint64 step)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_chat_free);

  for (guint i = 0; i < n; i++) {
    g_autofree char *text = g_strdup_printf ("%s #%u", room, i);
    g_ptr_array_add (chats, psc_chat_new (room, text, "p1", "Alice",
            G_USEC_PER_SEC + i * step));
  }
  g_assert_true (psc_history_append (history, chats, &error));
  g_assert_no_error (error);
  for (guint i = 1; i < n; i++)
    g_assert_cmpint (((PscChat *) chats->pdata[i])->id, >, ((PscChat *) chats->pdata[i - 1])->id);
}

static void
assert_texts (GPtrArray *chats, const char *const *texts)
{
  g_assert_nonnull (chats);
  g_assert_cmpuint (chats->len, ==, g_strv_length ((char **) texts));
  for (guint i = 0; i < chats->len; i++)
    g_assert_cmpstr (((PscChat *) g_ptr_array_index (chats, i))->text, ==, texts[i]);
}

static void
test_chats (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) last = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) next = NULL;
  const char *last_two[] = { "r1 #3", "r1 #4", NULL };
  const char *first_two[] = { "r1 #0", "r1 #1", NULL };
  const char *then[] = { "r1 #2", "r1 #3", NULL };
  PscChat *first;

  append (f->history, "r1", 5, 1);
  append (f->history, "r2", 2, 1);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r1"), ==, 5);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r2"), ==, 2);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r3"), ==, 0);

  /* A joining peer's: the last ones, oldest first. */
  last = psc_history_list_chats (f->history, "r1", 0, 2, TRUE, &error);
  g_assert_no_error (error);
  assert_texts (last, last_two);
  /* Pages: the first ones after an id. */
  page = psc_history_list_chats (f->history, "r1", 0, 2, FALSE, &error);
  g_assert_no_error (error);
  assert_texts (page, first_two);
  first = g_ptr_array_index (page, 0);
  g_assert_cmpstr (first->from_peer_id, ==, "p1");
  g_assert_cmpstr (first->name, ==, "Alice");
  g_assert_cmpstr (first->room, ==, "r1");
  g_assert_cmpint (first->time, ==, G_USEC_PER_SEC);
  next = psc_history_list_chats (f->history, "r1",
      ((PscChat *) g_ptr_array_index (page, 1))->id, 2, FALSE, &error);
  g_assert_no_error (error);
  assert_texts (next, then);
}

/* A bulk save is one transaction: a message that cannot be stored takes the others along. */
static void
test_all_or_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_chat_free);

  g_ptr_array_add (chats, psc_chat_new ("r1", "fine", NULL, NULL, 1));
  /* NOT NULL: the store refuses a message without text. */
  g_ptr_array_add (chats, psc_chat_new ("r1", NULL, NULL, NULL, 2));
  g_assert_false (psc_history_append (f->history, chats, &error));
  g_assert_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_WRITE);
  g_assert_cmpint (((PscChat *) chats->pdata[0])->id, ==, 0);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r1"), ==, 0);
  /* And the store goes on. */
  append (f->history, "r1", 1, 1);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r1"), ==, 1);
}

static void
test_reopen (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rooms = NULL;
  g_autoptr (GPtrArray) chats = NULL;
  PscHistoryRoom room = { "2a6b0c1e-5b8e-4c53-9a57-0d1f2e3a4b5c", "Standup", "camera", 42 };
  PscHistoryRoom other = { "r2", NULL, NULL, 43 };
  PscHistoryRoom *kept;
  gint64 last_id;

  g_assert_true (psc_history_save_room (f->history, &room, &error));
  g_assert_true (psc_history_save_room (f->history, &other, &error));
  g_assert_no_error (error);
  append (f->history, room.id, 3, 1);
  append (f->history, "r2", 1, 1);
  chats = psc_history_list_chats (f->history, room.id, 0, 10, TRUE, &error);
  last_id = ((PscChat *) g_ptr_array_index (chats, 2))->id;
  g_clear_pointer (&chats, g_ptr_array_unref);

  /* As after a restart. */
  psc_history_close (f->history);
  f->history = psc_history_open (f->path, &error);
  g_assert_no_error (error);
  rooms = psc_history_list_rooms (f->history, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rooms->len, ==, 2);
  kept = g_ptr_array_index (rooms, 0);
  g_assert_cmpstr (kept->id, ==, room.id);
  g_assert_cmpstr (kept->title, ==, "Standup");
  g_assert_cmpstr (kept->stream, ==, "camera");
  g_assert_cmpint (kept->created_at, ==, 42);
  g_assert_null (((PscHistoryRoom *) g_ptr_array_index (rooms, 1))->title);
  g_assert_cmpuint (psc_history_count_chats (f->history, room.id), ==, 3);

  /* Deleting a room takes its chats; ids are never reused. */
  g_assert_true (psc_history_delete_room (f->history, room.id, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (psc_history_count_chats (f->history, room.id), ==, 0);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r2"), ==, 1);
  g_clear_pointer (&rooms, g_ptr_array_unref);
  rooms = psc_history_list_rooms (f->history, &error);
  g_assert_cmpuint (rooms->len, ==, 1);
  append (f->history, room.id, 1, 1);
  chats = psc_history_list_chats (f->history, room.id, 0, 10, TRUE, &error);
  g_assert_cmpint (((PscChat *) g_ptr_array_index (chats, 0))->id, >, last_id);
}

static void
test_expire (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) left = NULL;
  const char *newest[] = { "r1 #7", "r1 #8", "r1 #9", NULL };

  /* 1 s, 2 s … 10 s. */
  append (f->history, "r1", 10, G_USEC_PER_SEC);
  append (f->history, "r2", 2, G_USEC_PER_SEC);
  /* By age: what is older than 3 s goes (r1 #0, #1 and r2 #0, #1). */
  g_assert_cmpint (psc_history_expire (f->history, 3 * G_USEC_PER_SEC, 0, &error), ==, 4);
  g_assert_no_error (error);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r1"), ==, 8);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r2"), ==, 0);
  /* By count: each room keeps its newest. */
  g_assert_cmpint (psc_history_expire (f->history, 0, 3, &error), ==, 5);
  left = psc_history_list_chats (f->history, "r1", 0, 100, FALSE, &error);
  assert_texts (left, newest);
  g_assert_cmpint (psc_history_expire (f->history, 0, 3, &error), ==, 0);
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_build_filename (f->dir, "text.sqlite3", NULL);
  PscHistory *history;

  g_assert_true (g_file_set_contents (text, "this is no database, but it is long enough to "
          "be read as a header of one, which it is not at all.", -1, NULL));
  history = psc_history_open (text, &error);
  g_assert_null (history);
  g_assert_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_OPEN);
  g_assert_nonnull (strstr (error->message, text));
  g_clear_error (&error);
  g_unlink (text);

  /* A directory where the file should be. */
  history = psc_history_open (f->dir, &error);
  g_assert_null (history);
  g_assert_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_OPEN);
}

static void
test_newer_schema (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  psc_history_close (f->history);
  f->history = NULL;
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==,
      SQLITE_OK);
  sqlite3_close (db);
  g_assert_null (psc_history_open (f->path, &error));
  g_assert_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_SCHEMA);
}

/* Last in the program: it drops the process's right to ignore file modes. */
static void
test_read_only (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  append (f->history, "r1", 1, 1);
  psc_history_close (f->history);
  f->history = NULL;
  g_assert_cmpint (g_chmod (f->path, 0444), ==, 0);
  psc_test_drop_dac_override ();
  g_assert_null (psc_history_open (f->path, &error));
  g_assert_error (error, PSC_HISTORY_ERROR, PSC_HISTORY_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (error->message, "read-only"));
  /* Writable again: the same file, its message still there. */
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
  f->history = psc_history_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (psc_history_count_chats (f->history, "r1"), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/history/chats", Fixture, NULL, setup, test_chats, teardown);
  g_test_add ("/history/all-or-nothing", Fixture, NULL, setup, test_all_or_nothing, teardown);
  g_test_add ("/history/reopen", Fixture, NULL, setup, test_reopen, teardown);
  g_test_add ("/history/expire", Fixture, NULL, setup, test_expire, teardown);
  g_test_add ("/history/not-a-database", Fixture, NULL, setup, test_not_a_database, teardown);
  g_test_add ("/history/newer-schema", Fixture, NULL, setup, test_newer_schema, teardown);
  g_test_add ("/history/read-only", Fixture, NULL, setup, test_read_only, teardown);
  return g_test_run ();
}
