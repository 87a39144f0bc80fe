/* periscope integration tests: sources — gst-launch descriptions whose video pad appears
 * only once the stream is known (decodebin, uridecodebin, a demuxer, rtspsrc), with an audio
 * track periscope does not use, from files the test records itself, played at their own
 * rate; and an IP camera (an RTSP server in the test, psc-test-rtsp.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>

#include "psc-test-fixture.h"
#include "psc-test-rtsp.h"

/* Each clip: 150 frames at 30 fps (5 s) of H.264, and an MP3 track. */
#define CLIP_FRAMES 150
#define CLIP_FPS 30

static char *clip_dir;

/* Records @file in clip_dir with @mux (a muxer description ending in `name=mux`). */
static void
record_clip (const char *file, const char *mux)
{
  g_autofree char *path = g_build_filename (clip_dir, file, NULL);

  psc_test_record_clip (path, mux, CLIP_FRAMES, CLIP_FPS);
}

/* The source plays to its end at its own rate (±10 %, the upper bound stretched under
 * valgrind), every frame reaching the capture, while a viewer decodes it. */
static void
test_file (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  gboolean ended = FALSE;
  PscStreamStats stats;
  guint64 frames;
  gint64 start;
  double seconds, rate;

  psc_test_flag_on_stream_offline (f->stream, &ended);
  psc_stream_get_stats (f->stream, &stats);
  frames = stats.frames_captured;
  start = g_get_monotonic_time ();
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 10);
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &ended, 15, "the end of the file");
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  psc_stream_get_stats (f->stream, &stats);
  frames = stats.frames_captured - frames;
  rate = frames / seconds;
  g_test_message ("%" G_GUINT64_FORMAT " frames in %.2f s: %.1f fps (total %" G_GUINT64_FORMAT
      ")", frames, seconds, rate, stats.frames_captured);
  /* A demuxer may drop what precedes the first keyframe it finds. */
  g_assert_cmpuint (stats.frames_captured, >=, CLIP_FRAMES * 9 / 10);
  g_assert_cmpfloat (rate, <=, CLIP_FPS * 1.1);
  g_assert_cmpfloat (rate, >=, CLIP_FPS * 0.9 / psc_test_time_factor ());
}

/* An IP camera: rtspsrc's pads come once the RTSP session is set up (delayed linking), and
 * the stream is live: frames keep coming at the camera's rate, decoded by a viewer. */
static void
test_rtsp_camera (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  PscStreamStats before, after;
  gint64 start;
  double rate;

  psc_stream_get_stats (f->stream, &before);
  start = g_get_monotonic_time ();
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 60, 20);
  psc_stream_get_stats (f->stream, &after);
  rate = (after.frames_captured - before.frames_captured) /
      ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  g_test_message ("%.1f fps from the camera", rate);
  g_assert_cmpfloat (rate, <=, CLIP_FPS * 1.1);
  g_assert_cmpfloat (rate, >=, CLIP_FPS * 0.8 / psc_test_time_factor ());
}

/* A fixture whose source is @description with "TARGET" standing for @target (a path, a
 * URL). */
static PscTestFixtureData *
source_fixture (const char *description, const char *target)
{
  PscTestFixtureData *data = g_new0 (PscTestFixtureData, 1);
  g_auto (GStrv) parts = g_strsplit (description, "TARGET", -1);

  data->codec = "h264";
  data->connect_timeout_s = 20;
  /* Kept running: releasing the capture would start a file again. */
  data->always_on = TRUE;
  data->source = g_strjoinv (target, parts);
  return data;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) fixtures = g_ptr_array_new ();
  g_autoptr (PscTestRtspCamera) camera = NULL;
  g_autofree char *mp4 = NULL;
  g_autofree char *mpg = NULL;
  int status;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  clip_dir = g_dir_make_tmp ("periscope-source-XXXXXX", &error);
  g_assert_no_error (error);
  record_clip ("clip.mp4", "mp4mux name=mux");
  record_clip ("clip.mpg", "mpegpsmux name=mux");
  mp4 = g_build_filename (clip_dir, "clip.mp4", NULL);
  mpg = g_build_filename (clip_dir, "clip.mpg", NULL);

  camera = psc_test_rtsp_camera_new ();
#define ADD(path, test, description, target) \
  G_STMT_START { \
    PscTestFixtureData *data = source_fixture ((description), (target)); \
    g_ptr_array_add (fixtures, data); \
    PSC_TEST_ADD ((path), data, (test)); \
  } G_STMT_END
  ADD ("/integration/source/mp4-decodebin", test_file, "filesrc location=TARGET ! decodebin",
      mp4);
  ADD ("/integration/source/mpeg-ps-uridecodebin", test_file, "uridecodebin uri=file://TARGET",
      mpg);
  ADD ("/integration/source/mp4-demuxer", test_file,
      "filesrc location=TARGET ! qtdemux ! h264parse ! decodebin", mp4);
  ADD ("/integration/source/rtsp-camera", test_rtsp_camera,
      "rtspsrc location=TARGET latency=0 ! rtph264depay ! h264parse ! decodebin",
      psc_test_rtsp_camera_get_url (camera));
#undef ADD

  status = g_test_run ();

  for (guint i = 0; i < fixtures->len; i++) {
    PscTestFixtureData *data = g_ptr_array_index (fixtures, i);
    g_free ((char *) data->source);
    g_free (data);
  }
  g_unlink (mp4);
  g_unlink (mpg);
  g_rmdir (clip_dir);
  g_free (clip_dir);
  return status;
}
