/* periscope — snapshots: the next raw frame of a stream as JPEG
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-snapshot.h"
#include "psc-defer.h"

#include <gst/video/video.h>

/* Reference-counted: the probe, a frame on its way to the main context and a conversion
 * each hold a reference, so the owner may let go while one is under way. */
struct _PscSnapshot {
  GstPad *raw_pad;
  char *stream_id;
  GMainContext *context;

  /* main context */
  PscSnapshotDoneFunc done;     /* NULL once the owner let go */
  gpointer done_data;
  GPtrArray *tasks;             /* GTask*, waiting for a frame */
  gboolean probing;             /* a one-shot probe is waiting for a frame */
  GSource *timeout;
};

static PscSnapshot *
snapshot_ref (PscSnapshot *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
snapshot_clear (gpointer data)
{
  PscSnapshot *self = data;

  g_clear_object (&self->raw_pad);
  g_free (self->stream_id);
  g_main_context_unref (self->context);
  g_ptr_array_unref (self->tasks);
}

static void
snapshot_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, snapshot_clear);
}

static void
clear_timeout (PscSnapshot *self)
{
  if (self->timeout == NULL)
    return;
  g_source_destroy (self->timeout);
  g_clear_pointer (&self->timeout, g_source_unref);
}

PscSnapshot *
psc_snapshot_new (GstPad *raw_pad, const char *stream_id, GMainContext *context,
    PscSnapshotDoneFunc done, gpointer user_data)
{
  PscSnapshot *self;

  g_return_val_if_fail (GST_IS_PAD (raw_pad) && stream_id != NULL && context != NULL, NULL);

  self = g_atomic_rc_box_new0 (PscSnapshot);
  self->raw_pad = gst_object_ref (raw_pad);
  self->stream_id = g_strdup (stream_id);
  self->context = g_main_context_ref (context);
  self->done = done;
  self->done_data = user_data;
  self->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  return self;
}

/* Main context: answers every waiting request with @bytes or @error. */
static void
complete (PscSnapshot *self, GBytes *bytes, const GError *error)
{
  g_autoptr (GPtrArray) tasks = g_steal_pointer (&self->tasks);

  self->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  clear_timeout (self);
  for (guint i = 0; i < tasks->len; i++) {
    GTask *task = g_ptr_array_index (tasks, i);
    if (bytes != NULL)
      g_task_return_pointer (task, g_bytes_ref (bytes), (GDestroyNotify) g_bytes_unref);
    else
      g_task_return_error (task, g_error_copy (error));
  }
  /* While @tasks lives, so does their source object, the owner. */
  if (tasks->len > 0 && self->done != NULL)
    self->done (self->done_data);
}

/* Main context (gst_video_convert_sample_async() calls back on the context it was called
 * from). */
static void
on_converted (GstSample *sample, GError *error, gpointer user_data)
{
  PscSnapshot *self = user_data;

  if (sample != NULL) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    GstMapInfo map;
    g_autoptr (GBytes) bytes = NULL;

    gst_buffer_map (buffer, &map, GST_MAP_READ);
    bytes = g_bytes_new (map.data, map.size);
    gst_buffer_unmap (buffer, &map);
    complete (self, bytes, NULL);
    gst_sample_unref (sample);
  } else {
    complete (self, NULL, error);
  }
  g_clear_error (&error);
}

typedef struct {
  PscSnapshot *snapshot;
  GstSample *sample;
} Frame;

static void
frame_free (gpointer data)
{
  Frame *frame = data;

  gst_sample_unref (frame->sample);
  snapshot_unref (frame->snapshot);
  g_free (frame);
}

/* Main context. */
static gboolean
convert_frame (gpointer user_data)
{
  Frame *frame = user_data;
  PscSnapshot *self = frame->snapshot;
  g_autoptr (GstCaps) jpeg = gst_caps_new_empty_simple ("image/jpeg");

  self->probing = FALSE;
  if (self->tasks->len > 0)
    gst_video_convert_sample_async (frame->sample, jpeg, 5 * GST_SECOND, on_converted,
        snapshot_ref (self), snapshot_unref);
  return G_SOURCE_REMOVE;
}

/* Streaming thread: the next raw frame, once. */
static GstPadProbeReturn
on_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscSnapshot *self = user_data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  Frame *frame;

  if (caps == NULL)
    return GST_PAD_PROBE_OK;
  frame = g_new0 (Frame, 1);
  frame->snapshot = snapshot_ref (self);
  frame->sample = gst_sample_new (GST_PAD_PROBE_INFO_BUFFER (info), caps, NULL, NULL);
  psc_defer (self->context, convert_frame, frame, frame_free);
  return GST_PAD_PROBE_REMOVE;
}

/* Main context. */
static gboolean
on_timeout (gpointer user_data)
{
  PscSnapshot *self = user_data;
  g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
      "stream %s: no frame within %d ms", self->stream_id, PSC_SNAPSHOT_TIMEOUT_MS);

  complete (self, NULL, error);
  return G_SOURCE_REMOVE;
}

void
psc_snapshot_take (PscSnapshot *self, GTask *task)
{
  g_return_if_fail (self != NULL && G_IS_TASK (task));

  g_ptr_array_add (self->tasks, task);
  if (self->timeout == NULL) {
    self->timeout = g_timeout_source_new (PSC_SNAPSHOT_TIMEOUT_MS);
    /* Removed before the owner lets go, and when it fires (complete()). */
    g_source_set_callback (self->timeout, on_timeout, self, NULL);
    g_source_attach (self->timeout, self->context);
  }
  /* One probe at a time: it stays until a frame comes, however many requests wait. */
  if (!self->probing) {
    self->probing = TRUE;
    gst_pad_add_probe (self->raw_pad, GST_PAD_PROBE_TYPE_BUFFER, on_frame, snapshot_ref (self),
        snapshot_unref);
  }
}

gboolean
psc_snapshot_is_waiting (PscSnapshot *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->tasks->len > 0;
}

void
psc_snapshot_free (PscSnapshot *self)
{
  if (self == NULL)
    return;
  clear_timeout (self);
  self->done = NULL;
  snapshot_unref (self);
}
