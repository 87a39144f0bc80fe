/* periscope integration tests: media — viewers decoding, one capture and one encode shared,
 * the capture released, the offer's timing, a frame in one push, keyframes, a long watch.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <gst/rtp/rtp.h>
#include "psc-encoding.h"
#include "psc-payloader.h"
#include "psc-test-fixture.h"

/* The stream's encoder element is gone from the pipeline (stopped and removed). */
static gboolean
no_encoder (gpointer data)
{
  return !psc_stream_is_encoding (data, psc_stream_get_codec (data)) &&
      psc_test_count_elements (psc_stream_get_pipeline (data),
          psc_stream_get_encoder_name (data)) == 0;
}

static void
test_one_viewer (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autoptr (PscMessage) offer = NULL;
  PscStreamStats stats;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (welcome, client, PSC_MESSAGE_EXISTING_PEERS, 5);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  g_test_message ("offer: %s", offer->sdp);
  g_assert_cmpstr (welcome->room, ==, "camera");
  g_assert_cmpstr (welcome->peers[0], ==, "camera");
  g_assert_cmpstr (offer->from_peer_id, ==, "camera");
  g_assert_cmpstr (offer->target_peer_id, ==, welcome->peer_id);
  if (psc_stream_get_codec (f->stream) == PSC_CODEC_H264) {
    /* What every browser plays: constrained baseline, non-interleaved mode. */
    g_assert_nonnull (strstr (offer->sdp, "profile-level-id=42e0"));
    g_assert_nonnull (strstr (offer->sdp, "packetization-mode=1"));
  } else {
    g_assert_nonnull (strstr (offer->sdp, "VP8/90000"));
  }
  g_assert_nonnull (strstr (offer->sdp, "a=sendonly"));

  PSC_TEST_WAIT_FRAMES (client, 60, 20);

  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 1);
  g_assert_cmpuint (stats.keyframes_forced_join, >=, 1);
}

static void
test_two_viewers_one_leaves (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  const char *encoder = psc_stream_get_encoder_name (f->stream);
  g_autoptr (PscTestClient) a = NULL;
  g_autoptr (PscTestClient) b = NULL;
  g_autoptr (PscMessage) joined = NULL;
  g_autoptr (PscMessage) left = NULL;
  g_autofree gpointer *branch_a = NULL;
  g_autofree gpointer *encoder_bin = NULL;
  PscStreamStats stats;

  PSC_TEST_CONNECT (a, f->url, TRUE);
  PSC_TEST_CONNECT (b, f->url, TRUE);
  PSC_TEST_WAIT_MESSAGE (joined, a, PSC_MESSAGE_PEER_JOINED, 5);
  PSC_TEST_WAIT_FRAMES (a, 60, 20);
  PSC_TEST_WAIT_FRAMES (b, 60, 20);
  g_assert_cmpstr (joined->peer_id, ==, psc_test_client_get_peer_id (b));
  branch_a = psc_test_watch_branch (pipeline, psc_test_client_get_peer_id (a));

  /* One capture, one encode and one payloader serve both: one source, one encoder, one
   * rtph264pay, two webrtcbins. */
  g_assert_cmpuint (psc_test_count_elements (pipeline, "videotestsrc"), ==, 1);
  g_assert_cmpuint (psc_test_count_elements (pipeline, encoder), ==, 1);
  g_assert_cmpuint (psc_test_count_elements (pipeline, "rtph264pay"), ==, 1);
  g_assert_cmpuint (psc_test_count_elements (pipeline, "webrtcbin"), ==, 2);

  g_clear_pointer (&a, psc_test_client_free);
  PSC_TEST_WAIT_MESSAGE (left, b, PSC_MESSAGE_PEER_LEFT, 5);
  g_assert_nonnull (left->peer_id);
  PSC_TEST_WAIT_FRAMES (b, 60, 20);

  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 1);
  g_assert_cmpuint (psc_test_count_elements (pipeline, "webrtcbin"), ==, 1);
  g_assert_cmpuint (psc_test_count_elements (pipeline, "videotestsrc"), ==, 1);
  PSC_TEST_WAIT_UNTIL (psc_test_finalized, branch_a, 5,
      "the departed viewer's branch to be freed");

  /* The last viewer leaves: the encoder stops and is freed; the source stays in the pipeline
   * (its release, seconds later, is test_capture_released's). */
  encoder_bin = psc_test_watch_element (pipeline, "encode-h264-1");
  g_clear_pointer (&b, psc_test_client_free);
  PSC_TEST_WAIT_UNTIL (no_encoder, f->stream, 5, "the encoder to stop and go");
  PSC_TEST_WAIT_UNTIL (psc_test_finalized, encoder_bin, 5, "the stopped encoder to be freed");
  g_assert_cmpuint (psc_test_count_elements (pipeline, "videotestsrc"), ==, 1);
}

static gboolean
capture_released (gpointer stream)
{
  GstState state = GST_STATE_VOID_PENDING;

  gst_element_get_state (psc_stream_get_pipeline (stream), &state, NULL, 0);
  return !psc_stream_is_capturing (stream) && state == GST_STATE_NULL &&
      g_str_equal (psc_stream_get_state_name (stream), "idle");
}

static GstPadProbeReturn
drop_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_DROP;
}

/* A viewer joining a running encoder gets its offer from the caps pushed when its branch is
 * linked (psc_stream_attach, PSC_STREAM_LINKED_EVENT), not from the encoder's next frame:
 * with the capture frozen there is no next frame, and the offer comes all the same. */
static void
test_offer_without_next_frame (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autoptr (PscTestClient) a = NULL;
  g_autoptr (PscTestClient) b = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autoptr (GstPad) source_pad = NULL;
  gulong probe;

  PSC_TEST_CONNECT (a, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (a, 10, 20);
  source_pad = psc_test_first_element_pad (pipeline, "videotestsrc", "src");
  probe = gst_pad_add_probe (source_pad, GST_PAD_PROBE_TYPE_BUFFER, drop_buffer, NULL, NULL);

  b = psc_test_client_new (f->url, FALSE);
  if (b != NULL)
    offer = psc_test_client_wait_message (b, PSC_MESSAGE_OFFER, 10);
  gst_pad_remove_probe (source_pad, probe);
  if (offer == NULL)
    return;
  g_assert_nonnull (strstr (offer->sdp, "m=video"));
  g_assert_nonnull (strstr (offer->sdp, "a=sendonly"));
}

typedef struct {
  GMutex lock;                  /* the probes run on the viewer's streaming thread */
  guint pushes;                 /* pushes of media RTP into the viewer's nicesink */
  guint packets;                /* the media packets in them */
  GHashTable *timestamps;       /* the RTP timestamps seen: one per frame */
  guint fec_buffers;            /* buffers into webrtcbin's (pass-through) FEC encoder */
} SendCounts;

/* Each probe holds a reference: a removed probe's callback may still be running. */
static SendCounts *
send_counts_new (void)
{
  SendCounts *counts = g_rc_box_new0 (SendCounts);

  g_mutex_init (&counts->lock);
  counts->timestamps = g_hash_table_new (NULL, NULL);
  return counts;
}

static void
send_counts_clear (SendCounts *counts)
{
  g_mutex_clear (&counts->lock);
  g_hash_table_unref (counts->timestamps);
}

static void
send_counts_unref (gpointer counts)
{
  g_rc_box_release_full (counts, (GDestroyNotify) send_counts_clear);
}

/* The RTP header fields of @buffer, or FALSE for RTCP (RFC 5761 §4) and DTLS. Read by hand:
 * what goes to the socket is SRTP, whose header is in the clear but whose payload (and
 * padding) GstRTPBuffer's validation cannot read. */
static gboolean
media_rtp (GstBuffer *buffer, guint8 *payload_type, guint32 *timestamp)
{
  guint8 header[8];

  if (gst_buffer_extract (buffer, 0, header, sizeof header) != sizeof header ||
      (header[0] >> 6) != 2 || (header[1] >= 192 && header[1] <= 223))
    return FALSE;
  *payload_type = header[1] & 0x7f;
  *timestamp = GST_READ_UINT32_BE (header + 4);
  return TRUE;
}

static GstPadProbeReturn
count_socket_push (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  SendCounts *counts = user_data;
  GstBufferList *list = NULL;
  GstBuffer *first;
  guint length = 1;
  guint8 payload_type;
  guint32 timestamp;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    length = gst_buffer_list_length (list);
    first = gst_buffer_list_get (list, 0);
  } else {
    first = GST_PAD_PROBE_INFO_BUFFER (info);
  }
  if (!media_rtp (first, &payload_type, &timestamp) || payload_type != PSC_PAYLOADER_DEFAULT_PT)
    return GST_PAD_PROBE_OK;    /* RTCP, DTLS, RTX */
  g_mutex_lock (&counts->lock);
  counts->pushes++;
  counts->packets += length;
  for (guint i = 0; i < length; i++) {
    if (media_rtp (list != NULL ? gst_buffer_list_get (list, i) : first, &payload_type,
            &timestamp))
      g_hash_table_add (counts->timestamps, GUINT_TO_POINTER (timestamp));
  }
  g_mutex_unlock (&counts->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
count_fec_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  SendCounts *counts = user_data;

  g_mutex_lock (&counts->lock);
  counts->fec_buffers++;
  g_mutex_unlock (&counts->lock);
  return GST_PAD_PROBE_OK;
}

/* Each frame goes to a viewer's socket in one push (a buffer list, which libnice sends with
 * one sendmmsg): the payloader's packets of an access unit travel together (psc-payloader.c,
 * H.264 sends each slice on its own), and past webrtcbin's FEC encoder, which would split the
 * list and is a pass-through without FEC (psc_sendpath_skip_fec). */
static void
test_frame_in_one_push (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (GstPad) socket_pad = NULL;
  g_autoptr (GstPad) fec_pad = NULL;
  SendCounts *counts;
  gulong socket_probe, fec_probe;
  gboolean watched;
  guint frames;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);
  counts = send_counts_new ();
  socket_pad = psc_test_first_element_pad (pipeline, "nicesink", "sink");
  fec_pad = psc_test_first_element_pad (pipeline, "rtpulpfecenc", "sink");
  socket_probe = gst_pad_add_probe (socket_pad,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_socket_push,
      g_rc_box_acquire (counts), send_counts_unref);
  fec_probe = gst_pad_add_probe (fec_pad,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_fec_buffer,
      g_rc_box_acquire (counts), send_counts_unref);
  watched = psc_test_client_wait_frames (client, 60, 20);
  gst_pad_remove_probe (socket_pad, socket_probe);
  gst_pad_remove_probe (fec_pad, fec_probe);
  if (!watched) {
    send_counts_unref (counts);
    return;
  }

  g_mutex_lock (&counts->lock);
  frames = g_hash_table_size (counts->timestamps);
  g_test_message ("%u frames in %u pushes of %u packets; %u buffers into the FEC encoder",
      frames, counts->pushes, counts->packets, counts->fec_buffers);
  g_assert_cmpuint (counts->fec_buffers, ==, 0);
  g_assert_cmpuint (frames, >=, 20);
  g_assert_cmpuint (counts->pushes, ==, frames);
  g_assert_cmpuint (counts->packets, >=, 2 * counts->pushes);
  g_mutex_unlock (&counts->lock);
  send_counts_unref (counts);
}

/* Two viewers leave at once: once nothing needs frames the capture is released (pipeline
 * NULL, state "idle"), and the next viewer starts it again and gets video. */
static void
test_capture_released (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) a = NULL;
  g_autoptr (PscTestClient) b = NULL;
  g_autoptr (PscTestClient) c = NULL;

  PSC_TEST_CONNECT (a, f->url, TRUE);
  PSC_TEST_CONNECT (b, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (a, 30, 20);
  PSC_TEST_WAIT_FRAMES (b, 30, 20);
  g_assert_true (psc_stream_is_capturing (f->stream));
  g_clear_pointer (&a, psc_test_client_free);
  g_clear_pointer (&b, psc_test_client_free);
  PSC_TEST_WAIT_UNTIL (capture_released, f->stream, PSC_STREAM_RELEASE_DELAY_S + 5,
      "the capture to be released");
  g_assert_true (psc_stream_is_playing (f->stream));    /* healthy, only idle */

  PSC_TEST_CONNECT (c, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (c, 30, 20);
  g_assert_true (psc_stream_is_capturing (f->stream));
  g_assert_cmpstr (psc_stream_get_state_name (f->stream), ==, "live");
}

static gboolean
keyframe_seen (const PscStreamStats *before, const PscStreamStats *now)
{
  return now->keyframes > before->keyframes;
}

static void
test_keyframe_policy (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  PscStreamStats before, after;
  PscTestStatsSince wait;

  /* Keyframes are asked of a running encoder: one viewer keeps it running. Let its join
   * keyframe and the 200 ms gap go by first. */
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  g_usleep (300 * 1000);
  psc_stream_get_stats (f->stream, &before);
  psc_test_stats_since_init (&wait, f->stream, keyframe_seen);
  /* A burst of requests costs one keyframe. */
  for (int i = 0; i < 10; i++)
    psc_stream_request_keyframe (f->stream, PSC_CODEC_H264, PSC_KEYFRAME_JOIN);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_join, ==, before.keyframes_forced_join + 1);
  g_assert_cmpuint (after.keyframe_requests_coalesced, ==,
      before.keyframe_requests_coalesced + 9);
  /* And the encoder delivers it well before the 2 s GOP would have. */
  PSC_TEST_WAIT_UNTIL (psc_test_stats_moved, &wait, 1, "the forced keyframe");

  /* Right after a forced keyframe, the next request waits out the 200 ms gap, then goes. */
  psc_stream_get_stats (f->stream, &before);
  psc_test_stats_since_init (&wait, f->stream, keyframe_seen);
  psc_stream_request_keyframe (f->stream, PSC_CODEC_H264, PSC_KEYFRAME_PLI);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_pli, ==, before.keyframes_forced_pli);
  PSC_TEST_WAIT_UNTIL (psc_test_stats_moved, &wait, 2, "the deferred keyframe");
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_pli, ==, before.keyframes_forced_pli + 1);

  /* A codec with no running encoder: nothing to ask. */
  psc_stream_get_stats (f->stream, &before);
  psc_stream_request_keyframe (f->stream, PSC_CODEC_VP8, PSC_KEYFRAME_JOIN);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_join, ==, before.keyframes_forced_join);
}

/* With keyframes 10 s apart, a viewer that joins mid-GOP still decodes within 3 s: it is
 * sent a keyframe when it connects (and, were that missing, its decoder's PLI would bring
 * one: so the join keyframe is also checked by its counter). A first viewer keeps the
 * encoder running, so the second really joins mid-GOP. */
static void
test_join_keyframe (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) first = NULL;
  g_autoptr (PscTestClient) client = NULL;
  PscStreamStats before, after;
  gint64 start;

  PSC_TEST_CONNECT (first, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (first, 30, 20);
  g_usleep (G_USEC_PER_SEC / 2);
  psc_stream_get_stats (f->stream, &before);
  start = g_get_monotonic_time ();
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 1, 3);
  g_test_message ("first frame decoded %" G_GINT64_FORMAT " ms after connecting",
      (g_get_monotonic_time () - start) / 1000);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_join, >, before.keyframes_forced_join);
}

/* A viewer that keeps sending RTCP (webrtcbin's receiver reports, RFC 3550's 5 s minimum
 * interval: gaps up to 7.5 s) is never taken for a vanished one: it watches for about 17 s
 * (500 frames at 30 fps), well past the 10 s silence threshold, and is still there. */
static void
test_long_watch (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  PscStreamStats stats;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 20);
  for (int i = 0; i < 25; i++)
    PSC_TEST_WAIT_FRAMES (client, 20, 5);
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 1);
  PSC_TEST_WAIT_FRAMES (client, 30, 5);
}

/* A branch that cannot be linked is refused with a GError and leaves nothing behind in the
 * pipeline: neither itself nor the encoder started for it. */
static void
test_attach_refused (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  guint children = GST_BIN_NUMCHILDREN (pipeline);
  g_autoptr (GstElement) no_pad = gst_object_ref_sink (gst_bin_new ("no-pad"));
  g_autoptr (GstElement) audio = gst_object_ref_sink (gst_bin_new ("audio-only"));
  g_autoptr (GstCaps) caps = gst_caps_new_empty_simple ("audio/x-raw");
  g_autoptr (GstPad) filter_sink = NULL;
  g_autoptr (GError) error = NULL;
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  PscStreamStats stats;

  g_assert_false (psc_stream_is_encoding (f->stream, PSC_CODEC_H264));
  g_assert_false (psc_stream_attach (f->stream, no_pad, PSC_CODEC_H264, FALSE, &error));
  g_assert_error (error, GST_CORE_ERROR, GST_CORE_ERROR_PAD);
  g_clear_error (&error);
  g_assert_null (GST_OBJECT_PARENT (no_pad));
  g_assert_false (psc_stream_is_encoding (f->stream, PSC_CODEC_H264));

  /* A sink pad that takes audio only: the encoder starts, then the link fails. */
  g_object_set (filter, "caps", caps, NULL);
  gst_bin_add_many (GST_BIN (audio), filter, sink, NULL);
  g_assert_true (gst_element_link (filter, sink));
  filter_sink = gst_element_get_static_pad (filter, "sink");
  gst_element_add_pad (audio, gst_ghost_pad_new ("sink", filter_sink));
  g_assert_false (psc_stream_attach (f->stream, audio, PSC_CODEC_H264, FALSE, &error));
  g_assert_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION);
  g_assert_nonnull (strstr (error->message, "audio-only"));
  g_assert_null (GST_OBJECT_PARENT (audio));
  g_assert_cmpint (GST_STATE (audio), ==, GST_STATE_NULL);
  PSC_TEST_WAIT_UNTIL (no_encoder, f->stream, 10, "the encoder started for it to stop");
  g_assert_cmpuint (GST_BIN_NUMCHILDREN (pipeline), ==, children);
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 0);
}

/* One RTP branch of test_shared_rewrite(): `fakesink`, what reaches it noted by a probe. */
typedef struct {
  GstElement *bin;
  guint payload_type;
  const char *profile_level_id;
  GMutex lock;
  int caps_payload;             /* -1: no caps yet */
  char *caps_profile;
  GHashTable *packets;          /* sequence number → the GstBuffer (a reference) */
  gboolean wrong_payload_type;
  gboolean detached;
} RtpBranch;

static void
note_packet (RtpBranch *branch, GstBuffer *buffer)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint seq;

  if (!gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    return;
  seq = gst_rtp_buffer_get_seq (&rtp);
  if (gst_rtp_buffer_get_payload_type (&rtp) != branch->payload_type)
    branch->wrong_payload_type = TRUE;
  gst_rtp_buffer_unmap (&rtp);
  if (g_hash_table_size (branch->packets) < 200)
    g_hash_table_insert (branch->packets, GUINT_TO_POINTER (seq), gst_buffer_ref (buffer));
}

static GstPadProbeReturn
on_rtp_branch_data (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtpBranch *branch = user_data;

  g_mutex_lock (&branch->lock);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstStructure *structure;

      gst_event_parse_caps (event, &caps);
      structure = gst_caps_get_structure (caps, 0);
      gst_structure_get_int (structure, "payload", &branch->caps_payload);
      g_free (branch->caps_profile);
      branch->caps_profile = g_strdup (gst_structure_get_string (structure,
              "profile-level-id"));
    }
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      note_packet (branch, gst_buffer_list_get (list, i));
  } else {
    note_packet (branch, GST_PAD_PROBE_INFO_BUFFER (info));
  }
  g_mutex_unlock (&branch->lock);
  return GST_PAD_PROBE_OK;
}

static void
rtp_branch_init (RtpBranch *branch, guint index, guint payload_type,
    const char *profile_level_id)
{
  g_autofree char *name = g_strdup_printf ("rtp-branch-%u", index);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) pad = gst_element_get_static_pad (sink, "sink");

  branch->payload_type = payload_type;
  branch->profile_level_id = profile_level_id;
  branch->caps_payload = -1;
  g_mutex_init (&branch->lock);
  branch->packets = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) gst_buffer_unref);
  branch->bin = gst_object_ref_sink (gst_bin_new (name));
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (branch->bin), sink);
  gst_element_add_pad (branch->bin, gst_ghost_pad_new ("sink", pad));
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_rtp_branch_data, branch, NULL);
}

static void
rtp_branch_clear (RtpBranch *branch)
{
  gst_object_unref (branch->bin);
  g_hash_table_unref (branch->packets);
  g_free (branch->caps_profile);
  g_mutex_clear (&branch->lock);
}

#define N_RTP_BRANCHES (3 + PSC_ENCODING_MAX_TARGETS)

static gboolean
not_in_pipeline (gpointer element)
{
  return GST_OBJECT_PARENT (element) == NULL;
}

/* How many packets @branch has noted. */
static guint
rtp_branch_packets (RtpBranch *branch)
{
  guint packets;

  g_mutex_lock (&branch->lock);
  packets = g_hash_table_size (branch->packets);
  g_mutex_unlock (&branch->lock);
  return packets;
}

/* Every branch of test_shared_rewrite() has 100 packets. */
static gboolean
rtp_branches_fed (gpointer data)
{
  RtpBranch *branches = data;

  for (guint i = 0; i < N_RTP_BRANCHES; i++)
    if (rtp_branch_packets (&branches[i]) < 100)
      return FALSE;
  return TRUE;
}

/* The tee feeding @branch (a reference). */
static GstElement *
tee_of (RtpBranch *branch)
{
  g_autoptr (GstPad) sink = gst_element_get_static_pad (branch->bin, "sink");
  g_autoptr (GstPad) peer = gst_pad_get_peer (sink);

  g_assert_nonnull (peer);
  return GST_ELEMENT (gst_pad_get_parent (peer));
}

/* One branch has 30 packets. */
static gboolean
rtp_branch_fed (gpointer data)
{
  return rtp_branch_packets (data) >= 30;
}

/* How many of @pipeline's children are named like a target's tee, "…-rtp-N". */
static guint
count_targets (GstElement *pipeline)
{
  guint count = 0;

  GST_OBJECT_LOCK (pipeline);
  for (GList *l = GST_BIN_CHILDREN (pipeline); l != NULL; l = l->next) {
    const char *name = GST_ELEMENT_NAME (l->data);
    const char *rtp = strstr (name, "-rtp-");

    count += rtp != NULL && g_ascii_isdigit (rtp[5]);
  }
  GST_OBJECT_UNLOCK (pipeline);
  return count;
}

/* How many of @a's packets @b has too as the very same buffer. */
static int
count_shared (RtpBranch *a, RtpBranch *b)
{
  GHashTableIter iter;
  gpointer seq, buffer;
  int shared = 0;

  g_hash_table_iter_init (&iter, a->packets);
  while (g_hash_table_iter_next (&iter, &seq, &buffer)) {
    GstBuffer *other = g_hash_table_lookup (b->packets, seq);

    shared += other == buffer;
  }
  return shared;
}

/* Issue 15: RTP at another payload type or profile than the payloader's is rewritten once
 * per packet for all the branches of that pair, which share the copies (an RTX history of
 * references, not of copies); a branch at the payloader's own pair shares its packets; and
 * past PSC_ENCODING_MAX_TARGETS pairs a branch gets its packets rewritten for itself. Every
 * branch gets its own payload type in each packet and in its caps. */
static void
test_shared_rewrite (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  /* On the heap, one more for the branch that comes back: see the end. */
  RtpBranch *branches = g_new0 (RtpBranch, N_RTP_BRANCHES + 1);
  g_autoptr (GstElement) pair_tee = NULL;
  g_autoptr (GError) error = NULL;
  RtpBranch *again;

  /* 0: the payloader's own; 1 and 2: one pair; 3 …: a pair each, the last one past the cap. */
  rtp_branch_init (&branches[0], 0, PSC_PAYLOADER_DEFAULT_PT, NULL);
  rtp_branch_init (&branches[1], 1, 102, "42e01f");
  rtp_branch_init (&branches[2], 2, 102, "42e01f");
  for (guint i = 3; i < N_RTP_BRANCHES; i++)
    rtp_branch_init (&branches[i], i, 100 + i, NULL);
  for (guint i = 0; i < N_RTP_BRANCHES; i++) {
    g_assert_true (psc_stream_attach_rtp (f->stream, branches[i].bin, PSC_CODEC_H264,
            branches[i].payload_type, branches[i].profile_level_id, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpuint (count_targets (pipeline), ==, PSC_ENCODING_MAX_TARGETS);
  if (!psc_test_iterate_until (rtp_branches_fed, branches, 20, "100 packets in every branch"))
    goto out;

  for (guint i = 0; i < N_RTP_BRANCHES; i++) {
    RtpBranch *branch = &branches[i];

    g_mutex_lock (&branch->lock);
    g_assert_false (branch->wrong_payload_type);
    g_assert_cmpint (branch->caps_payload, ==, branch->payload_type);
    if (branch->profile_level_id != NULL)
      g_assert_cmpstr (branch->caps_profile, ==, branch->profile_level_id);
    else
      g_assert_nonnull (branch->caps_profile);  /* the payloader's */
    g_mutex_unlock (&branch->lock);
  }
  /* Between branches fed on one thread, no lock needed: they are all fed, the stream runs on
   * but a packet once noted is never replaced. Branches 1 and 2 share every copy; 0 and 1
   * share none (1's are copies); the last branch's copies are its own. */
  for (guint i = 0; i < N_RTP_BRANCHES; i++)
    g_mutex_lock (&branches[i].lock);
  g_assert_cmpint (count_shared (&branches[1], &branches[2]), >=, 50);
  g_assert_cmpint (count_shared (&branches[0], &branches[1]), ==, 0);
  g_assert_cmpint (count_shared (&branches[0], &branches[3]), ==, 0);
  g_assert_cmpint (count_shared (&branches[0], &branches[N_RTP_BRANCHES - 1]), ==, 0);
  for (guint i = 0; i < N_RTP_BRANCHES; i++)
    g_mutex_unlock (&branches[i].lock);

  /* A pair's tee stays when its branches go, and serves the next branch of that pair (its
   * profile-level-id in capitals: hex digits, the same profile). */
  pair_tee = tee_of (&branches[1]);
  psc_stream_detach (f->stream, branches[1].bin);
  psc_stream_detach (f->stream, branches[2].bin);
  branches[1].detached = branches[2].detached = TRUE;
  if (!psc_test_iterate_until (not_in_pipeline, branches[1].bin, 10, "branch 1 removed") ||
      !psc_test_iterate_until (not_in_pipeline, branches[2].bin, 10, "branch 2 removed"))
    goto out;
  again = &branches[N_RTP_BRANCHES];
  rtp_branch_init (again, N_RTP_BRANCHES, 102, "42E01F");
  g_assert_true (psc_stream_attach_rtp (f->stream, again->bin, PSC_CODEC_H264, 102, "42E01F",
          &error));
  g_assert_no_error (error);
  {
    g_autoptr (GstElement) again_tee = tee_of (again);

    g_assert_true (again_tee == pair_tee);
  }
  g_assert_cmpuint (count_targets (pipeline), ==, PSC_ENCODING_MAX_TARGETS);
  if (!psc_test_iterate_until (rtp_branch_fed, again, 20, "packets in the new branch"))
    goto out;
  g_mutex_lock (&again->lock);
  g_assert_false (again->wrong_payload_type);
  g_assert_cmpint (again->caps_payload, ==, 102);
  g_mutex_unlock (&again->lock);

out:
  for (guint i = 0; i <= N_RTP_BRANCHES; i++) {
    if (branches[i].bin != NULL && !branches[i].detached)
      psc_stream_detach (f->stream, branches[i].bin);
  }
  /* Until every branch is out of the pipeline, the payloader's thread may still call their
   * probes: on a timeout the branches are left allocated. */
  if (!psc_test_iterate_until (no_encoder, f->stream, 10, "the encoder to stop"))
    return;
  /* The pairs' tees went with the encoding. */
  g_assert_cmpuint (count_targets (pipeline), ==, 0);
  for (guint i = 0; i <= N_RTP_BRANCHES; i++) {
    if (branches[i].bin != NULL)
      rtp_branch_clear (&branches[i]);
  }
  g_free (branches);
}

int
main (int argc, char **argv)
{
  static const PscTestFixtureData vp8 = { .codec = "vp8", .connect_timeout_s = 20 };
  /* Keyframes 10 s apart: a joining viewer lands mid-GOP. */
  static const PscTestFixtureData long_gop = { .codec = "h264", .connect_timeout_s = 20,
    .keyframe_interval = 300 };
  /* Noise at 1.5 Mbit/s: every frame spans several packets, and H.264 several slices. */
  static const PscTestFixtureData h264_busy = { .codec = "h264", .connect_timeout_s = 20,
    .source = "videotestsrc is-live=true pattern=snow", .bitrate = 1500 };
  static const PscTestFixtureData vp8_busy = { .codec = "vp8", .connect_timeout_s = 20,
    .source = "videotestsrc is-live=true pattern=snow", .bitrate = 1500 };

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  PSC_TEST_ADD ("/integration/h264/one-viewer", &psc_test_h264, test_one_viewer);
  PSC_TEST_ADD ("/integration/vp8/one-viewer", &vp8, test_one_viewer);
  PSC_TEST_ADD ("/integration/h264/two-viewers-one-leaves", &psc_test_h264, test_two_viewers_one_leaves);
  PSC_TEST_ADD ("/integration/vp8/capture-released", &vp8, test_capture_released);
  PSC_TEST_ADD ("/integration/h264/offer-without-next-frame", &psc_test_h264,
      test_offer_without_next_frame);
  PSC_TEST_ADD ("/integration/h264/frame-in-one-push", &h264_busy, test_frame_in_one_push);
  PSC_TEST_ADD ("/integration/vp8/frame-in-one-push", &vp8_busy, test_frame_in_one_push);
  PSC_TEST_ADD ("/integration/h264/keyframe-policy", &psc_test_h264, test_keyframe_policy);
  PSC_TEST_ADD ("/integration/h264/join-keyframe", &long_gop, test_join_keyframe);
  PSC_TEST_ADD ("/integration/h264/long-watch", &psc_test_h264, test_long_watch);
  PSC_TEST_ADD ("/integration/h264/attach-refused", &psc_test_h264, test_attach_refused);
  PSC_TEST_ADD ("/integration/h264/shared-rewrite", &psc_test_h264, test_shared_rewrite);

  return g_test_run ();
}
