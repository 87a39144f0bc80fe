/* periscope — snapshots: the next raw frame of a stream as JPEG
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

/**
 * SECTION:psc-snapshot
 * @title: psc-snapshot
 * @short_description: snapshots: the next raw frame of a stream as JPEG
 *
 * A #PscSnapshot answers snapshot requests of one stream (psc_stream_snapshot_async()): it
 * takes the next raw frame with a one-shot pad probe and has GStreamer convert it to JPEG, with
 * one frame, probe and timeout for every request waiting at the time. Main context, but for
 * the probe, which runs on the streaming thread.
 */

G_BEGIN_DECLS

/**
 * PSC_SNAPSHOT_TIMEOUT_MS:
 *
 * How long a snapshot waits for a frame before it fails with G_IO_ERROR_TIMED_OUT, ms.
 */
#define PSC_SNAPSHOT_TIMEOUT_MS 3000

/**
 * PscSnapshot:
 *
 * The snapshots waiting for one stream's next raw frame. Main context, but for the pad probe.
 */
typedef struct _PscSnapshot PscSnapshot;

/**
 * PscSnapshotDoneFunc:
 * @user_data: as given to psc_snapshot_new()
 *
 * Called on the main context when every waiting snapshot has been answered: the frames are
 * no longer needed for snapshots (psc_snapshot_is_waiting() returns %FALSE).
 */
typedef void (*PscSnapshotDoneFunc) (gpointer user_data);

/**
 * psc_snapshot_new:
 * @raw_pad: where frames are taken from: a pad carrying raw video, after scaling and before
 *   any encoder, so the viewers' video is not touched (a reference is kept)
 * @stream_id: the stream's id, for error messages
 * @context: the main context that owns the snapshots (a reference is kept)
 * @done: (scope notified): called when the waiting snapshots have been answered; not after
 *   psc_snapshot_free()
 * @user_data: for @done
 *
 * Made once per stream, on its main context; nothing is probed until psc_snapshot_take().
 *
 * Returns: (transfer full): the snapshots, none waiting; free with psc_snapshot_free().
 */
PscSnapshot * psc_snapshot_new (GstPad *raw_pad, const char *stream_id, GMainContext *context,
    PscSnapshotDoneFunc done, gpointer user_data);

/**
 * psc_snapshot_take:
 * @snapshot: the snapshots
 * @task: (transfer full): returns the JPEG as a #GBytes (g_task_propagate_pointer()), or an
 *   error: G_IO_ERROR_TIMED_OUT when no frame comes within #PSC_SNAPSHOT_TIMEOUT_MS, or
 *   gst_video_convert_sample_async()'s
 *
 * Waits for the next frame on the raw pad (a one-shot probe) and encodes it as JPEG with
 * gst_video_convert_sample_async(). Requests that wait at the same time share one frame, one
 * probe and one timeout. The caller makes sure frames flow. Main context.
 */
void          psc_snapshot_take (PscSnapshot *snapshot, GTask *task);

/**
 * psc_snapshot_is_waiting:
 * @snapshot: the snapshots
 *
 * The stream keeps its capture running while this is %TRUE.
 *
 * Returns: %TRUE while a snapshot waits for its frame or its JPEG.
 */
gboolean      psc_snapshot_is_waiting (PscSnapshot *snapshot);

/**
 * psc_snapshot_free:
 * @snapshot: the snapshots
 *
 * Lets go of @snapshot: the timeout is removed and @done is not called any more. A probe or a
 * conversion still under way keeps what it needs until it ends.
 */
void          psc_snapshot_free (PscSnapshot *snapshot);

G_END_DECLS
