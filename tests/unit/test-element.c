/* periscope unit tests: element helpers — a pipeline brought down whatever its children do
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-element.h"

/* A running pipeline holding a source bin whose own start failed (a camera not there, tried
 * and not yet removed), returned in @failed. */
static GstElement *
make_trap (GstElement **failed)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc is-live=true ! fakesink", NULL);
  GstState state = GST_STATE_VOID_PENDING;

  g_assert_nonnull (pipeline);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_element_get_state (pipeline, &state, NULL, 5 * GST_SECOND), !=,
      GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (state, ==, GST_STATE_PLAYING);

  *failed = gst_parse_bin_from_description ("filesrc location=/nonexistent/clip ! fakesink",
      FALSE, NULL);
  g_assert_nonnull (*failed);
  g_object_set (*failed, "async-handling", TRUE, NULL);
  gst_bin_add (GST_BIN (pipeline), *failed);
  g_assert_cmpint (gst_element_set_state (*failed, GST_STATE_PLAYING), ==,
      GST_STATE_CHANGE_FAILURE);
  return pipeline;
}

/* The trap: plain gst_element_set_state (NULL) fails and leaves the pipeline PLAYING
 * (if GStreamer stops doing so, psc_element_stop()'s second path is no longer needed). */
static void
test_plain_set_state_fails (void)
{
  GstElement *failed = NULL;
  g_autoptr (GstElement) pipeline = make_trap (&failed);

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (GST_STATE (pipeline), ==, GST_STATE_PLAYING);
  psc_element_stop (pipeline);
}

/* psc_element_stop() brings it to NULL, every child with it, and unlocks only what it
 * locked. */
static void
test_stop_with_failed_child (void)
{
  GstElement *failed = NULL;
  g_autoptr (GstElement) pipeline = make_trap (&failed);
  GstElement *locked = gst_element_factory_make ("fakesink", NULL);
  GstState state = GST_STATE_VOID_PENDING;

  /* A child locked by its owner stays locked. */
  gst_element_set_locked_state (locked, TRUE);
  gst_bin_add (GST_BIN (pipeline), locked);

  psc_element_stop (pipeline);
  g_assert_cmpint (gst_element_get_state (pipeline, &state, NULL, 0), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_assert_cmpint (state, ==, GST_STATE_NULL);
  g_assert_cmpint (GST_STATE (failed), ==, GST_STATE_NULL);
  g_assert_false (gst_element_is_locked_state (failed));
  g_assert_true (gst_element_is_locked_state (locked));
}

/* The failed source bin one level down, inside a bin that is running: that bin is stopped the
 * same way, not only set to NULL (which would fail, and leave it PLAYING). */
static void
test_stop_with_failed_grandchild (void)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch ("videotestsrc is-live=true ! fakesink",
      NULL);
  GstElement *outer = gst_bin_new ("outer");
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  GstElement *failed = gst_parse_bin_from_description ("filesrc location=/nonexistent/clip "
      "! fakesink", FALSE, NULL);
  GstState state = GST_STATE_VOID_PENDING;

  g_object_set (sink, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (outer), sink);
  gst_bin_add (GST_BIN (pipeline), outer);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
  g_assert_cmpint (GST_STATE (outer), ==, GST_STATE_PLAYING);
  g_object_set (failed, "async-handling", TRUE, NULL);
  gst_bin_add (GST_BIN (outer), failed);
  g_assert_cmpint (gst_element_set_state (failed, GST_STATE_PLAYING), ==,
      GST_STATE_CHANGE_FAILURE);

  psc_element_stop (pipeline);
  gst_element_get_state (pipeline, &state, NULL, 0);
  g_assert_cmpint (state, ==, GST_STATE_NULL);
  g_assert_cmpint (GST_STATE (outer), ==, GST_STATE_NULL);
  g_assert_cmpint (GST_STATE (failed), ==, GST_STATE_NULL);
  g_assert_false (gst_element_is_locked_state (outer));
}

/* A pipeline whose children all go down is simply set to NULL. */
static void
test_stop_plain (void)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch ("videotestsrc is-live=true ! fakesink",
      NULL);
  GstState state = GST_STATE_VOID_PENDING;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
  psc_element_stop (pipeline);
  gst_element_get_state (pipeline, &state, NULL, 0);
  g_assert_cmpint (state, ==, GST_STATE_NULL);
  psc_element_stop (pipeline);   /* already there: nothing to do */
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/element/stop/plain-set-state-fails", test_plain_set_state_fails);
  g_test_add_func ("/element/stop/failed-child", test_stop_with_failed_child);
  g_test_add_func ("/element/stop/failed-grandchild", test_stop_with_failed_grandchild);
  g_test_add_func ("/element/stop/plain", test_stop_plain);
  return g_test_run ();
}
