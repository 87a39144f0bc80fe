/* periscope unit tests: the latency stamp, drawn and read back, raw and through encoders
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <gst/app/app.h>
#include "psc-stamp.h"

/* A stamp drawn into a grey frame reads back exactly, in each family of 8-bit YUV layout. */
static void
test_round_trip (void)
{
  const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
    GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_UYVY, GST_VIDEO_FORMAT_Y444 };
  const gint64 when = g_get_real_time ();

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info;
    GstVideoFrame frame;
    g_autoptr (GstBuffer) buffer = NULL;
    GstMapInfo map;
    gint64 read = 0;

    gst_video_info_set_format (&info, formats[f], 1280, 720);
    buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    gst_buffer_map (buffer, &map, GST_MAP_WRITE);
    memset (map.data, 128, map.size);
    gst_buffer_unmap (buffer, &map);

    g_assert_true (gst_video_frame_map (&frame, &info, buffer, GST_MAP_READWRITE));
    g_assert_false (psc_stamp_read (&frame, &read));     /* grey: no stamp */
    g_assert_true (psc_stamp_write (&frame, when));
    g_assert_true (psc_stamp_read (&frame, &read));
    g_assert_cmpint (read, ==, when & ((G_GINT64_CONSTANT (1) << 48) - 1));
    /* The first cell inverted: the check value rejects it. */
    for (guint y = 0; y < 20; y++)
      for (guint x = 0; x < 20; x++) {
        guint8 *p = GST_VIDEO_FRAME_COMP_DATA (&frame, 0) +
            y * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0) + x * GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 0);
        *p = *p > 128 ? 16 : 235;
      }
    g_assert_false (psc_stamp_read (&frame, &read));
    gst_video_frame_unmap (&frame);
  }
}

static void
test_unsupported (void)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  g_autoptr (GstBuffer) buffer = NULL;

  g_assert_cmpuint (psc_stamp_cell_size (1280), ==, 20);
  g_assert_cmpuint (psc_stamp_cell_size (640), ==, 10);
  g_assert_cmpuint (psc_stamp_cell_size (100), ==, 0);

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGBx, 320, 240);
  buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  g_assert_true (gst_video_frame_map (&frame, &info, buffer, GST_MAP_READWRITE));
  g_assert_false (psc_stamp_write (&frame, 1));
  gst_video_frame_unmap (&frame);
}

/* Stamped by the probe on a live source, coded at 2 Mbit/s and decoded again: every frame's
 * stamp still reads, and says a time at most a few seconds old. This is the path the
 * benchmark's browser reader relies on. */
static void
check_through_encoder (const char *encode_decode)
{
  g_autofree char *description = g_strdup_printf (
      "videotestsrc is-live=true pattern=ball num-buffers=30 ! "
      "video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! identity name=stamp ! "
      "%s ! videoconvert ! video/x-raw,format=I420 ! appsink name=sink sync=false",
      encode_decode);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) stamp = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstPad) pad = NULL;
  guint frames = 0, stamped = 0;

  g_assert_no_error (error);
  stamp = gst_bin_get_by_name (GST_BIN (pipeline), "stamp");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (stamp, "src");
  g_assert_cmpuint (psc_stamp_add_probe (pad), >, 0);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);

  for (;;) {
    g_autoptr (GstSample) sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        10 * GST_SECOND);
    GstVideoInfo info;
    GstVideoFrame frame;
    gint64 read;

    if (sample == NULL)
      break;
    frames++;
    g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
    g_assert_true (gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample),
        GST_MAP_READ));
    if (psc_stamp_read (&frame, &read)) {
      gint64 now = g_get_real_time () & ((G_GINT64_CONSTANT (1) << 48) - 1);
      g_assert_cmpint (read, <=, now);
      /* Capture to decoded within 5 s, stretched under valgrind (PSC_TEST_TIME_FACTOR). */
      g_assert_cmpint (now - read, <, 5 * G_USEC_PER_SEC *
          MAX (1, g_ascii_strtoll (g_getenv ("PSC_TEST_TIME_FACTOR") ?: "1", NULL, 10)));
      stamped++;
    }
    gst_video_frame_unmap (&frame);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_assert_cmpuint (frames, ==, 30);
  g_assert_cmpuint (stamped, ==, frames);
}

static void
test_through_h264 (void)
{
  /* decodebin, not a named decoder: the valgrind setup ranks avdec_h264 down (meson.build). */
  check_through_encoder ("x264enc tune=zerolatency speed-preset=ultrafast bitrate=2000 ! "
      "h264parse ! decodebin");
}

static void
test_through_vp8 (void)
{
  check_through_encoder ("vp8enc deadline=1 cpu-used=16 end-usage=cbr target-bitrate=2000000 ! "
      "vp8dec");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stamp/round-trip", test_round_trip);
  g_test_add_func ("/stamp/unsupported", test_unsupported);
  g_test_add_func ("/stamp/through-h264", test_through_h264);
  g_test_add_func ("/stamp/through-vp8", test_through_vp8);
  return g_test_run ();
}
