/* periscope unit tests — the stream registry: lookup, the default stream, the viewer limit
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <string.h>

#include <sys/resource.h>

#include "psc-config.h"
#include "psc-connections.h"
#include "psc-registry.h"

/* A stream built, not started: the registry needs no frames. */
static PscStream *
make_stream (const char *id)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  PscSourceChoice source = {
    .kind = PSC_SOURCE_TEST_PATTERN,
    .description = (char *) "videotestsrc is-live=true",
    .reason = (char *) "a test",
  };
  PscEncoderChoice h264 = {
    .codec = PSC_CODEC_H264,
    .factory = (char *) "x264enc",
    .description = (char *) "x264enc tune=zerolatency speed-preset=ultrafast",
    .reason = (char *) "a test",
  };
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { [PSC_CODEC_H264] = &h264 };
  PscStream *stream;

  config->width = 160;
  config->height = 120;
  g_assert_true (psc_config_validate (config, &error));
  stream = psc_stream_new (id, &source, encoders, PSC_CODEC_H264, config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);
  return stream;
}

static void
on_stream_added (PscRegistry *registry, PscStream *stream, gpointer user_data)
{
  g_ptr_array_add (user_data, stream);
}

static void
test_lookup (void)
{
  g_autoptr (PscRegistry) registry = psc_registry_new (0);
  g_autoptr (PscStream) camera = make_stream ("camera");
  g_autoptr (PscStream) garden = make_stream ("garden");
  g_autoptr (GPtrArray) added = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  g_assert_null (psc_registry_get_default_stream (registry));
  g_assert_cmpuint (psc_registry_get_streams (registry)->len, ==, 0);
  g_signal_connect (registry, "stream-added", G_CALLBACK (on_stream_added), added);

  psc_registry_add_stream (registry, camera);
  psc_registry_add_stream (registry, garden);
  g_assert_cmpuint (added->len, ==, 2);
  g_assert_true (g_ptr_array_index (added, 0) == camera);
  g_assert_true (g_ptr_array_index (added, 1) == garden);

  g_assert_true (psc_registry_lookup (registry, "camera") == camera);
  g_assert_true (psc_registry_lookup (registry, "garden") == garden);
  g_assert_null (psc_registry_lookup (registry, "cellar"));
  g_assert_null (psc_registry_lookup (registry, NULL));
  g_assert_null (psc_registry_lookup_checked (registry, "cellar", &error));
  g_assert_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_NO_STREAM);
  g_assert_nonnull (strstr (error->message, "cellar"));

  /* The first added is the default, whatever comes after; the order is kept. */
  g_assert_true (psc_registry_get_default_stream (registry) == camera);
  g_assert_true (g_ptr_array_index (psc_registry_get_streams (registry), 1) == garden);
}

static GstElement *
fake_branch (void)
{
  GstElement *bin = gst_bin_new (NULL);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) pad = gst_element_get_static_pad (sink, "sink");

  g_object_set (sink, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (bin), sink);
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", pad));
  return gst_object_ref_sink (bin);
}

/* Viewers who left and whose branches are still attached (webrtcbin finishing its queued
 * operations) do not hold seats, but no more than the limit again of them: a loop of joins
 * and leaves cannot pile up webrtcbins. */
static void
test_branches_ending (void)
{
  g_autoptr (PscRegistry) registry = psc_registry_new (1);
  g_autoptr (PscStream) camera = make_stream ("camera");
  g_autoptr (GstElement) a = fake_branch ();
  g_autoptr (GstElement) b = fake_branch ();
  g_autoptr (GError) error = NULL;

  psc_registry_add_stream (registry, camera);
  g_assert_true (psc_stream_attach (camera, a, PSC_CODEC_H264, FALSE, &error));
  g_assert_no_error (error);
  /* One branch of a viewer who left: a new viewer may start. */
  g_assert_true (psc_registry_check_viewer_limit (registry, &error));
  g_assert_true (psc_stream_attach (camera, b, PSC_CODEC_H264, FALSE, &error));
  /* Two, twice the limit: not until one is gone. */
  g_assert_false (psc_registry_check_viewer_limit (registry, &error));
  g_assert_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT);
  g_assert_nonnull (strstr (error->message, "still ending"));
  psc_stream_detach (camera, a);
  g_assert_true (psc_registry_check_viewer_limit (registry, NULL));
  psc_stream_detach (camera, b);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  psc_stream_stop (camera);
}

/* --max-viewers counts seats, of every stream and kind of viewer alike; one given back is
 * free at once, before the viewer's branch is detached. */
static void
test_viewer_limit (void)
{
  g_autoptr (PscRegistry) unlimited = psc_registry_new (0);
  g_autoptr (PscRegistry) registry = psc_registry_new (2);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (psc_registry_count_viewers (registry), ==, 0);
  g_assert_true (psc_registry_check_viewer_limit (registry, &error));
  g_assert_no_error (error);

  g_assert_true (psc_registry_take_seat (registry, "192.0.2.1", &error));
  g_assert_cmpuint (psc_registry_count_viewers (registry), ==, 1);
  g_assert_true (psc_registry_check_viewer_limit (registry, &error));
  /* A viewer made in the process (no address) counts too. */
  g_assert_true (psc_registry_take_seat (registry, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (psc_registry_count_viewers (registry), ==, 2);
  g_assert_false (psc_registry_check_viewer_limit (registry, &error));
  g_assert_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT);
  g_assert_nonnull (strstr (error->message, "--max-viewers"));
  g_clear_error (&error);
  g_assert_false (psc_registry_take_seat (registry, "192.0.2.2", &error));
  g_assert_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT);
  /* 0 is no limit. */
  g_assert_true (psc_registry_check_viewer_limit (unlimited, NULL));

  /* A viewer gone frees its seat. */
  psc_registry_release_seat (registry, NULL);
  g_assert_cmpuint (psc_registry_count_viewers (registry), ==, 1);
  g_assert_true (psc_registry_check_viewer_limit (registry, NULL));
  psc_registry_release_seat (registry, "192.0.2.1");
  g_assert_cmpuint (psc_registry_count_viewers (registry), ==, 0);
}

/* Seats per address: counted per address, given back, refused with a reason that names no
 * address; NULL (a viewer made in the process) is not counted. */
static void
test_seats_per_address (void)
{
  g_autoptr (PscRegistry) registry = psc_registry_new (0);
  g_autoptr (GError) error = NULL;
  guint64 refused[2];

  psc_registry_set_max_per_address (registry, 2);
  g_assert_true (psc_registry_take_seat (registry, "192.0.2.1", NULL));
  g_assert_true (psc_registry_take_seat (registry, "192.0.2.1", NULL));
  g_assert_true (psc_registry_take_seat (registry, "192.0.2.2", NULL));
  g_assert_true (psc_registry_take_seat (registry, NULL, NULL));
  g_assert_false (psc_registry_take_seat (registry, "192.0.2.1", &error));
  g_assert_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_ADDRESS_LIMIT);
  g_assert_nonnull (strstr (error->message, "--max-viewers-per-address"));
  g_assert_null (strstr (error->message, "192.0.2.1"));
  psc_registry_get_seats_refused (registry, refused);
  g_assert_cmpuint (refused[0], ==, 0);
  g_assert_cmpuint (refused[1], ==, 1);

  psc_registry_release_seat (registry, "192.0.2.1");
  g_assert_true (psc_registry_take_seat (registry, "192.0.2.1", NULL));
  /* 0 is no limit. */
  psc_registry_set_max_per_address (registry, 0);
  g_assert_true (psc_registry_take_seat (registry, "192.0.2.1", NULL));
}

/* A viewer is refused while there are not enough file descriptors left for it, before GLib
 * would abort for want of one. */
static void
test_fd_limit (void)
{
  g_autoptr (PscRegistry) registry = psc_registry_new (0);
  g_autoptr (GError) error = NULL;
  struct rlimit saved, low;
  int fds = psc_count_open_fds (NULL);

  g_assert_cmpint (fds, >, 0);
  g_assert_true (psc_registry_check_viewer_limit (registry, NULL));
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = (rlim_t) fds + 20;     /* 3/4 of it leaves no room for 16 more */
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  g_assert_false (psc_registry_check_viewer_limit (registry, &error));
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_assert_error (error, PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT);
  g_assert_nonnull (strstr (error->message, "file descriptors"));
  g_assert_true (psc_registry_check_viewer_limit (registry, NULL));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/registry/lookup", test_lookup);
  g_test_add_func ("/registry/viewer-limit", test_viewer_limit);
  g_test_add_func ("/registry/branches-ending", test_branches_ending);
  g_test_add_func ("/registry/fd-limit", test_fd_limit);
  g_test_add_func ("/registry/seats-per-address", test_seats_per_address);
  return g_test_run ();
}
