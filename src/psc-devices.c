/* periscope — cameras that come back: a GstDeviceMonitor that tries a stream's source at
 * once when its V4L2 device appears
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-devices.h"

#include <stdlib.h>

GST_DEBUG_CATEGORY_STATIC (psc_devices_debug);
#define GST_CAT_DEFAULT psc_devices_debug

struct _PscDevices {
  GstDeviceMonitor *monitor;
  guint bus_watch;
  GHashTable *streams;          /* device node (char*) -> PscStream* (ref'd) */
};

PscDevices *
psc_devices_new (void)
{
  PscDevices *self = g_new0 (PscDevices, 1);

  if (psc_devices_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_devices_debug, "psc-devices", 0,
        "periscope device monitor");
  self->monitor = gst_device_monitor_new ();
  self->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  return self;
}

void
psc_devices_watch (PscDevices *self, PscStream *stream, const char *path)
{
  g_return_if_fail (self != NULL && PSC_IS_STREAM (stream) && path != NULL);

  g_hash_table_replace (self->streams, g_strdup (path), g_object_ref (stream));
}

/* Whether @watched (a path the user gave: /dev/video0, or a udev symlink such as
 * /dev/v4l/by-id/usb-…-video-index0) names @node, the device node a provider reports. The
 * symlink is resolved now, when the device has appeared: udev makes its links before it
 * announces the device. */
static gboolean
names_node (const char *watched, const char *node)
{
  g_autofree char *real = NULL;

  if (g_strcmp0 (watched, node) == 0)
    return TRUE;
  real = realpath (watched, NULL);
  return real != NULL && g_strcmp0 (real, node) == 0;
}

/* Main context: a device appeared; if it is a stream's camera, that stream tries it now. */
static void
on_device_added (PscDevices *self, GstDevice *device)
{
  g_autofree char *node = psc_source_get_device_path (device);
  GHashTableIter iter;
  gpointer watched, stream;

  GST_DEBUG ("device added: %s", node ? node : "(no device node)");
  if (node == NULL)
    return;
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, &watched, &stream)) {
    if (names_node (watched, node) && psc_stream_retry_now (stream))
      g_message ("stream %s: camera %s appeared: trying it now", psc_stream_get_id (stream),
          (const char *) watched);
  }
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer user_data)
{
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_DEVICE_ADDED) {
    g_autoptr (GstDevice) device = NULL;

    gst_message_parse_device_added (message, &device);
    on_device_added (user_data, device);
  }
  return G_SOURCE_CONTINUE;
}

gboolean
psc_devices_start (PscDevices *self)
{
  g_autoptr (GstBus) bus = NULL;

  g_return_val_if_fail (self != NULL && self->bus_watch == 0, FALSE);

  gst_device_monitor_add_filter (self->monitor, "Video/Source", NULL);
  bus = gst_device_monitor_get_bus (self->monitor);
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  if (!gst_device_monitor_start (self->monitor)) {
    g_clear_handle_id (&self->bus_watch, g_source_remove);
    return FALSE;
  }
  return TRUE;
}

void
psc_devices_free (PscDevices *self)
{
  if (self == NULL)
    return;
  if (self->bus_watch != 0) {
    g_source_remove (self->bus_watch);
    gst_device_monitor_stop (self->monitor);
  }
  gst_object_unref (self->monitor);
  g_hash_table_unref (self->streams);
  g_free (self);
}
