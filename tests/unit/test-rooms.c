/* periscope unit tests: the rooms made through the API, and when they are forgotten
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-rooms.h"

#include <glib/gstdio.h>

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context for @ms. */
static void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, on_timeout, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_create (void)
{
  g_autoptr (PscRooms) rooms = psc_rooms_new (NULL, FALSE);
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *b_id = NULL;
  const PscHistoryRoom *a = psc_rooms_create (rooms, "Standup", "camera", NULL);
  const PscHistoryRoom *b = psc_rooms_create (rooms, NULL, NULL, NULL);

  g_assert_false (psc_rooms_get_open (rooms));
  g_assert_null (psc_rooms_get_history (rooms));
  g_assert_true (g_uuid_string_is_valid (a->id));
  g_assert_cmpstr (a->id, !=, b->id);
  g_assert_cmpstr (a->title, ==, "Standup");
  g_assert_cmpstr (a->stream, ==, "camera");
  g_assert_true (psc_rooms_lookup (rooms, a->id) == a);
  g_assert_null (psc_rooms_lookup (rooms, "nope"));
  list = psc_rooms_list (rooms);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_true (g_ptr_array_index (list, 0) == a);
  b_id = g_strdup (b->id);
  psc_rooms_delete (rooms, b_id);
  g_assert_null (psc_rooms_lookup (rooms, b_id));
  g_clear_pointer (&list, g_ptr_array_unref);
  list = psc_rooms_list (rooms);
  g_assert_cmpuint (list->len, ==, 1);
}

/* Empty and without history: forgotten after the delay; occupied, or with chats: kept. */
static void
test_forget (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("psc-rooms-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, PSC_HISTORY_FILE, NULL);
  g_autoptr (PscRooms) rooms = psc_rooms_new (psc_history_open (path, &error), FALSE);
  g_autoptr (GPtrArray) chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_chat_free);
  g_autofree char *empty = NULL;
  g_autofree char *busy = NULL;
  g_autofree char *talked = NULL;
  const char *suffixes[] = { "", "-wal", "-shm" };

  g_assert_no_error (error);
  psc_rooms_set_forget_delay (rooms, 1);
  empty = g_strdup (psc_rooms_create (rooms, "empty", NULL, NULL)->id);
  busy = g_strdup (psc_rooms_create (rooms, "busy", NULL, NULL)->id);
  talked = g_strdup (psc_rooms_create (rooms, "talked", NULL, NULL)->id);
  psc_rooms_set_occupied (rooms, busy, TRUE);
  g_ptr_array_add (chats, psc_chat_new (talked, "hello", NULL, NULL, g_get_real_time ()));
  g_assert_true (psc_history_append (psc_rooms_get_history (rooms), chats, &error));

  run_for (2500);
  g_assert_null (psc_rooms_lookup (rooms, empty));
  g_assert_nonnull (psc_rooms_lookup (rooms, busy));
  g_assert_nonnull (psc_rooms_lookup (rooms, talked));

  /* The busy one empties: its countdown starts then. */
  psc_rooms_set_occupied (rooms, busy, FALSE);
  g_assert_nonnull (psc_rooms_lookup (rooms, busy));
  run_for (2500);
  g_assert_null (psc_rooms_lookup (rooms, busy));
  g_assert_nonnull (psc_rooms_lookup (rooms, talked));

  g_clear_object (&rooms);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
    g_unlink (file);
  }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rooms/create", test_create);
  g_test_add_func ("/rooms/forget", test_forget);
  return g_test_run ();
}
