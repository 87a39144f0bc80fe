/* periscope — the rooms made through the API: ids, titles, streams, when they are forgotten
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-rooms.h"

#include <gio/gio.h>

/* How often the chat retention runs, in seconds. */
#define RETENTION_INTERVAL_S 3600

typedef struct {
  PscRooms *rooms;              /* not owned */
  PscHistoryRoom *room;         /* owned */
  gboolean occupied;
  guint forget_timer;
} Entry;

struct _PscRooms {
  GObject parent;

  PscHistory *history;          /* nullable */
  gboolean open_rooms;
  GHashTable *entries;          /* id -> Entry*, owned */
  guint forget_delay_s;
  guint retention_days;
  guint max_per_room;
  guint retention_timer;
};

G_DEFINE_FINAL_TYPE (PscRooms, psc_rooms, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  g_clear_handle_id (&entry->forget_timer, g_source_remove);
  psc_history_room_free (entry->room);
  g_free (entry);
}

static void
psc_rooms_finalize (GObject *object)
{
  PscRooms *self = PSC_ROOMS (object);

  g_clear_handle_id (&self->retention_timer, g_source_remove);
  g_hash_table_unref (self->entries);
  psc_history_close (self->history);
  G_OBJECT_CLASS (psc_rooms_parent_class)->finalize (object);
}

static void
psc_rooms_class_init (PscRoomsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psc_rooms_finalize;
}

static void
psc_rooms_init (PscRooms *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) entry_free);
  self->forget_delay_s = PSC_ROOMS_FORGET_S;
}

/* A store that fails is said, and the rooms go on without it. */
static void
warn_store (const char *doing, const GError *error)
{
  g_warning ("rooms: cannot %s: %s", doing, error->message);
}

static gboolean
on_forget (gpointer user_data)
{
  Entry *entry = user_data;
  PscRooms *self = entry->rooms;

  entry->forget_timer = 0;
  /* A room with history stays until DELETE, or until the retention empties it. */
  if (self->history != NULL && psc_history_count_chats (self->history, entry->room->id) > 0)
    return G_SOURCE_REMOVE;
  g_message ("room %s (%s) forgotten: empty for %u s, and no chat history", entry->room->id,
      entry->room->title ? entry->room->title : "no title", self->forget_delay_s);
  psc_rooms_delete (self, entry->room->id);
  return G_SOURCE_REMOVE;
}

static void
schedule_forget (Entry *entry)
{
  g_clear_handle_id (&entry->forget_timer, g_source_remove);
  if (!entry->occupied)
    entry->forget_timer = g_timeout_add_seconds (entry->rooms->forget_delay_s, on_forget, entry);
}

static Entry *
add_entry (PscRooms *self, PscHistoryRoom *room)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->rooms = self;
  entry->room = room;
  g_hash_table_replace (self->entries, room->id, entry);
  schedule_forget (entry);
  return entry;
}

PscRooms *
psc_rooms_new (PscHistory *history, gboolean open_rooms)
{
  PscRooms *self = g_object_new (PSC_TYPE_ROOMS, NULL);
  g_autoptr (GPtrArray) stored = NULL;
  g_autoptr (GError) error = NULL;

  self->history = history;
  self->open_rooms = open_rooms;
  if (history == NULL)
    return self;
  stored = psc_history_list_rooms (history, &error);
  if (stored == NULL) {
    warn_store ("read the rooms", error);
    return self;
  }
  for (guint i = 0; i < stored->len; i++)
    add_entry (self, g_ptr_array_steal_index_fast (stored, i--));
  return self;
}

gboolean
psc_rooms_get_open (PscRooms *self)
{
  g_return_val_if_fail (PSC_IS_ROOMS (self), FALSE);

  return self->open_rooms;
}

PscHistory *
psc_rooms_get_history (PscRooms *self)
{
  g_return_val_if_fail (PSC_IS_ROOMS (self), NULL);

  return self->history;
}

const PscHistoryRoom *
psc_rooms_create (PscRooms *self, const char *title, const char *stream, GError **error)
{
  PscHistoryRoom *room;
  g_autoptr (GError) store_error = NULL;

  g_return_val_if_fail (PSC_IS_ROOMS (self), NULL);

  if (g_hash_table_size (self->entries) >= PSC_ROOMS_MAX) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
        "there are %d rooms already, the most there may be: delete one first", PSC_ROOMS_MAX);
    return NULL;
  }
  room = g_new0 (PscHistoryRoom, 1);
  room->id = g_uuid_string_random ();
  room->title = g_strdup (title);
  room->stream = g_strdup (stream);
  room->created_at = g_get_real_time ();
  if (self->history != NULL && !psc_history_save_room (self->history, room, &store_error))
    warn_store ("store a room (it is gone after a restart)", store_error);
  return add_entry (self, room)->room;
}

const PscHistoryRoom *
psc_rooms_lookup (PscRooms *self, const char *id)
{
  Entry *entry;

  g_return_val_if_fail (PSC_IS_ROOMS (self), NULL);

  entry = id != NULL ? g_hash_table_lookup (self->entries, id) : NULL;
  return entry != NULL ? entry->room : NULL;
}

static gint
compare_created (gconstpointer a, gconstpointer b)
{
  const PscHistoryRoom *x = *(PscHistoryRoom *const *) a;
  const PscHistoryRoom *y = *(PscHistoryRoom *const *) b;

  if (x->created_at != y->created_at)
    return x->created_at < y->created_at ? -1 : 1;
  return g_strcmp0 (x->id, y->id);
}

GPtrArray *
psc_rooms_list (PscRooms *self)
{
  GPtrArray *list;
  GHashTableIter iter;
  Entry *entry;

  g_return_val_if_fail (PSC_IS_ROOMS (self), NULL);

  list = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    g_ptr_array_add (list, entry->room);
  g_ptr_array_sort (list, compare_created);
  return list;
}

void
psc_rooms_delete (PscRooms *self, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = g_strdup (id);

  g_return_if_fail (PSC_IS_ROOMS (self) && id != NULL);

  g_hash_table_remove (self->entries, key);
  if (self->history != NULL && !psc_history_delete_room (self->history, key, &error))
    warn_store ("delete a room", error);
}

void
psc_rooms_set_occupied (PscRooms *self, const char *id, gboolean occupied)
{
  Entry *entry;

  g_return_if_fail (PSC_IS_ROOMS (self) && id != NULL);

  entry = g_hash_table_lookup (self->entries, id);
  if (entry == NULL || entry->occupied == occupied)
    return;
  entry->occupied = occupied;
  schedule_forget (entry);
}

void
psc_rooms_set_forget_delay (PscRooms *self, guint seconds)
{
  g_return_if_fail (PSC_IS_ROOMS (self) && seconds > 0);

  self->forget_delay_s = seconds;
}

static gboolean
on_retention (gpointer user_data)
{
  PscRooms *self = user_data;
  g_autoptr (GError) error = NULL;
  gint64 before = self->retention_days > 0 ?
      g_get_real_time () - (gint64) self->retention_days * 24 * 3600 * G_USEC_PER_SEC : 0;
  gint64 deleted;

  if (self->history == NULL)
    return G_SOURCE_CONTINUE;
  deleted = psc_history_expire (self->history, before, self->max_per_room, &error);
  if (deleted < 0)
    warn_store ("apply the chat retention", error);
  else if (deleted > 0)
    g_message ("chat retention: %" G_GINT64_FORMAT " messages deleted", deleted);
  if (deleted > 0) {
    GHashTableIter iter;
    Entry *entry;

    /* Empty rooms kept for their history may have none left: their countdown starts. */
    g_hash_table_iter_init (&iter, self->entries);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry)) {
      if (!entry->occupied && entry->forget_timer == 0)
        schedule_forget (entry);
    }
  }
  return G_SOURCE_CONTINUE;
}

void
psc_rooms_set_retention (PscRooms *self, guint days, guint max_per_room)
{
  g_return_if_fail (PSC_IS_ROOMS (self));

  self->retention_days = days;
  self->max_per_room = max_per_room;
  g_clear_handle_id (&self->retention_timer, g_source_remove);
  on_retention (self);
  self->retention_timer = g_timeout_add_seconds (RETENTION_INTERVAL_S, on_retention, self);
}
