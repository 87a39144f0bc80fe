/* periscope unit tests: RTP around webrtcbin's FEC encoder, only when it passes packets on
 * untouched
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <gst/rtp/rtp.h>

#include "psc-sendpath.h"

/* webrtcbin 1.22's send-side FEC encoder, `rtpulpfecenc ! rtpredenc` in a bin of its own,
 * inside @top (which stands for webrtcbin) and in front of a fakesink; the test pushes into it
 * through @input. */
typedef struct {
  GstElement *top;
  GstElement *ulpfec;
  GstElement *red;
  GstPad *input;
  guint fec_pushes;             /* pushes into rtpulpfecenc */
  GString *log;                 /* what reaches the sink: "L3" a list of 3, "B" a buffer */
} Sendpath;

static GstPadProbeReturn
count_push (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  (*(guint *) user_data)++;
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
log_push (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GString *log = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    g_string_append_printf (log, "%sL%u", log->len ? " " : "",
        gst_buffer_list_length (GST_PAD_PROBE_INFO_BUFFER_LIST (info)));
  else
    g_string_append (log, log->len ? " B" : "B");
  return GST_PAD_PROBE_OK;
}

static void
sendpath_setup (Sendpath *s, gconstpointer data)
{
  GstElement *fec = gst_bin_new ("fec-encoder");
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) ulpfec_sink = NULL;
  g_autoptr (GstPad) red_src = NULL;
  g_autoptr (GstPad) sink_pad = NULL;
  GstPad *fec_sink;

  s->top = gst_pipeline_new ("webrtc");
  s->ulpfec = gst_element_factory_make ("rtpulpfecenc", NULL);
  s->red = gst_element_factory_make ("rtpredenc", NULL);
  s->log = g_string_new (NULL);
  /* As webrtcbin 1.22 sets them when FEC and RED are not negotiated. */
  g_object_set (s->ulpfec, "pt", 255, "percentage", 100, NULL);
  g_object_set (s->red, "allow-no-red-blocks", FALSE, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (fec), s->ulpfec, s->red, NULL);
  g_assert_true (gst_element_link (s->ulpfec, s->red));
  ulpfec_sink = gst_element_get_static_pad (s->ulpfec, "sink");
  red_src = gst_element_get_static_pad (s->red, "src");
  gst_element_add_pad (fec, gst_ghost_pad_new ("sink", ulpfec_sink));
  gst_element_add_pad (fec, gst_ghost_pad_new ("src", red_src));
  gst_bin_add_many (GST_BIN (s->top), fec, sink, NULL);
  g_assert_true (gst_element_link (fec, sink));

  gst_pad_add_probe (ulpfec_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      count_push, &s->fec_pushes, NULL);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      log_push, s->log, NULL);

  s->input = gst_object_ref_sink (gst_pad_new ("input", GST_PAD_SRC));
  fec_sink = gst_element_get_static_pad (fec, "sink");
  g_assert_cmpint (gst_pad_link (s->input, fec_sink), ==, GST_PAD_LINK_OK);
  gst_object_unref (fec_sink);
}

static void
sendpath_teardown (Sendpath *s, gconstpointer data)
{
  gst_element_set_state (s->top, GST_STATE_NULL);
  gst_pad_set_active (s->input, FALSE);
  gst_object_unref (s->input);
  gst_object_unref (s->top);
  g_string_free (s->log, TRUE);
}

/* Plays, then sends a buffer list of three RTP packets and one packet through the bin. */
static void
send_packets (Sendpath *s)
{
  g_autoptr (GstCaps) caps = gst_caps_from_string ("application/x-rtp,media=video,"
      "encoding-name=H264,clock-rate=90000,payload=96");
  GstBufferList *list = gst_buffer_list_new ();
  GstSegment segment;

  g_assert_cmpint (gst_element_set_state (s->top, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  gst_pad_set_active (s->input, TRUE);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (s->input, gst_event_new_stream_start ("test"));
  gst_pad_push_event (s->input, gst_event_new_caps (caps));
  gst_pad_push_event (s->input, gst_event_new_segment (&segment));
  for (guint i = 0; i < 3; i++)
    gst_buffer_list_add (list, gst_rtp_buffer_new_allocate (10, 0, 0));
  g_assert_cmpint (gst_pad_push_list (s->input, list), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_pad_push (s->input, gst_rtp_buffer_new_allocate (10, 0, 0)), ==,
      GST_FLOW_OK);
}

/* Pass-through: RTP goes around the two elements, a list staying a list; only once. */
static void
test_pass_through_skipped (Sendpath *s, gconstpointer data)
{
  g_assert_cmpuint (psc_sendpath_skip_fec (s->top), ==, 1);
  g_assert_cmpuint (psc_sendpath_skip_fec (s->top), ==, 0);
  send_packets (s);
  g_assert_cmpstr (s->log->str, ==, "L3 B");
  g_assert_cmpuint (s->fec_pushes, ==, 0);
}

/* Without the skip the list is split at the FEC encoder (what this is for). */
static void
test_list_split_without (Sendpath *s, gconstpointer data)
{
  send_packets (s);
  g_assert_cmpstr (s->log->str, ==, "B B B B");
  g_assert_cmpuint (s->fec_pushes, >=, 4);
}

/* FEC or RED in use: the elements stay in the path. */
static void
test_fec_in_use_kept (Sendpath *s, gconstpointer data)
{
  g_object_set (s->ulpfec, "pt", 100, NULL);
  g_assert_cmpuint (psc_sendpath_skip_fec (s->top), ==, 0);
}

static void
test_red_in_use_kept (Sendpath *s, gconstpointer data)
{
  g_object_set (s->red, "distance", 1, NULL);
  g_assert_cmpuint (psc_sendpath_skip_fec (s->top), ==, 0);
  g_object_set (s->red, "distance", 0, "allow-no-red-blocks", TRUE, NULL);
  g_assert_cmpuint (psc_sendpath_skip_fec (s->top), ==, 0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) \
  g_test_add (path, Sendpath, NULL, sendpath_setup, fn, sendpath_teardown)
  ADD ("/sendpath/pass-through-skipped", test_pass_through_skipped);
  ADD ("/sendpath/list-split-without", test_list_split_without);
  ADD ("/sendpath/fec-in-use-kept", test_fec_in_use_kept);
  ADD ("/sendpath/red-in-use-kept", test_red_in_use_kept);
#undef ADD
  return g_test_run ();
}
