/* periscope — which video source a stream captures from, and why
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-source.h"

#include <gio/gio.h>

#define TEST_PRESET "test"

void
psc_source_choice_free (PscSourceChoice *choice)
{
  if (choice == NULL)
    return;
  g_free (choice->description);
  g_free (choice->reason);
  g_free (choice->device);
  g_free (choice);
}

static GList *
find_cameras (void)
{
  g_autoptr (GstDeviceMonitor) monitor = gst_device_monitor_new ();
  GList *devices;

  gst_device_monitor_add_filter (monitor, "Video/Source", NULL);
  if (!gst_device_monitor_start (monitor))
    return NULL;
  devices = gst_device_monitor_get_devices (monitor);
  gst_device_monitor_stop (monitor);
  return devices;
}

char *
psc_source_get_device_path (GstDevice *device)
{
  g_autoptr (GstStructure) props = NULL;
  const char *path;

  g_return_val_if_fail (GST_IS_DEVICE (device), NULL);

  props = gst_device_get_properties (device);
  if (props == NULL)
    return NULL;
  path = gst_structure_get_string (props, "api.v4l2.path");
  if (path == NULL)
    path = gst_structure_get_string (props, "device.path");
  return g_strdup (path);
}

static gboolean
device_offers (GstDevice *device, const char *media_type, const PscConfig *config)
{
  g_autoptr (GstCaps) caps = gst_device_get_caps (device);
  g_autoptr (GstCaps) wanted = gst_caps_new_simple (media_type,
      "width", G_TYPE_INT, config->width, "height", G_TYPE_INT, config->height,
      "framerate", GST_TYPE_FRACTION, config->framerate, 1, NULL);

  return caps != NULL && gst_caps_can_intersect (caps, wanted);
}

static char *
camera_description (GstDevice *device, const char *path, const PscConfig *config)
{
  if (!device_offers (device, "video/x-raw", config) &&
      device_offers (device, "image/jpeg", config))
    return g_strdup_printf ("v4l2src device=%s ! image/jpeg,width=%d,height=%d,"
        "framerate=%d/1 ! jpegdec", path, config->width, config->height, config->framerate);
  return g_strdup_printf ("v4l2src device=%s", path);
}

PscSourceChoice *
psc_source_select (const PscConfig *config, GError **error)
{
  g_autoptr (PscSourceChoice) choice = g_new0 (PscSourceChoice, 1);
  GList *cameras;

  g_return_val_if_fail (config != NULL, NULL);

  if (config->source != NULL) {
    choice->kind = PSC_SOURCE_DESCRIPTION;
    choice->description = psc_config_expand (config, config->source, error);
    choice->reason = config->source_from_preset ?
        g_strdup_printf ("source given by preset %s", config->preset) :
        g_strdup ("source given by --source");
    return choice->description ? g_steal_pointer (&choice) : NULL;
  }
  if (config->device != NULL) {
    choice->kind = PSC_SOURCE_DEVICE;
    choice->description = g_strdup_printf ("v4l2src device=%s", config->device);
    choice->reason = g_strdup_printf ("camera %s given by --device", config->device);
    choice->device = g_strdup (config->device);
    return g_steal_pointer (&choice);
  }

  cameras = find_cameras ();
  for (GList *l = cameras; l != NULL && choice->description == NULL; l = l->next) {
    g_autofree char *path = psc_source_get_device_path (l->data);
    g_autofree char *name = NULL;

    if (path == NULL)
      continue;
    name = gst_device_get_display_name (l->data);
    choice->kind = PSC_SOURCE_CAMERA;
    choice->description = camera_description (l->data, path, config);
    choice->reason = g_strdup_printf ("first camera found: %s (%s)", name, path);
    choice->device = g_strdup (path);
  }
  g_list_free_full (cameras, gst_object_unref);
  if (choice->description != NULL)
    return g_steal_pointer (&choice);

  {
    g_autofree char *test_source = psc_config_preset_get (TEST_PRESET, "source", error);
    if (test_source == NULL)
      return NULL;
    choice->kind = PSC_SOURCE_TEST_PATTERN;
    choice->description = psc_config_expand (config, test_source, error);
    choice->reason = g_strdup ("no camera found, so a live test pattern; "
        "give --device or --source to choose");
  }
  return choice->description ? g_steal_pointer (&choice) : NULL;
}

void
psc_source_print_devices (void)
{
  GList *cameras = find_cameras ();

  if (cameras == NULL)
    g_print ("No camera found (GstDeviceMonitor, Video/Source). periscope would stream "
        "its live test pattern.\n");
  for (GList *l = cameras; l != NULL; l = l->next) {
    g_autofree char *path = psc_source_get_device_path (l->data);
    g_autoptr (GstCaps) caps = gst_device_get_caps (l->data);
    g_autofree char *caps_text = caps ? gst_caps_to_string (caps) : g_strdup ("?");
    g_autofree char *name = gst_device_get_display_name (l->data);

    g_print ("%s  %s\n  caps: %s\n", path ? path : "(no device node)", name, caps_text);
  }
  g_list_free_full (cameras, gst_object_unref);
}
