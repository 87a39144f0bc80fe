/* periscope unit tests: the payloaders' output — H.264 profile-level-id, one push per
 * access unit
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <gst/rtp/rtp.h>

#include "psc-payloader.h"

static void
test_profile_level_id (void)
{
  const struct {
    const char *profile, *level, *expected;
  } cases[] = {
    { "constrained-baseline", "3.1", "42e01f" },
    { "constrained-baseline", "3", "42e01e" },
    { "constrained-baseline", "1.3", "42e00d" },
    { "constrained-baseline", "4", "42e028" },
    { "constrained-baseline", "5.1", "42e033" },
    { "constrained-baseline", "1b", "42e00b" },
    { "baseline", "3.1", "42001f" },
    { "main", "4.1", "4d0029" },
    { "high", "4", "640028" },
    { "high-10", "4", NULL },
    { "constrained-baseline", "", NULL },
    { "constrained-baseline", "3.x", NULL },
    { "constrained-baseline", "9", NULL },
    { NULL, "3.1", NULL },
    /* The levels of H.264 Table A-1 only, as h264parse names them. */
    { "constrained-baseline", "1", "42e00a" },
    { "constrained-baseline", "6.2", "42e03e" },
    { "main", "5.2", "4d0034" },
    { "high", "1b", "64000b" },
    { "constrained-baseline", "1.0", NULL },
    { "constrained-baseline", "3.5", NULL },
    { "constrained-baseline", "6.3", NULL },
    { "constrained-baseline", "3.10", NULL },
    { "constrained-baseline", " 3.1", NULL },
    { "constrained-baseline", NULL, NULL },
    { "Constrained-Baseline", "3.1", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *plid = psc_payloader_h264_profile_level_id (cases[i].profile,
        cases[i].level);
    guint64 value;
    guint8 sps[3];

    g_assert_cmpstr (plid, ==, cases[i].expected);
    if (plid == NULL || g_str_equal (cases[i].level, "1b"))
      continue;
    /* pbutils reads the same profile and level back from those three SPS bytes
     * (profile_idc, constraint flags, level_idc). */
    value = g_ascii_strtoull (plid, NULL, 16);
    sps[0] = (value >> 16) & 0xff;
    sps[1] = (value >> 8) & 0xff;
    sps[2] = value & 0xff;
    g_assert_cmpstr (gst_codec_utils_h264_get_profile (sps, sizeof sps), ==,
        cases[i].profile);
    g_assert_cmpstr (gst_codec_utils_h264_get_level (sps, sizeof sps), ==, cases[i].level);
  }
}

/* A payloader linked to a fakesink in a playing pipeline; what reaches the sink is written
 * to @log, one word per push: "L0,1,2" a list of the packets with those sequence numbers,
 * "B3" a single packet, "E" a custom event. */
typedef struct {
  GstElement *pipeline;
  GstPad *output;               /* the payloader's source pad: the tests push there */
  GString *log;
} Payloader;

/* @buffer's RTP sequence number, or with @pt its payload type. */
static guint
rtp_field (GstBuffer *buffer, gboolean pt)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint value;

  g_assert_true (gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp));
  value = pt ? gst_rtp_buffer_get_payload_type (&rtp) : gst_rtp_buffer_get_seq (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  return value;
}

static guint16
seq (GstBuffer *buffer)
{
  return rtp_field (buffer, FALSE);
}

static GstPadProbeReturn
log_push (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GString *log = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    g_string_append (log, log->len ? " L" : "L");
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      g_string_append_printf (log, i ? ",%u" : "%u", seq (gst_buffer_list_get (list, i)));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    g_string_append_printf (log, log->len ? " B%u" : "B%u",
        seq (GST_PAD_PROBE_INFO_BUFFER (info)));
  } else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_CUSTOM_DOWNSTREAM) {
    g_string_append (log, log->len ? " E" : "E");
  }
  return GST_PAD_PROBE_OK;
}

/* The fixture's data: a PscCodec, with a payload type other than 96 in bits 8 and up. */
#define WITH_PT(codec, pt) ((codec) | ((pt) << 8))

static void
payloader_setup (Payloader *p, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint pt = GPOINTER_TO_INT (data) >> 8;
  GstElement *payloader = psc_payloader_new (GPOINTER_TO_INT (data) & 0xff, &error);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");
  g_autoptr (GstCaps) caps = gst_caps_new_empty_simple ("application/x-rtp");
  GstSegment segment;

  g_assert_no_error (error);
  p->log = g_string_new (NULL);
  p->pipeline = gst_pipeline_new (NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (p->pipeline), payloader, sink, NULL);
  g_assert_true (gst_element_link (payloader, sink));
  gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, log_push, p->log, NULL);
  g_assert_cmpint (gst_element_set_state (p->pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  p->output = gst_element_get_static_pad (payloader, "src");
  /* A viewer's branch at another payload type: its queue's source pad rewrites, after the
   * payloader's own probe (here on the same pad, as the packets come out of it). */
  if (pt != 0)
    psc_payloader_retarget (p->output, pt, "42e01f");
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (p->output, gst_event_new_stream_start ("test"));
  gst_pad_push_event (p->output, gst_event_new_caps (caps));
  gst_pad_push_event (p->output, gst_event_new_segment (&segment));
}

static void
payloader_teardown (Payloader *p, gconstpointer data)
{
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  gst_object_unref (p->output);
  gst_object_unref (p->pipeline);
  g_string_free (p->log, TRUE);
}

/* An RTP packet with no payload: sequence number @seq, timestamp @timestamp. */
static GstBuffer *
packet (guint16 seq, guint32 timestamp, gboolean marker)
{
  GstBuffer *buffer = gst_rtp_buffer_new_allocate (0, 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  g_assert_true (gst_rtp_buffer_map (buffer, GST_MAP_WRITE, &rtp));
  gst_rtp_buffer_set_payload_type (&rtp, 96);
  gst_rtp_buffer_set_seq (&rtp, seq);
  gst_rtp_buffer_set_timestamp (&rtp, timestamp);
  gst_rtp_buffer_set_marker (&rtp, marker);
  gst_rtp_buffer_unmap (&rtp);
  return buffer;
}

static GstBufferList *
packets (guint16 first_seq, guint n, guint32 timestamp, gboolean marker_on_last)
{
  GstBufferList *list = gst_buffer_list_new ();

  for (guint i = 0; i < n; i++)
    gst_buffer_list_add (list, packet (first_seq + i, timestamp,
            marker_on_last && i == n - 1));
  return list;
}

/* The packets of an access unit, pushed NAL unit by NAL unit as rtph264pay does (a single
 * packet, then a list of fragments), reach downstream as one list when its last arrives. */
static void
test_access_unit_one_push (Payloader *p, gconstpointer data)
{
  g_assert_cmpint (gst_pad_push (p->output, packet (0, 3000, FALSE)), ==, GST_FLOW_OK);
  g_assert_cmpstr (p->log->str, ==, "");
  g_assert_cmpint (gst_pad_push_list (p->output, packets (1, 3, 3000, FALSE)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_pad_push_list (p->output, packets (4, 2, 3000, TRUE)), ==, GST_FLOW_OK);
  g_assert_cmpstr (p->log->str, ==, "L0,1,2,3,4,5");
  /* A unit already in one push goes on as it came. */
  g_assert_cmpint (gst_pad_push (p->output, packet (6, 6000, TRUE)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_pad_push_list (p->output, packets (7, 2, 9000, TRUE)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_pad_push (p->output, packet (9, 12000, FALSE)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_pad_push (p->output, packet (10, 12000, TRUE)), ==, GST_FLOW_OK);
  g_assert_cmpstr (p->log->str, ==, "L0,1,2,3,4,5 B6 L7,8 L9,10");
}

/* Nothing overtakes: held packets go before any serialized event. */
static void
test_access_unit_event (Payloader *p, gconstpointer data)
{
  gst_pad_push (p->output, packet (0, 3000, FALSE));
  gst_pad_push_event (p->output,
      gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty ("test")));
  gst_pad_push (p->output, packet (1, 3000, TRUE));
  g_assert_cmpstr (p->log->str, ==, "L0 E B1");
}

/* A unit that ends without a marker is sent when the next one starts, and from then on
 * nothing is held back: a stream without markers must not wait a frame per frame. */
static void
test_access_unit_no_marker (Payloader *p, gconstpointer data)
{
  gst_pad_push (p->output, packet (0, 3000, FALSE));
  gst_pad_push (p->output, packet (1, 3000, FALSE));
  gst_pad_push (p->output, packet (2, 6000, FALSE));
  g_assert_cmpstr (p->log->str, ==, "L0,1 B2");
  gst_pad_push (p->output, packet (3, 9000, FALSE));
  g_assert_cmpstr (p->log->str, ==, "L0,1 B2 B3");
}

/* A flush, or a new stream (the capture released and started again, perhaps with a push that
 * failed in between), drops what is held: those packets belong to data that is gone. A new
 * stream also ends the no-marker mode. */
static void
test_access_unit_restart (Payloader *p, gconstpointer data)
{
  GstSegment segment;

  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push (p->output, packet (0, 3000, FALSE));
  gst_pad_push_event (p->output, gst_event_new_flush_start ());
  gst_pad_push_event (p->output, gst_event_new_flush_stop (TRUE));
  gst_pad_push_event (p->output, gst_event_new_segment (&segment));
  gst_pad_push (p->output, packet (1, 6000, TRUE));
  g_assert_cmpstr (p->log->str, ==, "B1");

  gst_pad_push (p->output, packet (2, 9000, FALSE));
  gst_pad_push_event (p->output, gst_event_new_stream_start ("again"));
  gst_pad_push_event (p->output, gst_event_new_segment (&segment));
  gst_pad_push (p->output, packet (3, 12000, TRUE));
  g_assert_cmpstr (p->log->str, ==, "B1 B3");

  gst_pad_push (p->output, packet (4, 15000, FALSE));
  gst_pad_push (p->output, packet (5, 18000, FALSE));           /* 4 had no marker: off */
  g_assert_cmpstr (p->log->str, ==, "B1 B3 L4 B5");
  gst_pad_push_event (p->output, gst_event_new_stream_start ("once more"));
  gst_pad_push_event (p->output, gst_event_new_segment (&segment));
  gst_pad_push (p->output, packet (6, 21000, FALSE));
  gst_pad_push (p->output, packet (7, 21000, TRUE));
  g_assert_cmpstr (p->log->str, ==, "B1 B3 L4 B5 L6,7");
}

static GstPadProbeReturn
check_payload_type (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      g_assert_cmpuint (rtp_field (gst_buffer_list_get (list, i), TRUE), ==, 41);
  } else {
    g_assert_cmpuint (rtp_field (GST_PAD_PROBE_INFO_BUFFER (info), TRUE), ==, 41);
  }
  g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

/* A viewer at another payload type than the shared payloader's — one below 96 even (browsers
 * number codecs from 35 when 96–127 is full; the payloaders' templates refuse it): the packets,
 * gathered or not, and the caps carry it, the caps the viewer's profile-level-id; the list
 * stays one push; and what the payloader pushed, which the tee's other branches share, is
 * never written to. */
static void
test_retarget (Payloader *p, gconstpointer data)
{
  g_autoptr (GstPad) peer = gst_pad_get_peer (p->output);
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstBuffer) single = packet (3, 9000, TRUE);
  GstBufferList *shared = packets (4, 3, 12000, TRUE);
  const GstStructure *s;
  gint checked = 0, pt = 0;

  gst_pad_add_probe (peer, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      check_payload_type, &checked, NULL);
  gst_pad_push (p->output, packet (0, 3000, FALSE));
  gst_pad_push (p->output, packet (1, 3000, TRUE));
  gst_pad_push (p->output, packet (2, 6000, TRUE));
  gst_pad_push (p->output, gst_buffer_ref (single));
  gst_buffer_list_ref (shared);
  gst_pad_push_list (p->output, shared);
  g_assert_cmpstr (p->log->str, ==, "L0,1 B2 B3 L4,5,6");
  g_assert_cmpint (checked, ==, 4);
  g_assert_cmpuint (rtp_field (single, TRUE), ==, 96);
  for (guint i = 0; i < gst_buffer_list_length (shared); i++) {
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

    g_assert_cmpuint (rtp_field (gst_buffer_list_get (shared, i), TRUE), ==, 96);
    /* The marker bit is the packet's own. */
    g_assert_true (gst_rtp_buffer_map (gst_buffer_list_get (shared, i), GST_MAP_READ, &rtp));
    g_assert_cmpint (gst_rtp_buffer_get_marker (&rtp), ==, i == 2);
    gst_rtp_buffer_unmap (&rtp);
  }
  gst_buffer_list_unref (shared);
  caps = gst_pad_get_current_caps (peer);
  s = gst_caps_get_structure (caps, 0);
  g_assert_true (gst_structure_get_int (s, "payload", &pt));
  g_assert_cmpint (pt, ==, 41);
  g_assert_cmpstr (gst_structure_get_string (s, "profile-level-id"), ==, "42e01f");
}

/* Keeps the last buffer seen in *@user_data (not referenced: compared only). */
static GstPadProbeReturn
keep_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    *(GstBuffer **) user_data = GST_PAD_PROBE_INFO_BUFFER (info);
  return GST_PAD_PROBE_OK;
}

/* At the payloader's own payload type, a viewer's branch passes the very buffers on: nothing
 * copied, only the caps are its own. */
static void
test_retarget_same_type (Payloader *p, gconstpointer data)
{
  g_autoptr (GstPad) peer = gst_pad_get_peer (p->output);
  g_autoptr (GstBuffer) single = packet (0, 3000, TRUE);
  g_autoptr (GstCaps) caps = NULL;
  GstBuffer *seen = NULL;

  gst_pad_add_probe (peer, GST_PAD_PROBE_TYPE_BUFFER, keep_buffer, &seen, NULL);
  gst_pad_push (p->output, gst_buffer_ref (single));
  g_assert_true (seen == single);
  caps = gst_pad_get_current_caps (peer);
  g_assert_cmpstr (gst_structure_get_string (gst_caps_get_structure (caps, 0),
          "profile-level-id"), ==, "42e01f");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/payloader/h264-profile-level-id", test_profile_level_id);
#define ADD(path, codec, fn) \
  g_test_add (path, Payloader, GINT_TO_POINTER (codec), payloader_setup, fn, payloader_teardown)
  ADD ("/payloader/h264/access-unit-one-push", PSC_CODEC_H264, test_access_unit_one_push);
  ADD ("/payloader/vp8/access-unit-one-push", PSC_CODEC_VP8, test_access_unit_one_push);
  ADD ("/payloader/h264/access-unit-event", PSC_CODEC_H264, test_access_unit_event);
  ADD ("/payloader/h264/access-unit-no-marker", PSC_CODEC_H264, test_access_unit_no_marker);
  ADD ("/payloader/h264/access-unit-restart", PSC_CODEC_H264, test_access_unit_restart);
  ADD ("/payloader/h264/retarget", WITH_PT (PSC_CODEC_H264, 41), test_retarget);
  ADD ("/payloader/h264/retarget-same-type", WITH_PT (PSC_CODEC_H264, 96),
      test_retarget_same_type);
#undef ADD
  return g_test_run ();
}
