/* periscope integration tests: sources — gst-launch descriptions whose video pad appears
 * only once the stream is known (decodebin, uridecodebin, a demuxer), with an audio track
 * periscope does not use, from files the test records itself, played at their own rate.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>

#include "psc-test-fixture.h"

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

/* @description with "FILE" standing for the clip's path. */
static PscTestFixtureData *
file_fixture (const char *description, const char *file)
{
  PscTestFixtureData *data = g_new0 (PscTestFixtureData, 1);
  g_autofree char *path = g_build_filename (clip_dir, file, NULL);
  g_auto (GStrv) parts = g_strsplit (description, "FILE", -1);

  data->codec = "h264";
  data->connect_timeout_s = 20;
  /* Kept running: releasing the capture would start the file again. */
  data->always_on = TRUE;
  data->source = g_strjoinv (path, parts);
  return data;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) fixtures = g_ptr_array_new ();
  int status;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  clip_dir = g_dir_make_tmp ("periscope-source-XXXXXX", &error);
  g_assert_no_error (error);
  record_clip ("clip.mp4", "mp4mux name=mux");
  record_clip ("clip.mpg", "mpegpsmux name=mux");

#define ADD_FILE(path, description, file) \
  G_STMT_START { \
    PscTestFixtureData *data = file_fixture ((description), (file)); \
    g_ptr_array_add (fixtures, data); \
    PSC_TEST_ADD ((path), data, test_file); \
  } G_STMT_END
  ADD_FILE ("/integration/source/mp4-decodebin", "filesrc location=FILE ! decodebin",
      "clip.mp4");
  ADD_FILE ("/integration/source/mpeg-ps-uridecodebin", "uridecodebin uri=file://FILE",
      "clip.mpg");
  ADD_FILE ("/integration/source/mp4-demuxer",
      "filesrc location=FILE ! qtdemux ! h264parse ! decodebin", "clip.mp4");
#undef ADD_FILE

  status = g_test_run ();

  for (guint i = 0; i < fixtures->len; i++) {
    PscTestFixtureData *data = g_ptr_array_index (fixtures, i);
    g_free ((char *) data->source);
    g_free (data);
  }
  for (const char *file = "clip.mp4"; file != NULL;
      file = g_str_equal (file, "clip.mp4") ? "clip.mpg" : NULL) {
    g_autofree char *path = g_build_filename (clip_dir, file, NULL);
    g_unlink (path);
  }
  g_rmdir (clip_dir);
  g_free (clip_dir);
  return status;
}
