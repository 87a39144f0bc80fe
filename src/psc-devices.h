/* periscope — cameras that come back: a GstDeviceMonitor that tries a stream's source at
 * once when its V4L2 device appears
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-stream.h"

/**
 * SECTION:psc-devices
 * @title: psc-devices
 * @short_description: cameras that come back: a stream's source tried at once when its device
 *   appears
 *
 * A stream whose camera is unplugged goes offline and tries its source again after a backoff
 * that grows to 30 s (#PscSupervisor). #PscDevices watches the cameras with a
 * #GstDeviceMonitor (Video/Source) and, when the device node of a stream it was given
 * appears — plugged back in, or plugged in for the first time after a start-up without it —
 * tells that stream to try at once (psc_stream_retry_now()). The device is told by its path
 * (psc_source_get_device_path()), the one thing that stays the same across a replug. Main
 * context.
 */

G_BEGIN_DECLS

/**
 * PscDevices:
 *
 * The device monitor of a daemon's cameras (psc_devices_new()); a plain struct, main context.
 */
typedef struct _PscDevices PscDevices;

/**
 * psc_devices_new:
 *
 * Makes the daemon's device monitor; psc_devices_watch() gives it the streams' cameras, then
 * psc_devices_start() starts it.
 *
 * Returns: (transfer full): a monitor watching for nothing yet, not started.
 */
PscDevices * psc_devices_new (void);

/**
 * psc_devices_watch:
 * @devices: the monitor
 * @stream: the stream capturing from @path (a reference is taken)
 * @path: the V4L2 device node of its source, as #PscSourceChoice.device gives it: the node
 *   itself or a symlink to it (udev's /dev/v4l/by-id/…, resolved when a device appears)
 *
 * When a device with node @path appears, @stream is told to try its source at once. A second
 * stream for the same @path replaces the first.
 */
void         psc_devices_watch (PscDevices *devices, PscStream *stream, const char *path);

/**
 * psc_devices_start:
 * @devices: the monitor
 *
 * Starts the #GstDeviceMonitor, its messages handled on the thread-default main context.
 * The devices present already are announced too: a stream offline while its device is there
 * (a camera busy elsewhere) gets one attempt more, which does no harm.
 *
 * Returns: %FALSE if no device provider could start (GStreamer has none for cameras here):
 *   then a camera that comes back is found by the backoff's retries only.
 */
gboolean     psc_devices_start (PscDevices *devices);

/**
 * psc_devices_free:
 * @devices: (nullable) (transfer full): the monitor
 *
 * Stops the monitor and drops the streams.
 */
void         psc_devices_free (PscDevices *devices);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscDevices, psc_devices_free)

G_END_DECLS
