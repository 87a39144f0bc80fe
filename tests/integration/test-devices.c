/* periscope integration tests: a camera that comes back — when the device node of an offline
 * stream's camera appears, PscDevices has the stream try its source at once, not after the
 * rest of the backoff. The cameras come from a GstDeviceProvider of the test's own, which
 * GstDeviceMonitor finds as it finds the v4l2 one.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "psc-devices.h"
#include "psc-test-fixture.h"

#define PROVIDER "psctestcameras"
#define CAMERA_NODE "/dev/periscope-test-video0"

/* The camera: a clip recorded at clip_path, "plugged in" by renaming it to camera_path, the
 * file the stream's source reads. Its device node is camera_node (a file of the test's, for
 * realpath()), which the stream names through camera_link, as a /dev/v4l/by-id/ link. */
static char *clip_path;
static char *camera_path;
static char *camera_node;
static char *camera_link;

/* ---- A device provider of the test's own: cameras it announces when the test says ---- */

G_DECLARE_FINAL_TYPE (PscTestCameras, psc_test_cameras, PSC_TEST, CAMERAS, GstDeviceProvider)
struct _PscTestCameras {
  GstDeviceProvider parent;
};
G_DEFINE_TYPE (PscTestCameras, psc_test_cameras, GST_TYPE_DEVICE_PROVIDER)

G_DECLARE_FINAL_TYPE (PscTestCamera, psc_test_camera, PSC_TEST, CAMERA, GstDevice)
struct _PscTestCamera {
  GstDevice parent;
};
G_DEFINE_TYPE (PscTestCamera, psc_test_camera, GST_TYPE_DEVICE)

/* The cameras plugged in before a monitor starts (GstDevice*, not owned): announced when it
 * starts, as the v4l2 provider announces the cameras it finds. Later ones the test announces
 * itself (gst_device_provider_device_add()). */
static GList *plugged;

static GList *
cameras_probe (GstDeviceProvider *provider)
{
  return g_list_copy_deep (plugged, (GCopyFunc) gst_object_ref, NULL);
}

static gboolean
cameras_start (GstDeviceProvider *provider)
{
  for (GList *l = plugged; l != NULL; l = l->next)
    gst_device_provider_device_add (provider, l->data);
  return TRUE;
}

static void
cameras_stop (GstDeviceProvider *provider)
{
}

static void
psc_test_cameras_class_init (PscTestCamerasClass *klass)
{
  GstDeviceProviderClass *provider_class = GST_DEVICE_PROVIDER_CLASS (klass);

  provider_class->probe = cameras_probe;
  provider_class->start = cameras_start;
  provider_class->stop = cameras_stop;
  gst_device_provider_class_set_static_metadata (provider_class, "periscope test cameras",
      "Source/Video", "Cameras a test plugs in", "periscope");
}

static void
psc_test_cameras_init (PscTestCameras *self)
{
  /* The machine's own cameras stay out of the tests, hidden the way PipeWire's provider hides
   * the v4l2 one's (GstDeviceMonitor:show-all is off). */
  static const char *const hidden[] = { "v4l2deviceprovider", "uvch264deviceprovider",
    "pipewiredeviceprovider" };

  for (guint i = 0; i < G_N_ELEMENTS (hidden); i++)
    gst_device_provider_hide_provider (GST_DEVICE_PROVIDER (self), hidden[i]);
}

static void
psc_test_camera_class_init (PscTestCameraClass *klass)
{
}

static void
psc_test_camera_init (PscTestCamera *self)
{
}

static gboolean
register_provider (GstPlugin *plugin)
{
  return gst_device_provider_register (plugin, PROVIDER, GST_RANK_PRIMARY,
      psc_test_cameras_get_type ());
}

/* A camera at device node @path, as GStreamer 1.22's v4l2 provider describes one. */
static GstDevice *
camera_new (const char *path)
{
  g_autoptr (GstCaps) caps = gst_caps_new_empty_simple ("video/x-raw");
  g_autoptr (GstStructure) props = gst_structure_new ("v4l2deviceprovider",
      "device.path", G_TYPE_STRING, path, NULL);

  return gst_object_ref_sink (g_object_new (psc_test_camera_get_type (),
          "display-name", "periscope test camera", "device-class", "Video/Source",
          "caps", caps, "properties", props, NULL));
}

/* ---- Tests ---- */

/* A camera missing at start-up, then plugged in: its source is a file that is not there yet. */
static const PscTestFixtureData missing_camera = { .codec = "h264", .connect_timeout_s = 20,
  .always_on = TRUE };

static guint64
source_attempts (PscStream *stream)
{
  PscStreamStats stats;

  psc_stream_get_stats (stream, &stats);
  return stats.source_attempts;
}

/* Runs what is ready on the main context now, and no timer that is not due: an attempt
 * made by then was made at once, not by the backoff. */
static void
dispatch_ready (void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* The stream's camera is missing: it starts offline, and its retries fail; a camera of
 * another node appearing changes nothing; its own appearing (at the node the stream's
 * by-id link names) has the stream try at once, and go live. */
static void
test_camera_appears (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscDevices) devices = psc_devices_new ();
  g_autoptr (GstDeviceProvider) provider = gst_device_provider_factory_get_by_name (PROVIDER);
  g_autoptr (GstDevice) other = camera_new ("/dev/periscope-test-video9");
  g_autoptr (GstDevice) camera = camera_new (camera_node);
  PscTestAttemptWait wait = { .stream = f->stream, .attempts = 2 };
  guint64 attempts;

  g_assert_nonnull (provider);
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);
  psc_devices_watch (devices, f->stream, camera_link);
  g_assert_true (psc_devices_start (devices));

  /* Two retries fail, 1 s and 3 s after the start: the next one is 4 s away. */
  PSC_TEST_WAIT_UNTIL (psc_test_attempts_reached, &wait, 15, "two retries of the source");
  g_assert_cmpint (psc_stream_get_state (f->stream), ==, PSC_STREAM_OFFLINE);

  attempts = source_attempts (f->stream);
  gst_device_provider_device_add (provider, other);
  dispatch_ready ();
  g_assert_cmpuint (source_attempts (f->stream), ==, attempts);

  /* Plugged in. */
  g_assert_cmpint (g_rename (clip_path, camera_path), ==, 0);
  gst_device_provider_device_add (provider, camera);
  dispatch_ready ();
  g_assert_cmpuint (source_attempts (f->stream), ==, attempts + 1);
  PSC_TEST_WAIT_UNTIL (psc_test_stream_live, f->stream, 10, "the stream to be live");

  gst_device_provider_device_remove (provider, camera);
  gst_device_provider_device_remove (provider, other);
  g_assert_cmpint (g_rename (camera_path, clip_path), ==, 0);
}

/* The node to watch comes with the source choice: --device's, the camera's found at
 * start-up, none for a --source. */
static void
test_source_device (void)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (PscSourceChoice) choice = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstDevice) camera = camera_new (CAMERA_NODE);

  plugged = g_list_append (NULL, camera);
  choice = psc_source_select (config, &error);
  g_clear_pointer (&plugged, g_list_free);
  g_assert_no_error (error);
  g_assert_cmpint (choice->kind, ==, PSC_SOURCE_CAMERA);
  g_assert_cmpstr (choice->device, ==, CAMERA_NODE);
  g_assert_cmpstr (choice->description, ==, "v4l2src device=" CAMERA_NODE);

  g_clear_pointer (&choice, psc_source_choice_free);
  config->device = g_strdup ("/dev/video7");
  choice = psc_source_select (config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (choice->kind, ==, PSC_SOURCE_DEVICE);
  g_assert_cmpstr (choice->device, ==, "/dev/video7");

  g_clear_pointer (&choice, psc_source_choice_free);
  g_clear_pointer (&config->device, g_free);
  config->source = g_strdup (PSC_TEST_SOURCE);
  choice = psc_source_select (config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (choice->kind, ==, PSC_SOURCE_DESCRIPTION);
  g_assert_null (choice->device);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *source = NULL;
  PscTestFixtureData camera_fixture = missing_camera;
  int status;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_assert_true (gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR,
          PROVIDER, "cameras a test plugs in", register_provider, "1.0", "LGPL",
          "periscope", "periscope", "https://github.com/"));

  dir = g_dir_make_tmp ("periscope-devices-XXXXXX", &error);
  g_assert_no_error (error);
  clip_path = g_build_filename (dir, "clip.mp4", NULL);
  camera_path = g_build_filename (dir, "camera.mp4", NULL);
  {
    g_autofree char *node = g_build_filename (dir, "video0", NULL);

    g_assert_true (g_file_set_contents (node, "", 0, &error));
    camera_node = realpath (node, NULL);
    g_assert_nonnull (camera_node);
    camera_link = g_build_filename (dir, "usb-periscope-test-video-index0", NULL);
    g_assert_cmpint (symlink ("video0", camera_link), ==, 0);
  }
  psc_test_record_clip (clip_path, "mp4mux name=mux", 60, 30);
  source = g_strdup_printf ("filesrc location=%s ! decodebin", camera_path);
  camera_fixture.source = source;

  g_test_add_func ("/integration/devices/source-device", test_source_device);
  PSC_TEST_ADD ("/integration/devices/camera-appears", &camera_fixture, test_camera_appears);

  status = g_test_run ();

  g_unlink (clip_path);
  g_unlink (camera_path);
  g_unlink (camera_link);
  g_unlink (camera_node);
  g_rmdir (dir);
  g_free (clip_path);
  g_free (camera_path);
  g_free (camera_link);
  free (camera_node);
  return status;
}
