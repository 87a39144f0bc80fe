/* periscope — the streams a daemon serves, and the viewer limit over all of them
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-registry.h"
#include "psc-connections.h"

/* File descriptors a viewer may hold: per local address ICE gathers on, a UDP socket and a
 * TCP listener, and the wakeup eventfds of webrtcbin's and libnice's main contexts — about 4
 * to 6 on one address; 16 leaves room for a box with several. */
#define VIEWER_FDS 16

G_DEFINE_QUARK (psc-registry-error-quark, psc_registry_error)

struct _PscRegistry {
  GObject parent;

  GPtrArray *streams;           /* PscStream*, ref'd, in the order added */
  guint max_viewers;
  guint max_per_address;
  GHashTable *seats;            /* address -> viewers (GUINT_TO_POINTER) */
  guint seated;                 /* seats taken in all, with or without an address */
  guint64 refused[2];           /* by the limit over all, per address */
};

G_DEFINE_FINAL_TYPE (PscRegistry, psc_registry, G_TYPE_OBJECT)

enum {
  SIGNAL_STREAM_ADDED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
psc_registry_finalize (GObject *object)
{
  PscRegistry *self = PSC_REGISTRY (object);

  g_ptr_array_unref (self->streams);
  g_hash_table_unref (self->seats);
  G_OBJECT_CLASS (psc_registry_parent_class)->finalize (object);
}

static void
psc_registry_class_init (PscRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psc_registry_finalize;

  /**
   * PscRegistry::stream-added:
   * @registry: the registry
   * @stream: the stream just added
   *
   * Emitted on the main context by psc_registry_add_stream().
   */
  signals[SIGNAL_STREAM_ADDED] = g_signal_new ("stream-added", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, PSC_TYPE_STREAM);
}

static void
psc_registry_init (PscRegistry *self)
{
  self->streams = g_ptr_array_new_with_free_func (g_object_unref);
  self->seats = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

PscRegistry *
psc_registry_new (guint max_viewers)
{
  PscRegistry *self = g_object_new (PSC_TYPE_REGISTRY, NULL);

  self->max_viewers = max_viewers;
  return self;
}

void
psc_registry_add_stream (PscRegistry *self, PscStream *stream)
{
  g_return_if_fail (PSC_IS_REGISTRY (self) && PSC_IS_STREAM (stream));
  g_return_if_fail (psc_registry_lookup (self, psc_stream_get_id (stream)) == NULL);

  g_ptr_array_add (self->streams, g_object_ref (stream));
  g_signal_emit (self, signals[SIGNAL_STREAM_ADDED], 0, stream);
}

PscStream *
psc_registry_lookup (PscRegistry *self, const char *id)
{
  g_return_val_if_fail (PSC_IS_REGISTRY (self), NULL);

  for (guint i = 0; id != NULL && i < self->streams->len; i++) {
    PscStream *stream = g_ptr_array_index (self->streams, i);
    if (g_str_equal (psc_stream_get_id (stream), id))
      return stream;
  }
  return NULL;
}

PscStream *
psc_registry_lookup_checked (PscRegistry *self, const char *id, GError **error)
{
  PscStream *stream = psc_registry_lookup (self, id);

  if (stream == NULL)
    g_set_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_NO_STREAM, "no stream \"%s\"",
        id);
  return stream;
}

GPtrArray *
psc_registry_get_streams (PscRegistry *self)
{
  g_return_val_if_fail (PSC_IS_REGISTRY (self), NULL);
  return self->streams;
}

PscStream *
psc_registry_get_default_stream (PscRegistry *self)
{
  g_return_val_if_fail (PSC_IS_REGISTRY (self), NULL);
  return self->streams->len > 0 ? g_ptr_array_index (self->streams, 0) : NULL;
}

guint
psc_registry_count_viewers (PscRegistry *self)
{
  g_return_val_if_fail (PSC_IS_REGISTRY (self), 0);

  return self->seated;
}

/* The viewers' branches attached to every stream: those watching, and those of viewers who
 * left whose webrtcbin is still finishing its queued operations. */
static guint
count_branches (PscRegistry *self)
{
  guint branches = 0;

  for (guint i = 0; i < self->streams->len; i++) {
    PscStreamStats stats;
    psc_stream_get_stats (g_ptr_array_index (self->streams, i), &stats);
    branches += stats.viewers;
  }
  return branches;
}

gboolean
psc_registry_check_viewer_limit (PscRegistry *self, GError **error)
{
  guint viewers, branches;
  guint64 fd_limit = 0;
  int fds;

  g_return_val_if_fail (PSC_IS_REGISTRY (self), FALSE);

  viewers = psc_registry_count_viewers (self);
  if (self->max_viewers > 0 && viewers >= self->max_viewers) {
    g_set_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT,
        "the viewer limit is reached (%u viewers, --max-viewers); try again later", viewers);
    return FALSE;
  }
  /* Viewers who join and leave in a loop must not pile up webrtcbins being torn down (each
   * a handful of threads, for up to 5 s): as many as the limit again may be on their way out. */
  branches = count_branches (self);
  if (self->max_viewers > 0 && branches >= 2 * self->max_viewers) {
    g_set_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT,
        "the viewer limit is reached (%u viewers, and %u sessions of viewers who left still "
        "ending; --max-viewers); try again in a few seconds", viewers, branches - viewers);
    return FALSE;
  }
  /* Out of descriptors, GLib aborts the process (a new thread's main context cannot make its
   * wakeup pipe): a quarter of the limit stays free for the HTTP server, the viewers being
   * torn down and everything else. */
  fds = psc_count_open_fds (&fd_limit);
  if (fds >= 0 && fd_limit > 0 && (guint64) fds + VIEWER_FDS > fd_limit * 3 / 4) {
    g_set_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT,
        "no file descriptors left for another viewer (%d of %" G_GUINT64_FORMAT " in use; "
        "the service's LimitNOFILE= raises the limit); try again later", fds, fd_limit);
    return FALSE;
  }
  return TRUE;
}

void
psc_registry_set_max_per_address (PscRegistry *self, guint max_per_address)
{
  g_return_if_fail (PSC_IS_REGISTRY (self));

  self->max_per_address = max_per_address;
}

gboolean
psc_registry_take_seat (PscRegistry *self, const char *address, GError **error)
{
  guint taken;

  g_return_val_if_fail (PSC_IS_REGISTRY (self), FALSE);

  if (!psc_registry_check_viewer_limit (self, error)) {
    self->refused[0]++;
    return FALSE;
  }
  if (address == NULL) {
    self->seated++;
    return TRUE;
  }
  taken = GPOINTER_TO_UINT (g_hash_table_lookup (self->seats, address));
  if (self->max_per_address > 0 && taken >= self->max_per_address) {
    self->refused[1]++;
    g_set_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_ADDRESS_LIMIT,
        "this address has %u viewers already, the most one address may have "
        "(--max-viewers-per-address); end one, or try again later", taken);
    return FALSE;
  }
  g_hash_table_replace (self->seats, g_strdup (address), GUINT_TO_POINTER (taken + 1));
  self->seated++;
  return TRUE;
}

void
psc_registry_release_seat (PscRegistry *self, const char *address)
{
  guint taken;

  g_return_if_fail (PSC_IS_REGISTRY (self));
  g_return_if_fail (self->seated > 0);

  self->seated--;
  if (address == NULL)
    return;
  taken = GPOINTER_TO_UINT (g_hash_table_lookup (self->seats, address));
  g_return_if_fail (taken > 0);
  if (taken == 1)
    g_hash_table_remove (self->seats, address);
  else
    g_hash_table_replace (self->seats, g_strdup (address), GUINT_TO_POINTER (taken - 1));
}

void
psc_registry_get_seats_refused (PscRegistry *self, guint64 refused[2])
{
  g_return_if_fail (PSC_IS_REGISTRY (self));

  refused[0] = self->refused[0];
  refused[1] = self->refused[1];
}
