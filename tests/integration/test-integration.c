/* periscope integration tests: the real stream, signalling and server on 127.0.0.1, port 0,
 * with in-process webrtcbin viewers connecting over the WebSocket.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "psc-config.h"
#include "psc-encoder.h"
#include "psc-payloader.h"
#include "psc-server.h"
#include "psc-signalling.h"
#include "psc-source.h"
#include "psc-stream.h"
#include "psc-test-client.h"

/* Small frames: the point is the plumbing, and CI has two cores. */
#define TEST_SOURCE "videotestsrc is-live=true pattern=ball"

typedef struct {
  const char *codec;
  guint connect_timeout_s;
  guint max_viewers;            /* 0: the default */
  const char *source;           /* NULL: TEST_SOURCE */
  guint keyframe_interval;      /* frames; 0: the default (2 s) */
  gboolean ice_servers;         /* a STUN and a TURN server on 127.0.0.1 (nothing listens) */
  gboolean always_on;           /* --always-on: the capture is never released */
  guint bitrate;                /* kbit/s; 0: 500 */
} FixtureData;

typedef struct {
  PscConfig *config;
  PscStream *stream;
  PscSignalling *signalling;
  PscWhep *whep;
  PscServer *server;
  char *url;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const FixtureData *params = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (PscSourceChoice) source = NULL;
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { NULL };
  PscCodec codec;
  const char *ice_addresses[] = { "127.0.0.1", NULL };
  PscViewerOptions options = { ice_addresses,
    params->connect_timeout_s * psc_test_time_factor (), 0 };

  f->config = psc_config_new ();
  f->config->source = g_strdup (params->source ? params->source : TEST_SOURCE);
  if (params->max_viewers > 0)
    f->config->max_viewers = params->max_viewers;
  f->config->always_on = params->always_on;
  f->config->width = 320;
  f->config->height = 240;
  f->config->bitrate = params->bitrate > 0 ? params->bitrate : 500;
  g_assert_true (psc_codec_from_string (params->codec, &f->config->codec));
  f->config->codec_explicit = TRUE;
  g_assert_true (psc_config_validate (f->config, &error));
  options.max_viewers = f->config->max_viewers;
  if (params->keyframe_interval > 0)
    f->config->keyframe_interval = params->keyframe_interval;
  if (params->ice_servers) {
    g_ptr_array_add (f->config->ice_servers,
        psc_ice_server_parse ("stun://127.0.0.1:3478", NULL));
    g_ptr_array_add (f->config->ice_servers,
        psc_ice_server_parse ("turn://periscope:s3cret@127.0.0.1:3478", NULL));
    options.ice_servers = f->config->ice_servers;
  }

  source = psc_source_select (f->config, &error);
  g_assert_no_error (error);
  g_assert_true (psc_encoder_select_all (f->config, NULL, NULL, encoders, &codec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (codec, ==, f->config->codec);
  f->stream = psc_stream_new (f->config->stream_id, source, encoders, codec, f->config, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    g_clear_pointer (&encoders[c], psc_encoder_choice_free);
  g_assert_true (psc_stream_start (f->stream, 10000, &error));
  g_assert_no_error (error);

  f->signalling = psc_signalling_new (&options);
  psc_signalling_add_stream (f->signalling, f->stream);
  f->whep = psc_whep_new (f->signalling, &options);
  f->server = psc_server_new (f->signalling, f->whep);
  g_assert_true (psc_server_listen (f->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->url = g_strdup_printf ("ws://127.0.0.1:%u/ws/%s", psc_server_get_port (f->server),
      f->config->stream_id);
}

static guint count_elements (GstElement *pipeline, const char *factory);

static gboolean
no_webrtcbin (gpointer data)
{
  return count_elements (psc_stream_get_pipeline (data), "webrtcbin") == 0;
}

static gboolean
one_webrtcbin (gpointer data)
{
  return count_elements (psc_stream_get_pipeline (data), "webrtcbin") == 1;
}

static gboolean
no_viewers (gpointer data)
{
  PscStreamStats stats;
  psc_stream_get_stats (data, &stats);
  return stats.viewers == 0;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  psc_signalling_shutdown (f->signalling);
  psc_whep_close_all (f->whep);
  psc_test_iterate_until (no_viewers, f->stream, 10, "every viewer to be detached");
  psc_test_iterate_until (no_webrtcbin, f->stream, 10, "every branch to be removed");
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&f->server);
  g_clear_object (&f->whep);
  g_clear_object (&f->signalling);
  psc_stream_stop (f->stream);
  g_clear_object (&f->stream);
  g_free (f->url);
  psc_config_free (f->config);
}

/* How many elements made by @factory the pipeline holds, at any depth. */
static guint
count_elements (GstElement *pipeline, const char *factory)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (pipeline));
  GValue item = G_VALUE_INIT;
  guint count = 0;

  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElementFactory *f = gst_element_get_factory (g_value_get_object (&item));
    if (f != NULL && g_str_equal (GST_OBJECT_NAME (f), factory))
      count++;
    g_value_reset (&item);
  }
  g_value_unset (&item);
  return count;
}

/* Pad @name of the first element of @factory in @pipeline or its bins; (transfer full). */
static GstPad *
first_element_pad (GstElement *pipeline, const char *factory, const char *name)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_all_by_element_factory_name (GST_BIN (pipeline),
      factory);
  GValue item = G_VALUE_INIT;
  GstPad *pad;

  g_assert_cmpint (gst_iterator_next (it, &item), ==, GST_ITERATOR_OK);
  pad = gst_element_get_static_pad (g_value_get_object (&item), name);
  g_value_unset (&item);
  g_assert_nonnull (pad);
  return pad;
}

/* A weak pointer to viewer @peer_id's branch: it must be finalized, not only removed, once
 * the viewer is gone (a branch holds a webrtcbin: sockets, threads, DTLS state). */
static gpointer *
watch_element (GstElement *pipeline, const char *name)
{
  g_autoptr (GstElement) branch = gst_bin_get_by_name (GST_BIN (pipeline), name);
  gpointer *weak = g_new0 (gpointer, 1);

  g_assert_nonnull (branch);
  *weak = branch;
  g_object_add_weak_pointer (G_OBJECT (branch), weak);
  return weak;
}

static gpointer *
watch_branch (GstElement *pipeline, const char *peer_id)
{
  g_autofree char *name = g_strdup_printf ("viewer-%s", peer_id);
  return watch_element (pipeline, name);
}

static gboolean
finalized (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* The stream's encoder element is gone from the pipeline (stopped and removed). */
static gboolean
no_encoder (gpointer data)
{
  return !psc_stream_is_encoding (data, psc_stream_get_codec (data)) &&
      count_elements (psc_stream_get_pipeline (data), psc_stream_get_encoder_name (data)) == 0;
}

static void
test_one_viewer (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscMessage) welcome = psc_test_client_wait_message (client,
      PSC_MESSAGE_EXISTING_PEERS, 5);
  g_autoptr (PscMessage) offer = psc_test_client_wait_message (client, PSC_MESSAGE_OFFER, 10);
  PscStreamStats stats;

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

  psc_test_client_wait_frames (client, 60, 20);

  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 1);
  g_assert_cmpuint (stats.keyframes_forced_join, >=, 1);
}

static void
test_two_viewers_one_leaves (Fixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  const char *encoder = psc_stream_get_encoder_name (f->stream);
  g_autoptr (PscTestClient) a = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscTestClient) b = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscMessage) joined = psc_test_client_wait_message (a, PSC_MESSAGE_PEER_JOINED, 5);
  g_autoptr (PscMessage) left = NULL;
  PscStreamStats stats;

  g_autofree gpointer *branch_a = NULL;
  g_autofree gpointer *encoder_bin = NULL;

  psc_test_client_wait_frames (a, 60, 20);
  psc_test_client_wait_frames (b, 60, 20);
  g_assert_cmpstr (joined->peer_id, ==, psc_test_client_get_peer_id (b));
  branch_a = watch_branch (pipeline, psc_test_client_get_peer_id (a));

  /* One capture, one encode and one payloader serve both: one source, one encoder, one
   * rtph264pay, two webrtcbins. */
  g_assert_cmpuint (count_elements (pipeline, "videotestsrc"), ==, 1);
  g_assert_cmpuint (count_elements (pipeline, encoder), ==, 1);
  g_assert_cmpuint (count_elements (pipeline, "rtph264pay"), ==, 1);
  g_assert_cmpuint (count_elements (pipeline, "webrtcbin"), ==, 2);

  g_clear_pointer (&a, psc_test_client_free);
  left = psc_test_client_wait_message (b, PSC_MESSAGE_PEER_LEFT, 5);
  g_assert_nonnull (left->peer_id);
  psc_test_client_wait_frames (b, 60, 20);

  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 1);
  g_assert_cmpuint (count_elements (pipeline, "webrtcbin"), ==, 1);
  g_assert_cmpuint (count_elements (pipeline, "videotestsrc"), ==, 1);
  psc_test_iterate_until (finalized, branch_a, 5, "the departed viewer's branch to be freed");

  /* The last viewer leaves: the encoder stops and is freed; the source stays in the pipeline
   * (its release, seconds later, is test_capture_released's). */
  encoder_bin = watch_element (pipeline, "encode-h264-1");
  g_clear_pointer (&b, psc_test_client_free);
  psc_test_iterate_until (no_encoder, f->stream, 5, "the encoder to stop and go");
  psc_test_iterate_until (finalized, encoder_bin, 5, "the stopped encoder to be freed");
  g_assert_cmpuint (count_elements (pipeline, "videotestsrc"), ==, 1);
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
test_offer_without_next_frame (Fixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autoptr (PscTestClient) a = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscTestClient) b = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autoptr (GstPad) source_pad = NULL;
  gulong probe;

  psc_test_client_wait_frames (a, 10, 20);
  source_pad = first_element_pad (pipeline, "videotestsrc", "src");
  probe = gst_pad_add_probe (source_pad, GST_PAD_PROBE_TYPE_BUFFER, drop_buffer, NULL, NULL);

  b = psc_test_client_new (f->url, FALSE);
  offer = psc_test_client_wait_message (b, PSC_MESSAGE_OFFER, 10);
  g_assert_nonnull (strstr (offer->sdp, "m=video"));
  g_assert_nonnull (strstr (offer->sdp, "a=sendonly"));
  gst_pad_remove_probe (source_pad, probe);
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
test_frame_in_one_push (Fixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  g_autoptr (GstPad) socket_pad = NULL;
  g_autoptr (GstPad) fec_pad = NULL;
  SendCounts *counts = send_counts_new ();
  gulong socket_probe, fec_probe;
  guint frames;

  psc_test_client_wait_frames (client, 10, 20);
  socket_pad = first_element_pad (pipeline, "nicesink", "sink");
  fec_pad = first_element_pad (pipeline, "rtpulpfecenc", "sink");
  socket_probe = gst_pad_add_probe (socket_pad,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_socket_push,
      g_rc_box_acquire (counts), send_counts_unref);
  fec_probe = gst_pad_add_probe (fec_pad,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_fec_buffer,
      g_rc_box_acquire (counts), send_counts_unref);
  psc_test_client_wait_frames (client, 60, 20);
  gst_pad_remove_probe (socket_pad, socket_probe);
  gst_pad_remove_probe (fec_pad, fec_probe);

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
test_capture_released (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) a = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscTestClient) b = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscTestClient) c = NULL;

  psc_test_client_wait_frames (a, 30, 20);
  psc_test_client_wait_frames (b, 30, 20);
  g_assert_true (psc_stream_is_capturing (f->stream));
  g_clear_pointer (&a, psc_test_client_free);
  g_clear_pointer (&b, psc_test_client_free);
  psc_test_iterate_until (capture_released, f->stream, PSC_STREAM_RELEASE_DELAY_S + 5,
      "the capture to be released");
  g_assert_true (psc_stream_is_playing (f->stream));    /* healthy, only idle */

  c = psc_test_client_new (f->url, TRUE);
  psc_test_client_wait_frames (c, 30, 20);
  g_assert_true (psc_stream_is_capturing (f->stream));
  g_assert_cmpstr (psc_stream_get_state_name (f->stream), ==, "playing");
}

static void
expect_error (PscTestClient *client, const char *send, const char *code)
{
  g_autoptr (PscMessage) error = NULL;

  psc_test_client_send (client, send);
  error = psc_test_client_wait_message (client, PSC_MESSAGE_ERROR, 5);
  g_test_message ("sent %.60s -> %s: %s", send, error->error_code, error->error_message);
  g_assert_cmpstr (error->error_code, ==, code);
  g_assert_cmpuint (strlen (error->error_message), >, 10);
}

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, FALSE);
  g_autoptr (PscTestClient) bystander = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscMessage) offer = psc_test_client_wait_message (client, PSC_MESSAGE_OFFER, 10);
  g_autofree char *huge = NULL;
  g_autofree char *huge_message = NULL;

  psc_test_client_wait_frames (bystander, 30, 20);

  expect_error (client, "this is not json", "invalid_json");
  expect_error (client, "[1,2,3]", "invalid_json");
  expect_error (client, "{\"type\":\"dance\"}", "unknown_type");
  expect_error (client, "{\"type\":\"answer\"}", "missing_field");
  expect_error (client, "{\"type\":\"answer\",\"answer\":{\"type\":\"answer\",\"sdp\":42}}",
      "invalid_field");
  expect_error (client, "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":"
      "\"candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host\",\"sdpMLineIndex\":0}}",
      "bad_state");
  expect_error (client, "{\"type\":\"answer\",\"answer\":{\"type\":\"answer\","
      "\"sdp\":\"hello\"}}", "bad_sdp");
  expect_error (client, "{\"type\":\"answer\",\"answer\":{\"type\":\"answer\","
      "\"sdp\":\"v=0\\r\\no=- 0 0 IN IP4 0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\n\"}}", "bad_sdp");
  expect_error (client, "{\"type\":\"offer\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}",
      "bad_state");
  expect_error (client, "{\"type\":\"answer\",\"target_peer_id\":\"nobody\",\"answer\":"
      "{\"sdp\":\"v=0\"}}", "unknown_peer");
  huge = g_strnfill (100 * 1024, 'x');
  huge_message = g_strdup_printf ("{\"type\":\"answer\",\"pad\":\"%s\"}", huge);
  expect_error (client, huge_message, "too_large");

  /* The connection goes on: the real answer still works and video flows. */
  psc_test_client_answer (client, offer);
  psc_test_client_wait_frames (client, 60, 20);
  /* And the other viewer never noticed. */
  psc_test_client_wait_frames (bystander, 30, 20);
}

static void
test_connect_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, FALSE);
  g_autoptr (PscMessage) offer = psc_test_client_wait_message (client, PSC_MESSAGE_OFFER, 10);
  g_autofree gpointer *branch = watch_branch (psc_stream_get_pipeline (f->stream),
      offer->target_peer_id);
  g_autoptr (PscMessage) error = psc_test_client_wait_message (client, PSC_MESSAGE_ERROR, 10);
  PscStreamStats stats;

  g_assert_cmpstr (error->error_code, ==, "timeout");
  g_assert_cmpuint (psc_test_client_wait_closed (client, 5), ==,
      SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  psc_test_iterate_until (no_webrtcbin, f->stream, 5, "the viewer's branch to be removed");
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 0);
  psc_test_iterate_until (finalized, branch, 5, "the timed-out viewer's branch to be freed");
}

static void
test_relay_room (Fixture *f, gconstpointer data)
{
  g_autofree char *base = g_strdup_printf ("ws://127.0.0.1:%u", psc_server_get_port (f->server));
  g_autofree char *url_a = g_strconcat (base, "/webrtc/signaling/lobby/alice", NULL);
  g_autofree char *url_b = g_strconcat (base, "/ws/lobby/bob", NULL);
  g_autoptr (PscTestClient) alice = psc_test_client_new (url_a, FALSE);
  g_autoptr (PscTestClient) bob = NULL;
  g_autoptr (PscTestClient) impostor = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autoptr (PscMessage) joined = NULL;
  g_autoptr (PscMessage) relayed = NULL;
  g_autoptr (PscMessage) error = NULL;
  g_autoptr (PscMessage) left = NULL;

  welcome = psc_test_client_wait_message (alice, PSC_MESSAGE_EXISTING_PEERS, 5);
  g_assert_cmpuint (g_strv_length (welcome->peers), ==, 0);
  g_clear_pointer (&welcome, psc_message_free);

  bob = psc_test_client_new (url_b, FALSE);
  welcome = psc_test_client_wait_message (bob, PSC_MESSAGE_EXISTING_PEERS, 5);
  g_assert_cmpstr (welcome->peer_id, ==, "bob");
  g_assert_cmpuint (g_strv_length (welcome->peers), ==, 1);
  g_assert_cmpstr (welcome->peers[0], ==, "alice");
  joined = psc_test_client_wait_message (alice, PSC_MESSAGE_PEER_JOINED, 5);
  g_assert_cmpstr (joined->peer_id, ==, "bob");

  psc_test_client_send (alice, "{\"type\":\"offer\",\"target_peer_id\":\"bob\","
      "\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 from alice\"}}");
  relayed = psc_test_client_wait_message (bob, PSC_MESSAGE_OFFER, 5);
  g_assert_cmpstr (relayed->from_peer_id, ==, "alice");
  g_assert_cmpstr (relayed->sdp, ==, "v=0 from alice");

  psc_test_client_send (alice, "{\"type\":\"answer\",\"answer\":{\"sdp\":\"v=0\"}}");
  error = psc_test_client_wait_message (alice, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (error->error_code, ==, "missing_field");

  impostor = psc_test_client_new (url_b, FALSE);
  g_clear_pointer (&error, psc_message_free);
  error = psc_test_client_wait_message (impostor, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (error->error_code, ==, "peer_id_taken");
  psc_test_client_wait_closed (impostor, 5);

  g_clear_pointer (&bob, psc_test_client_free);
  left = psc_test_client_wait_message (alice, PSC_MESSAGE_PEER_LEFT, 5);
  g_assert_cmpstr (left->peer_id, ==, "bob");
}

static void
test_viewer_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) first = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscTestClient) second = NULL;
  g_autoptr (PscTestClient) third = NULL;
  g_autoptr (PscMessage) refused = NULL;

  psc_test_client_wait_frames (first, 30, 20);
  second = psc_test_client_new (f->url, TRUE);
  refused = psc_test_client_wait_message (second, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (refused->error_code, ==, "too_many_peers");
  g_assert_cmpuint (psc_test_client_wait_closed (second, 5), ==,
      SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  /* The viewer already there never noticed. */
  psc_test_client_wait_frames (first, 30, 20);

  /* A place frees up when a viewer leaves. */
  g_clear_pointer (&first, psc_test_client_free);
  third = psc_test_client_new (f->url, TRUE);
  psc_test_client_wait_frames (third, 30, 20);
}

static void
test_rate_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) flooder = psc_test_client_new (f->url, FALSE);
  g_autoptr (PscTestClient) bystander = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscMessage) error = NULL;
  gboolean limited = FALSE;

  psc_test_client_wait_frames (bystander, 30, 20);
  /* Far over 200 messages at once: the burst allowance runs out. */
  for (int i = 0; i < 400; i++)
    psc_test_client_send (flooder, "{\"type\":\"peer_left\",\"peer_id\":\"x\"}");
  while (!limited) {
    g_autoptr (PscMessage) e = psc_test_client_wait_message (flooder, PSC_MESSAGE_ERROR, 5);
    limited = g_str_equal (e->error_code, "rate_limited");
  }
  g_assert_cmpuint (psc_test_client_wait_closed (flooder, 5), ==,
      SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  psc_test_client_wait_frames (bystander, 30, 20);
}

static void
on_stream_error (PscStream *stream, GError *error, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
test_source_ends (Fixture *f, gconstpointer data)
{
  gboolean failed = FALSE;
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) error = NULL;

  g_signal_connect (f->stream, "error", G_CALLBACK (on_stream_error), &failed);
  client = psc_test_client_new (f->url, TRUE);
  psc_test_client_wait_frames (client, 10, 20);
  /* The source stops after its buffers: the stream reports it, and the viewer is told. */
  psc_test_iterate_until (flag_set, &failed, 20, "the stream to report the end of its source");
  error = psc_test_client_wait_message (client, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (error->error_code, ==, "stream_failed");
  g_assert_nonnull (strstr (error->error_message, "ended"));
}

typedef struct {
  PscStream *stream;
  guint64 keyframes;
} KeyframeWait;

static gboolean
keyframe_seen (gpointer data)
{
  KeyframeWait *wait = data;
  PscStreamStats stats;

  psc_stream_get_stats (wait->stream, &stats);
  return stats.keyframes > wait->keyframes;
}

static void
test_keyframe_policy (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  PscStreamStats before, after;
  KeyframeWait wait = { f->stream, 0 };

  /* Keyframes are asked of a running encoder: one viewer keeps it running. Let its join
   * keyframe and the 200 ms gap go by first. */
  psc_test_client_wait_frames (client, 30, 20);
  g_usleep (300 * 1000);
  psc_stream_get_stats (f->stream, &before);
  wait.keyframes = before.keyframes;
  /* A burst of requests costs one keyframe. */
  for (int i = 0; i < 10; i++)
    psc_stream_request_keyframe (f->stream, PSC_CODEC_H264, PSC_KEYFRAME_JOIN);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_join, ==, before.keyframes_forced_join + 1);
  g_assert_cmpuint (after.keyframe_requests_coalesced, ==,
      before.keyframe_requests_coalesced + 9);
  /* And the encoder delivers it well before the 2 s GOP would have. */
  psc_test_iterate_until (keyframe_seen, &wait, 1, "the forced keyframe");

  /* Right after a forced keyframe, the next request waits out the 200 ms gap, then goes. */
  psc_stream_get_stats (f->stream, &before);
  wait.keyframes = before.keyframes;
  psc_stream_request_keyframe (f->stream, PSC_CODEC_H264, PSC_KEYFRAME_PLI);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_pli, ==, before.keyframes_forced_pli);
  psc_test_iterate_until (keyframe_seen, &wait, 2, "the deferred keyframe");
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
test_join_keyframe (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) first = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscTestClient) client = NULL;
  PscStreamStats before, after;
  gint64 start;

  psc_test_client_wait_frames (first, 30, 20);
  g_usleep (G_USEC_PER_SEC / 2);
  psc_stream_get_stats (f->stream, &before);
  start = g_get_monotonic_time ();
  client = psc_test_client_new (f->url, TRUE);
  psc_test_client_wait_frames (client, 1, 3);
  g_test_message ("first frame decoded %" G_GINT64_FORMAT " ms after connecting",
      (g_get_monotonic_time () - start) / 1000);
  psc_stream_get_stats (f->stream, &after);
  g_assert_cmpuint (after.keyframes_forced_join, >, before.keyframes_forced_join);
}

/* STUN/TURN servers reach both peers: webrtcbin's properties, and ice_servers in the
 * browser's messages. Nothing listens on 127.0.0.1:3478, so the host path still carries
 * the video. */
static void
test_ice_servers (Fixture *f, gconstpointer data)
{
  static const char *expected = "[{\"urls\":\"stun:127.0.0.1:3478\"},"
      "{\"urls\":\"turn:127.0.0.1:3478\",\"username\":\"periscope\","
      "\"credential\":\"s3cret\"}]";
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscMessage) welcome = psc_test_client_wait_message (client,
      PSC_MESSAGE_EXISTING_PEERS, 5);
  g_autoptr (PscMessage) offer = psc_test_client_wait_message (client, PSC_MESSAGE_OFFER, 10);
  g_autofree char *branch_name = g_strdup_printf ("viewer-%s", welcome->peer_id);
  g_autoptr (GstElement) branch = gst_bin_get_by_name (
      GST_BIN (psc_stream_get_pipeline (f->stream)), branch_name);
  g_autoptr (GstElement) webrtc = gst_bin_get_by_name (GST_BIN (branch), "webrtc");
  g_autofree char *stun = NULL;

  g_assert_cmpstr (welcome->ice_servers_json, ==, expected);
  g_assert_cmpstr (offer->ice_servers_json, ==, expected);
  g_object_get (webrtc, "stun-server", &stun, NULL);
  g_assert_cmpstr (stun, ==, "stun://127.0.0.1:3478");
  psc_test_client_wait_frames (client, 60, 20);
}

typedef struct {
  GBytes *body;
  GError *error;
  gboolean done;
} HttpResult;

static void
on_http_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  HttpResult *r = user_data;
  r->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &r->error);
  r->done = TRUE;
}

static gboolean
http_done (gpointer data)
{
  return ((HttpResult *) data)->done;
}

/* @method http://127.0.0.1:PORT@path with an optional body and one optional extra header;
 * returns the body, the status and (if asked) the response headers. */
static char *
http_request (Fixture *f, const char *method, const char *path, const char *content_type,
    const char *body, const char *header, const char *value, guint *status,
    SoupMessageHeaders **response_headers)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s",
      psc_server_get_port (f->server), path);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  HttpResult r = { 0 };
  gsize size;
  const char *data;
  char *text;

  if (body != NULL) {
    g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
    soup_message_set_request_body_from_bytes (msg, content_type, bytes);
  }
  if (header != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), header, value);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_http_done, &r);
  psc_test_iterate_until (http_done, &r, 10, url);
  g_assert_no_error (r.error);
  *status = soup_message_get_status (msg);
  if (response_headers != NULL)
    *response_headers = g_boxed_copy (SOUP_TYPE_MESSAGE_HEADERS,
        soup_message_get_response_headers (msg));
  data = g_bytes_get_data (r.body, &size);
  text = g_strndup (data, size);
  g_bytes_unref (r.body);
  return text;
}

static char *
http_get (Fixture *f, const char *path, guint *status, char **content_type)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  char *body = http_request (f, "GET", path, NULL, NULL, NULL, NULL, status, &headers);

  if (content_type != NULL)
    *content_type = g_strdup (soup_message_headers_get_content_type (headers, NULL));
  return body;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);
  g_assert_no_error (error);
  return node;
}

static void
test_rest_api (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  g_autoptr (JsonNode) streams = NULL, stream = NULL, peers = NULL, health = NULL;
  g_autofree char *type = NULL;
  JsonObject *camera, *viewer;
  JsonArray *viewers;
  const char *peer_id;
  guint status;
  char *body;

  psc_test_client_wait_frames (client, 60, 20);
  peer_id = psc_test_client_get_peer_id (client);

  body = http_get (f, "/healthz", &status, &type);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "application/json");
  health = parse_json (body);
  g_free (body);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (health), "status"), ==,
      "ok");

  body = http_get (f, "/api/streams", &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  streams = parse_json (body);
  g_test_message ("%s", body);
  g_free (body);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (streams)), ==, 1);
  camera = json_array_get_object_element (json_node_get_array (streams), 0);
  g_assert_cmpstr (json_object_get_string_member (camera, "id"), ==, "camera");
  g_assert_cmpstr (json_object_get_string_member (camera, "state"), ==, "playing");
  g_assert_cmpstr (json_object_get_string_member (camera, "codec"), ==, "h264");
  g_assert_cmpstr (json_object_get_string_member (camera, "encoder"), ==,
      psc_stream_get_encoder_name (f->stream));
  g_assert_cmpint (json_object_get_int_member (camera, "width"), ==, 320);
  g_assert_cmpint (json_object_get_int_member (camera, "height"), ==, 240);
  g_assert_cmpint (json_object_get_int_member (camera, "bitrate_kbps"), ==, 500);
  g_assert_cmpint (json_object_get_int_member (camera, "frames_encoded"), >=, 60);
  viewers = json_object_get_array_member (camera, "viewers");
  g_assert_cmpuint (json_array_get_length (viewers), ==, 1);
  viewer = json_array_get_object_element (viewers, 0);
  g_assert_cmpstr (json_object_get_string_member (viewer, "peer_id"), ==, peer_id);
  g_assert_cmpstr (json_object_get_string_member (viewer, "via"), ==, "websocket");
  g_assert_cmpstr (json_object_get_string_member (viewer, "state"), ==, "connected");
  g_assert_cmpint (json_object_get_int_member (viewer, "bytes_sent"), >, 1000);
  g_assert_cmpint (json_object_get_int_member (viewer, "packets_sent"), >, 60);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (viewer, "since"), "20"));

  body = http_get (f, "/api/streams/camera", &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  stream = parse_json (body);
  g_free (body);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (stream), "id"), ==,
      "camera");

  body = http_get (f, "/api/streams/camera/peers", &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  peers = parse_json (body);
  g_free (body);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
              json_object_get_array_member (json_node_get_object (peers), "peers"), 0),
          "peer_id"), ==, peer_id);

  body = http_get (f, "/api/streams/nope", &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_assert_nonnull (strstr (body, "nope"));
  g_free (body);
  body = http_get (f, "/api/nothing", &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_free (body);
}

static void
on_snapshot_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GBytes **out = user_data;
  g_autoptr (GError) error = NULL;

  *out = psc_stream_snapshot_finish (PSC_STREAM (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
both_set (gpointer data)
{
  GBytes **pair = data;
  return pair[0] != NULL && pair[1] != NULL;
}

/* A branch that cannot be linked is refused with a GError and leaves nothing behind in the
 * pipeline: neither itself nor the encoder started for it. */
static void
test_attach_refused (Fixture *f, gconstpointer data)
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
  psc_test_iterate_until (no_encoder, f->stream, 10, "the encoder started for it to stop");
  g_assert_cmpuint (GST_BIN_NUMCHILDREN (pipeline), ==, children);
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 0);
}

/* The snapshot is a JPEG of the configured size, served while a viewer watches, and two
 * requests at once share one frame. */
static void
test_snapshot (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  g_autoptr (GError) error = NULL;
  g_autofree char *type = NULL;
  g_autoptr (GstElement) decoder = NULL;
  g_autoptr (GstElement) appsrc = NULL;
  g_autoptr (GstElement) appsink = NULL;
  g_autoptr (GstBuffer) buffer = NULL;
  g_autoptr (GstSample) decoded = NULL;
  GstFlowReturn flow;
  GstVideoInfo info;
  GBytes *pair[2] = { NULL, NULL };
  guint status;
  gsize size;
  char *body;

  psc_test_client_wait_frames (client, 30, 20);
  body = http_get (f, "/api/streams/camera/snapshot.jpg", &status, &type);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "image/jpeg");
  g_free (body);

  psc_stream_snapshot_async (f->stream, on_snapshot_done, &pair[0]);
  psc_stream_snapshot_async (f->stream, on_snapshot_done, &pair[1]);
  psc_test_iterate_until (both_set, pair, 10, "two snapshots");
  g_assert_true (g_bytes_equal (pair[0], pair[1]));

  /* Decode it with GStreamer: a real JPEG, of the configured size. */
  size = g_bytes_get_size (pair[0]);
  g_assert_cmpuint (size, >, 1000);
  decoder = gst_parse_launch ("appsrc name=src caps=image/jpeg ! jpegparse ! jpegdec "
      "! appsink name=sink sync=false", &error);
  g_assert_no_error (error);
  appsrc = gst_bin_get_by_name (GST_BIN (decoder), "src");
  appsink = gst_bin_get_by_name (GST_BIN (decoder), "sink");
  gst_element_set_state (decoder, GST_STATE_PLAYING);
  buffer = gst_buffer_new_memdup (g_bytes_get_data (pair[0], NULL), size);
  g_signal_emit_by_name (appsrc, "push-buffer", buffer, &flow);
  g_signal_emit_by_name (appsrc, "end-of-stream", &flow);
  g_signal_emit_by_name (appsink, "try-pull-sample", 5 * GST_SECOND, &decoded);
  g_assert_nonnull (decoded);
  g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (decoded)));
  g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&info), ==, 320);
  g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&info), ==, 240);
  gst_element_set_state (decoder, GST_STATE_NULL);

  /* The viewer never noticed. */
  psc_test_client_wait_frames (client, 30, 20);
  g_bytes_unref (pair[0]);
  g_bytes_unref (pair[1]);
}

/* The value of sample @name{@label_name=@label_value} in the checker's JSON lines, or -1. */
static double
metric_value (const char *samples, const char *name, const char *label_name,
    const char *label_value)
{
  g_auto (GStrv) lines = g_strsplit (samples, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr (JsonNode) node = NULL;
    JsonObject *sample, *labels;

    if (lines[i][0] == '\0')
      continue;
    node = parse_json (lines[i]);
    sample = json_node_get_object (node);
    labels = json_object_get_object_member (sample, "labels");
    if (g_str_equal (json_object_get_string_member (sample, "name"), name) &&
        (label_name == NULL || g_strcmp0 (json_object_get_string_member_with_default (labels,
                    label_name, NULL), label_value) == 0))
      return json_object_get_double_member (sample, "value");
  }
  return -1;
}

/* GET /metrics and parse it with the Prometheus client's own parser. */
static char *
scrape (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) checker = NULL;
  g_autofree char *type = NULL;
  g_autofree char *text = NULL;
  char *samples = NULL;
  g_autofree char *complaints = NULL;
  guint status;

  text = http_get (f, "/metrics", &status, &type);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "text/plain");
  checker = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, g_getenv ("PSC_METRICS_CHECKER"), NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (checker, text, NULL, &samples, &complaints, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (checker))
    g_error ("/metrics does not parse: %s\n%s", complaints, text);
  return samples;
}

static void
test_metrics (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  psc_test_client_wait_frames (client, 30, 20);
  before = scrape (f);
  g_assert_cmpfloat (metric_value (before, "periscope_viewers", "stream", "camera"), ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_stream_up", "stream", "camera"), ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_stream_capturing", "stream", "camera"),
      ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_websocket_sessions", NULL, NULL), ==, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_keyframes_forced_total", "reason",
          "join"), >=, 1);
  g_assert_cmpfloat (metric_value (before, "periscope_uptime_seconds", NULL, NULL), >, 0);

  /* Counters move while the viewer watches. */
  psc_test_client_wait_frames (client, 30, 20);
  psc_test_client_send (client, "not json");
  psc_message_free (psc_test_client_wait_message (client, PSC_MESSAGE_ERROR, 5));
  after = scrape (f);
  g_assert_cmpfloat (metric_value (after, "periscope_frames_encoded_total", "stream", "camera"),
      >, metric_value (before, "periscope_frames_encoded_total", "stream", "camera"));
  g_assert_cmpfloat (metric_value (after, "periscope_rtp_sent_bytes_total", "stream", "camera"),
      >, metric_value (before, "periscope_rtp_sent_bytes_total", "stream", "camera"));
  g_assert_cmpfloat (metric_value (after, "periscope_rtp_sent_packets_total", "stream",
          "camera"), >, metric_value (before, "periscope_rtp_sent_packets_total", "stream",
          "camera"));
  g_assert_cmpfloat (metric_value (after, "periscope_errors_total", "kind", "protocol"), ==,
      metric_value (before, "periscope_errors_total", "kind", "protocol") + 1);
}

/* A WHEP client's offer, made by a webrtcbin of our own: one recvonly video m-line for
 * @caps (application/x-rtp…). No ICE gathering happens (no local description is set). */
static char *
make_offer (const char *caps)
{
  g_autoptr (GstElement) webrtc = gst_object_ref_sink (gst_element_factory_make ("webrtcbin",
          NULL));
  g_autoptr (GstCaps) rtp_caps = gst_caps_from_string (caps);
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  GstWebRTCSessionDescription *offer = NULL;
  GstPromise *promise = gst_promise_new ();
  char *text;

  /* Like a browser: one BUNDLE group (RFC 9143), which the answer keeps. */
  gst_util_set_object_arg (G_OBJECT (webrtc), "bundle-policy", "max-bundle");
  gst_element_set_state (webrtc, GST_STATE_READY);
  g_signal_emit_by_name (webrtc, "add-transceiver",
      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, rtp_caps, &transceiver);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, promise);
  g_assert_cmpint (gst_promise_wait (promise), ==, GST_PROMISE_RESULT_REPLIED);
  gst_structure_get (gst_promise_get_reply (promise), "offer",
      GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  g_assert_nonnull (offer);
  text = gst_sdp_message_as_text (offer->sdp);
  gst_webrtc_session_description_free (offer);
  gst_element_set_state (webrtc, GST_STATE_NULL);
  return text;
}

#define H264_OFFER_CAPS "application/x-rtp,media=video,encoding-name=H264,payload=102," \
  "clock-rate=90000,packetization-mode=(string)1,profile-level-id=(string)42e01f"

static void
expect_status (Fixture *f, const char *method, const char *path, const char *type,
    const char *body, guint expected, const char *fragment)
{
  guint status;
  g_autofree char *text = http_request (f, method, path, type, body, NULL, NULL, &status, NULL);

  g_test_message ("%s %s -> %u %s", method, path, status, text);
  g_assert_cmpuint (status, ==, expected);
  if (fragment != NULL)
    g_assert_nonnull (strstr (text, fragment));
}

/* Every WHEP error status, and a whole session's resource: PATCH and DELETE. */
static void
test_whep_http (Fixture *f, gconstpointer data)
{
  g_autofree char *offer = make_offer (H264_OFFER_CAPS);
  g_autofree char *av1 = g_strdup ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 100\r\na=rtpmap:100 AV1/90000\r\na=recvonly\r\n");
  g_autofree char *sendonly = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *frag = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autoptr (GString) restart = NULL;
  g_autoptr (PscTestClient) ws = psc_test_client_new (f->url, TRUE);
  const char *etag;
  guint status;

  psc_test_client_wait_frames (ws, 30, 20);
  expect_status (f, "POST", "/whep/nope", "application/sdp", offer, 404, "nope");
  expect_status (f, "POST", "/whep/camera", "text/plain", offer, 415, "application/sdp");
  expect_status (f, "POST", "/whep/camera", "application/sdp", "hello", 400, "SDP");
  expect_status (f, "POST", "/whep/camera", "application/sdp", av1, 406, "AV1");
  sendonly = g_strdup (offer);
  g_assert_nonnull (strstr (sendonly, "a=recvonly"));
  memcpy (strstr (sendonly, "a=recvonly"), "a=sendonly", 10);
  expect_status (f, "POST", "/whep/camera", "application/sdp", sendonly, 400, "recvonly");
  expect_status (f, "GET", "/whep/camera", NULL, NULL, 405, NULL);
  expect_status (f, "DELETE", "/whep/camera/0123456789abcdef0123456789abcdef", NULL, NULL, 404,
      NULL);

  /* OPTIONS: CORS preflight and Accept-Post. */
  g_free (http_request (f, "OPTIONS", "/whep/camera", NULL, NULL, NULL, NULL, &status,
          &headers));
  g_assert_cmpuint (status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Accept-Post"), ==, "application/sdp");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Access-Control-Allow-Origin"), ==,
      "*");
  g_clear_pointer (&headers, soup_message_headers_unref);

  /* A session: 201, the answer, Location, ETag; it shares the encoder with the WS viewer. */
  answer = http_request (f, "POST", "/whep/camera", "application/sdp", offer, NULL, NULL,
      &status, &headers);
  g_assert_cmpuint (status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_content_type (headers, NULL), ==, "application/sdp");
  g_test_message ("answer: %s", answer);
  g_assert_nonnull (strstr (answer, "a=sendonly"));
  g_assert_nonnull (strstr (answer, "a=rtpmap:102 H264/90000"));
  g_assert_nonnull (strstr (answer, "a=group:BUNDLE"));
  g_assert_nonnull (strstr (answer, "a=rtcp-mux"));
  g_assert_nonnull (strstr (answer, "msid"));
  g_assert_nonnull (strstr (answer, "a=candidate:"));
  resource = g_strdup (soup_message_headers_get_one (headers, "Location"));
  etag = soup_message_headers_get_one (headers, "ETag");
  g_assert_true (g_str_has_prefix (resource, "/whep/camera/"));
  g_assert_cmpuint (strlen (resource), ==, strlen ("/whep/camera/") + 32);
  g_assert_nonnull (etag);
  g_assert_cmpuint (count_elements (psc_stream_get_pipeline (f->stream), "webrtcbin"), ==, 2);
  g_assert_cmpuint (count_elements (psc_stream_get_pipeline (f->stream),
          psc_stream_get_encoder_name (f->stream)), ==, 1);

  /* PATCH: trickle (204), wrong type (415), stale ETag (412), ICE restart (422). */
  frag = g_strdup ("a=candidate:1 1 UDP 2122252543 127.0.0.1 9 typ host\r\n");
  g_assert_cmpuint ((g_free (http_request (f, "PATCH", resource,
                  "application/trickle-ice-sdpfrag", frag, "If-Match", etag, &status, NULL)),
              status), ==, 204);
  expect_status (f, "PATCH", resource, "application/sdp", frag, 415, NULL);
  g_assert_cmpuint ((g_free (http_request (f, "PATCH", resource,
                  "application/trickle-ice-sdpfrag", frag, "If-Match", "\"stale\"", &status,
                  NULL)), status), ==, 412);
  restart = g_string_new ("a=ice-ufrag:somethingnew\r\na=ice-pwd:anewpasswordanewpassword\r\n");
  g_string_append (restart, frag);
  expect_status (f, "PATCH", resource, "application/trickle-ice-sdpfrag", restart->str, 422,
      "restart");

  /* DELETE ends it and frees the viewer; the resource is gone. */
  expect_status (f, "DELETE", resource, NULL, NULL, 200, NULL);
  expect_status (f, "PATCH", resource, "application/trickle-ice-sdpfrag", frag, 404, NULL);
  psc_test_iterate_until (one_webrtcbin, f->stream, 5, "the WHEP branch to be removed");
  g_assert_cmpuint (psc_whep_get_session_count (f->whep), ==, 0);
  /* The WebSocket viewer never noticed. */
  psc_test_client_wait_frames (ws, 30, 20);
}

/* STUN/TURN servers reach WHEP players as Link headers (rel="ice-server"). */
static void
test_whep_links (Fixture *f, gconstpointer data)
{
  g_autofree char *offer = make_offer (H264_OFFER_CAPS);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  const char *links;
  guint status;

  g_free (http_request (f, "POST", "/whep/camera", "application/sdp", offer, NULL, NULL,
          &status, &headers));
  g_assert_cmpuint (status, ==, 201);
  links = soup_message_headers_get_list (headers, "Link");
  g_test_message ("Link: %s", links);
  g_assert_nonnull (strstr (links, "<stun:127.0.0.1:3478>; rel=\"ice-server\""));
  g_assert_nonnull (strstr (links, "<turn:127.0.0.1:3478>; rel=\"ice-server\"; "
          "username=\"periscope\"; credential=\"s3cret\""));
}

/* 503 at the viewer limit (shared with WebSocket viewers), 409 when the stream is not live. */
static void
test_whep_limits (Fixture *f, gconstpointer data)
{
  g_autofree char *offer = make_offer (H264_OFFER_CAPS);
  g_autoptr (PscTestClient) ws = psc_test_client_new (f->url, TRUE);
  g_autoptr (PscMessage) refused = NULL;

  psc_test_client_wait_frames (ws, 10, 20);
  expect_status (f, "POST", "/whep/camera", "application/sdp", offer, 503, "limit");

  /* The other way round: the seat goes to a WHEP session, and a WebSocket viewer is refused. */
  g_clear_pointer (&ws, psc_test_client_free);
  psc_test_iterate_until (no_webrtcbin, f->stream, 5, "the WebSocket viewer to leave");
  expect_status (f, "POST", "/whep/camera", "application/sdp", offer, 201, NULL);
  ws = psc_test_client_new (f->url, TRUE);
  refused = psc_test_client_wait_message (ws, PSC_MESSAGE_ERROR, 5);
  g_assert_cmpstr (refused->error_code, ==, "too_many_peers");
}

static void
test_whep_not_live (Fixture *f, gconstpointer data)
{
  g_autofree char *offer = make_offer (H264_OFFER_CAPS);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  gboolean failed = FALSE;
  guint status;

  g_signal_connect (f->stream, "error", G_CALLBACK (on_stream_error), &failed);
  psc_test_iterate_until (flag_set, &failed, 20, "the source to end");
  g_free (http_request (f, "POST", "/whep/camera", "application/sdp", offer, NULL, NULL,
          &status, &headers));
  g_assert_cmpuint (status, ==, 409);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Retry-After"), ==, "5");

  /* And the health check says so. */
  g_free (http_request (f, "GET", "/healthz", NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_cmpuint (status, ==, 503);
}

/* A viewer that keeps sending RTCP (webrtcbin's receiver reports, RFC 3550's 5 s minimum
 * interval: gaps up to 7.5 s) is never taken for a vanished one: it watches for about 17 s
 * (500 frames at 30 fps), well past the 10 s silence threshold, and is still there. */
static void
test_long_watch (Fixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = psc_test_client_new (f->url, TRUE);
  PscStreamStats stats;

  psc_test_client_wait_frames (client, 30, 20);
  for (int i = 0; i < 25; i++)
    psc_test_client_wait_frames (client, 20, 5);
  psc_stream_get_stats (f->stream, &stats);
  g_assert_cmpuint (stats.viewers, ==, 1);
  psc_test_client_wait_frames (client, 30, 5);
}

int
main (int argc, char **argv)
{
  static const FixtureData h264 = { "h264", 20 };
  static const FixtureData vp8 = { "vp8", 20 };
  static const FixtureData quick_timeout = { "h264", 2 };
  static const FixtureData one_seat = { "h264", 20, 1 };
  static const FixtureData long_gop = { "h264", 20, 0, NULL, 300 };
  static const FixtureData with_ice_servers = { "h264", 20, 0, NULL, 0, TRUE };
  /* Noise at 1.5 Mbit/s: every frame spans several packets, and H.264 several slices. */
  static const FixtureData h264_busy = { "h264", 20, .source =
    "videotestsrc is-live=true pattern=snow", .bitrate = 1500 };
  static const FixtureData vp8_busy = { "vp8", 20, .source =
    "videotestsrc is-live=true pattern=snow", .bitrate = 1500 };
  /* A source that ends after 3 s: kept running with nobody watching, or releasing it
   * (which restarts it from its first frame) would race its end. */
  static const FixtureData short_source = { "h264", 20, 0,
    "videotestsrc is-live=true pattern=ball num-buffers=90", .always_on = TRUE };

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, data, fn) \
  g_test_add (path, Fixture, data, fixture_setup, fn, fixture_teardown)
  ADD ("/integration/h264/one-viewer", &h264, test_one_viewer);
  ADD ("/integration/vp8/one-viewer", &vp8, test_one_viewer);
  ADD ("/integration/h264/two-viewers-one-leaves", &h264, test_two_viewers_one_leaves);
  ADD ("/integration/vp8/capture-released", &vp8, test_capture_released);
  ADD ("/integration/h264/offer-without-next-frame", &h264, test_offer_without_next_frame);
  ADD ("/integration/h264/frame-in-one-push", &h264_busy, test_frame_in_one_push);
  ADD ("/integration/vp8/frame-in-one-push", &vp8_busy, test_frame_in_one_push);
  ADD ("/integration/h264/bad-input", &h264, test_bad_input);
  ADD ("/integration/h264/connect-timeout", &quick_timeout, test_connect_timeout);
  ADD ("/integration/relay-room", &h264, test_relay_room);
  ADD ("/integration/h264/keyframe-policy", &h264, test_keyframe_policy);
  ADD ("/integration/h264/join-keyframe", &long_gop, test_join_keyframe);
  ADD ("/integration/h264/long-watch", &h264, test_long_watch);
  ADD ("/integration/h264/ice-servers", &with_ice_servers, test_ice_servers);
  ADD ("/integration/h264/rest-api", &h264, test_rest_api);
  ADD ("/integration/h264/snapshot", &h264, test_snapshot);
  ADD ("/integration/h264/attach-refused", &h264, test_attach_refused);
  ADD ("/integration/h264/metrics", &h264, test_metrics);
  ADD ("/integration/whep/http", &h264, test_whep_http);
  ADD ("/integration/whep/links", &with_ice_servers, test_whep_links);
  ADD ("/integration/whep/limits", &one_seat, test_whep_limits);
  ADD ("/integration/whep/not-live", &short_source, test_whep_not_live);
  ADD ("/integration/h264/viewer-limit", &one_seat, test_viewer_limit);
  ADD ("/integration/h264/rate-limit", &h264, test_rate_limit);
  ADD ("/integration/h264/source-ends", &short_source, test_source_ends);
#undef ADD

  return g_test_run ();
}
