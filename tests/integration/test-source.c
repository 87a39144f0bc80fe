/* periscope integration tests: sources — gst-launch descriptions whose video pad appears
 * only once the stream is known (decodebin, uridecodebin, a demuxer, rtspsrc), with an audio
 * track periscope does not use, from files the test records itself, played at their own
 * rate; and an IP camera (an RTSP server in the test, psc-test-rtsp.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <gst/video/video.h>

#include "psc-launch.h"
#include "psc-test-fixture.h"
#include "psc-test-rtsp.h"

/* Each clip: 150 frames at 30 fps (5 s) of H.264, and an MP3 track. */
#define CLIP_FRAMES 150
#define CLIP_FPS 30

static char *clip_dir;
static PscTestRtspCamera *camera;
/* A keyframe every 4 s at 30 fps, as IP cameras are often set up. */
#define LONG_GOP 120
static PscTestRtspCamera *long_gop_camera;

/* Records @file in clip_dir with @mux (a muxer description ending in `name=mux`). */
static void
record_clip (const char *file, const char *mux)
{
  g_autofree char *path = g_build_filename (clip_dir, file, NULL);

  psc_test_record_clip (path, mux, CLIP_FRAMES, CLIP_FPS);
}

/* The number of the stream's H.264 encoder elements in its pipeline. */
static guint
count_h264_encoders (PscTestFixture *f)
{
  return psc_test_count_elements (psc_stream_get_pipeline (f->stream),
      psc_stream_get_encoder (f->stream, PSC_CODEC_H264)->factory);
}

/* The source plays to its end at its own rate, every frame reaching the capture, while a
 * viewer decodes it. Every frame is timed from the test's start, before the viewer connects
 * (under ASan the connection and its first 30 frames can take longer than the 5 s clip, and
 * timing that began halfway through the file then saw none of it). Pacing is the median gap
 * between frames that came on time (psc_test_pace_on_time_median_gap_ms(): a stall's
 * catch-up left out; the file played at 77 fps, as fast as it decoded, when it was not
 * paced), and the rate over the second half must not fall far below the file's. */
static void
test_file (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  gboolean ended = FALSE;
  PscStreamStats stats;
  g_autoptr (PscTestPace) pace = NULL;
  double rate, gap_ms;

  psc_test_flag_on_stream_offline (f->stream, &ended);
  pace = psc_test_pace_new (f->stream);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 30, 10);
  /* Passed through, no encoder (until the end: the slate is encoded). */
  if (psc_stream_passes_through (f->stream, PSC_CODEC_H264))
    g_assert_cmpuint (count_h264_encoders (f), ==, 0);
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &ended, 15, "the end of the file");
  psc_stream_get_stats (f->stream, &stats);
  gap_ms = psc_test_pace_on_time_median_gap_ms (pace);
  rate = psc_test_pace_late_rate_fps (pace);
  g_test_message ("%u frames timed: a median gap of %.1f ms, %.1f fps over the second half "
      "(total %" G_GUINT64_FORMAT ")", psc_test_pace_count (pace), gap_ms, rate,
      stats.frames_captured);
  /* A demuxer may drop what precedes the first keyframe it finds. */
  g_assert_cmpuint (stats.frames_captured, >=, CLIP_FRAMES * 9 / 10);
  /* Paced: not faster than the file's rate (psc_test_pace_on_time_median_gap_ms(): a rate
   * over a window is bent by a stall's catch-up), and not much slower. */
  g_assert_cmpfloat (gap_ms, >=, 0.8 * 1000 / CLIP_FPS);
  g_assert_cmpfloat (rate, >=, CLIP_FPS * 0.9 / psc_test_time_factor ());
}

/* An IP camera: rtspsrc's pads come once the RTSP session is set up (delayed linking), and
 * the stream is live: frames keep coming at the camera's rate, decoded by a viewer. */
static void
test_rtsp_camera (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscTestPace) pace = NULL;
  PscStreamStats before, after;
  gint64 start;
  double rate, gap_ms;

  PSC_TEST_CONNECT (client, f->url, TRUE);
  /* The rate is taken once frames flow: what queued while the capture started (a loaded
   * box, the ASan build) comes in a burst (49 fps measured from the connect on). */
  PSC_TEST_WAIT_FRAMES (client, 10, 20);
  pace = psc_test_pace_new (f->stream);
  psc_stream_get_stats (f->stream, &before);
  start = g_get_monotonic_time ();
  PSC_TEST_WAIT_FRAMES (client, 60, 20);
  psc_stream_get_stats (f->stream, &after);
  rate = (after.frames_captured - before.frames_captured) /
      ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  gap_ms = psc_test_pace_median_gap_ms (pace);
  g_test_message ("%.1f fps from the camera, a median gap of %.1f ms", rate, gap_ms);
  g_assert_cmpfloat (gap_ms, >=, 0.8 * 1000 / CLIP_FPS);
  g_assert_cmpfloat (rate, >=, CLIP_FPS * 0.8 / psc_test_time_factor ());
}

static GstPadProbeReturn
count_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

/* Counts the frames that reach the raw side (decoded) in @count, until removed. */
static gulong
count_decoded (PscTestFixture *f, gint *count)
{
  g_autoptr (GstElement) raw_tee = gst_bin_get_by_name (
      GST_BIN (psc_stream_get_pipeline (f->stream)), "raw-tee");
  g_autoptr (GstPad) sink = gst_element_get_static_pad (raw_tee, "sink");

  return gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, count, NULL);
}

static void
stop_counting_decoded (PscTestFixture *f, gulong probe)
{
  g_autoptr (GstElement) raw_tee = gst_bin_get_by_name (
      GST_BIN (psc_stream_get_pipeline (f->stream)), "raw-tee");
  g_autoptr (GstPad) sink = gst_element_get_static_pad (raw_tee, "sink");

  gst_pad_remove_probe (sink, probe);
}

/* An H.264 source passed through (an IP camera, `rtspsrc ! rtph264depay`): a viewer decodes
 * the camera's own frames; no H.264 encoder is in the pipeline, and nothing is decoded (no
 * frame reaches the raw side). */
static void
test_passthrough (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autofree char *body = NULL;
  g_autoptr (JsonNode) json = NULL;
  JsonArray *encoders;
  gint decoded = 0;
  guint status;
  gulong probe;

  g_assert_true (psc_stream_passes_through (f->stream, PSC_CODEC_H264));
  g_assert_false (psc_stream_passes_through (f->stream, PSC_CODEC_VP8));
  probe = count_decoded (f, &decoded);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 60, 20);
  stop_counting_decoded (f, probe);
  g_assert_true (psc_stream_is_encoding (f->stream, PSC_CODEC_H264));
  g_assert_cmpuint (count_h264_encoders (f), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&decoded), ==, 0);

  /* The API says so. */
  body = psc_test_http_get (f, "/api/streams/camera", &status, NULL);
  if (body == NULL)
    return;
  g_assert_cmpuint (status, ==, 200);
  json = psc_test_parse_json (body);
  encoders = json_object_get_array_member (json_node_get_object (json), "encoders");
  for (guint i = 0; i < json_array_get_length (encoders); i++) {
    JsonObject *encoder = json_array_get_object_element (encoders, i);
    g_assert_cmpint (json_object_get_boolean_member (encoder, "passthrough"), ==,
        g_str_equal (json_object_get_string_member (encoder, "codec"), "h264"));
  }
}

static gboolean
vp8_stopped (gpointer stream)
{
  return !psc_stream_is_encoding (stream, PSC_CODEC_VP8);
}

/* A VP8 viewer of a source passed through: the H.264 is decoded for it (from a keyframe,
 * asked of the camera) and encoded to VP8, while an H.264 viewer keeps the camera's frames;
 * a snapshot is taken from the decoded frames; when the VP8 viewer leaves, decoding stops. */
static void
test_passthrough_vp8 (PscTestFixture *f, gconstpointer data)
{
  g_autofree char *vp8_url = g_strconcat (f->url, "?codecs=vp8", NULL);
  g_autoptr (PscTestClient) h264 = NULL;
  g_autoptr (PscTestClient) vp8 = NULL;
  g_autofree char *type = NULL;
  g_autofree char *jpeg = NULL;
  gint decoded = 0;
  guint status, frames;
  gulong probe;

  PSC_TEST_CONNECT (h264, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (h264, 10, 20);
  PSC_TEST_CONNECT (vp8, vp8_url, TRUE);
  PSC_TEST_WAIT_FRAMES (vp8, 30, 20);
  g_assert_true (psc_stream_is_encoding (f->stream, PSC_CODEC_VP8));
  g_assert_cmpuint (psc_test_count_elements (psc_stream_get_pipeline (f->stream),
          psc_stream_get_encoder (f->stream, PSC_CODEC_VP8)->factory), ==, 1);
  g_assert_cmpuint (count_h264_encoders (f), ==, 0);
  jpeg = psc_test_http_get (f, "/api/streams/camera/snapshot.jpg", &status, &type);
  if (jpeg == NULL)
    return;
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "image/jpeg");

  g_clear_pointer (&vp8, psc_test_client_free);
  PSC_TEST_WAIT_UNTIL (vp8_stopped, f->stream, 10, "the VP8 encoder to stop");
  /* The snapshot's wait is over too: nothing takes raw frames, and the H.264 goes on. A
   * frame past the gate as it closed may still be on its way to the raw side: counted
   * from a few frames later on. */
  frames = psc_test_client_get_frames (h264);
  PSC_TEST_WAIT_FRAMES (h264, frames + 10, 20);
  frames = psc_test_client_get_frames (h264);
  probe = count_decoded (f, &decoded);
  PSC_TEST_WAIT_FRAMES (h264, frames + 30, 20);
  stop_counting_decoded (f, probe);
  g_assert_cmpint (g_atomic_int_get (&decoded), ==, 0);
}

/* A file of H.264 passed through plays as a decoded one does (test_file()). */
static void
test_file_passthrough (PscTestFixture *f, gconstpointer data)
{
  g_assert_true (psc_stream_passes_through (f->stream, PSC_CODEC_H264));
  test_file (f, data);
}

/* A WebSocket client joining with @query gets an offer of @codec. */
static void
expect_offer (PscTestFixture *f, const char *query, const char *codec)
{
  g_autofree char *url = g_strconcat (f->url, query, NULL);
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) offer = NULL;

  g_test_message ("%s", query);
  PSC_TEST_CONNECT (client, url, FALSE);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  g_assert_nonnull (strstr (offer->sdp, codec));
}

/* The SDP carries the source's profile: a High-profile camera is offered as High (from its
 * SPS) to WebSocket viewers; a WHEP player that offers only constrained baseline is refused
 * with a reason, one that offers High gets it; a page that lists its H.264 decoders'
 * profiles gets H.264 only if one of them decodes High. */
static void
test_passthrough_profile (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autofree char *plid = psc_stream_dup_h264_profile_level_id (f->stream);
  g_autofree char *cb_offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
  g_autofree char *high_offer = psc_test_whep_offer ("application/x-rtp,media=video,"
      "encoding-name=H264,payload=108,clock-rate=90000,packetization-mode=(string)1,"
      "profile-level-id=(string)64001f,level-asymmetry-allowed=(string)1");
  g_autofree char *refusal = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *announced = NULL;
  g_autofree char *reason = NULL;

  /* High (0x64), no constraint flags; the level is x264's choice. */
  g_assert_nonnull (plid);
  g_assert_true (g_str_has_prefix (plid, "6400"));
  announced = g_strconcat ("profile-level-id=", plid, NULL);
  reason = g_strconcat ("profile-level-id ", plid, NULL);
  PSC_TEST_CONNECT (client, f->url, FALSE);
  PSC_TEST_WAIT_MESSAGE (offer, client, PSC_MESSAGE_OFFER, 10);
  g_assert_nonnull (strstr (offer->sdp, announced));
  refusal = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", cb_offer,
      NULL, NULL, 406, reason, NULL);
  if (refusal == NULL)
    return;
  answer = psc_test_expect_status (f, "POST", "/whep/camera", "application/sdp", high_offer,
      NULL, NULL, 201, "profile-level-id=64001f", NULL);
  if (answer == NULL)
    return;
  /* (The source's own x264enc is the pipeline's only encoder: not counted here.) */
  g_assert_true (psc_stream_passes_through (f->stream, PSC_CODEC_H264));

  /* A page whose H.264 decoders are all constrained baseline gets VP8, or, listing no VP8,
   * a refusal naming the camera's profile; one with a High decoder gets H.264. */
  expect_offer (f, "?codecs=h264,vp8,h264:42e01f,h264:42001f", "VP8/90000");
  expect_offer (f, "?codecs=h264,vp8,h264:42e01f,h264:640c1f", "H264/90000");
  expect_offer (f, "?codecs=vp8,h264", "H264/90000");
  {
    g_autofree char *url = g_strconcat (f->url, "?codecs=h264,h264:42e01f", NULL);
    g_autoptr (PscTestClient) refused = NULL;
    g_autoptr (PscMessage) error = NULL;

    PSC_TEST_CONNECT (refused, url, FALSE);
    PSC_TEST_WAIT_MESSAGE (error, refused, PSC_MESSAGE_ERROR, 10);
    g_assert_cmpstr (error->error_code, ==, "no_common_codec");
    g_assert_nonnull (strstr (error->error_message, plid));
  }
}

/* A camera passed through goes away and comes back: while it is away, the slate reaches the
 * H.264 viewer, encoded by the stream's H.264 encoder; when it is back, the camera's own
 * frames again (the encoder gone), on the same connection. */
static void
test_passthrough_outage (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) client = NULL;
  gboolean went_offline = FALSE;
  guint frames;

  psc_test_flag_on_stream_offline (f->stream, &went_offline);
  PSC_TEST_CONNECT (client, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (client, 10, 20);
  psc_test_rtsp_camera_stop (camera);
  PSC_TEST_WAIT_UNTIL (psc_test_flag_set, &went_offline, 20, "the camera to be gone");
  g_assert_cmpuint (count_h264_encoders (f), ==, 1);
  frames = psc_test_client_get_frames (client);
  PSC_TEST_WAIT_FRAMES (client, frames + 10, 10);
  g_test_message ("the slate decoded: %u frames", psc_test_client_get_frames (client) - frames);

  psc_test_rtsp_camera_start (camera);
  PSC_TEST_WAIT_UNTIL (psc_test_stream_live, f->stream, 20, "the camera to be back");
  g_assert_cmpuint (count_h264_encoders (f), ==, 0);
  frames = psc_test_client_get_frames (client);
  PSC_TEST_WAIT_FRAMES (client, frames + 30, 10);
  g_assert_false (psc_test_client_is_closed (client));
}

static GstPadProbeReturn
drop_keyframe_request (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info)) ?
      GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
count_keyframe_request (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info)))
    g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

/* Connects a viewer and returns how long its first decoded frame took, in ms; 0 if none
 * came. */
static double
time_to_first_frame (PscTestFixture *f)
{
  g_autoptr (PscTestClient) client = NULL;
  gint64 start = g_get_monotonic_time ();

  client = psc_test_client_new (f->url, TRUE);
  if (!psc_test_client_wait_frames (client, 1, 20))
    return 0;
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* What a new viewer of a camera with a long GOP (an IDR every 4 s) waits for. The join's
 * keyframe request goes upstream into the source. Through rtph264depay to rtspsrc's RTP
 * session, which turns it into an RTCP PLI — sent with the session's next regular report
 * (RTSP cameras use the AVP profile, which has no early feedback), seconds later: in effect
 * the viewer waits for the camera's next IDR, asked or not. An encoder in the source (as a
 * UVC camera's, behind v4l2src) honours it at once. (docs/configuration.md.) The times are
 * measured and logged, not asserted on (a loaded machine stretches either); the request
 * must reach the source's last element, and each viewer must get frames. */
static void
test_long_gop (PscTestFixture *f, gconstpointer data)
{
  GstElement *pipeline = psc_stream_get_pipeline (f->stream);
  g_autoptr (GstElement) tee = gst_bin_get_by_name (GST_BIN (pipeline), "h264-tee");
  g_autoptr (GstElement) parse = gst_bin_get_by_name (GST_BIN (pipeline),
      PSC_LAUNCH_SOURCE_CONVERT);
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (tee, "sink");
  g_autoptr (GstPad) parse_sink = gst_element_get_static_pad (parse, "sink");
  g_autoptr (GstPad) last = gst_pad_get_peer (parse_sink);
  g_autoptr (GstElement) last_element = gst_pad_get_parent_element (last);
  double asked, not_asked;
  gint requests = 0;
  gulong probe;

  /* On the pad of the source's own last element (rtph264depay, x264enc). */
  probe = gst_pad_add_probe (last, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, count_keyframe_request,
      &requests, NULL);
  asked = time_to_first_frame (f);
  gst_pad_remove_probe (last, probe);
  g_assert_cmpfloat (asked, >, 0);
  g_assert_cmpint (g_atomic_int_get (&requests), >=, 1);

  probe = gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      drop_keyframe_request, NULL, NULL);
  not_asked = time_to_first_frame (f);
  gst_pad_remove_probe (tee_sink, probe);
  g_assert_cmpfloat (not_asked, >, 0);
  g_test_message ("GOP %u frames at %u fps: first frame after %.0f ms with the keyframe "
      "asked of the source (%d requests reached %s), %.0f ms without", LONG_GOP, CLIP_FPS,
      asked, requests, GST_OBJECT_NAME (last_element), not_asked);
}

static gboolean
released (gpointer stream)
{
  return !psc_stream_is_capturing (stream);
}

/* The furthest ahead of the pipeline's running time a frame out of the H.264 tee was, in
 * ns (a frame from the future is held back by every viewer's webrtcbin until its time). */
static GstPadProbeReturn
note_ahead (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  gint64 *ahead = user_data;
  g_autoptr (GstElement) element = gst_pad_get_parent_element (pad);
  g_autoptr (GstClock) clock = gst_element_get_clock (element);
  GstClockTime pts = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info));

  if (clock != NULL && GST_CLOCK_TIME_IS_VALID (pts)) {
    gint64 now = (gint64) (gst_clock_get_time (clock) - gst_element_get_base_time (element));
    *ahead = MAX (*ahead, (gint64) pts - now);
  }
  return GST_PAD_PROBE_OK;
}

/* A camera passed through, released when its last viewer left and opened again for the
 * next one: the running time starts at 0 again, and so do the timestamps passed through
 * (keep_h264_timeline()) — frames timestamped on from where the first viewer left would be
 * held back by the next viewer's webrtcbin for that long. */
static void
test_passthrough_release (PscTestFixture *f, gconstpointer data)
{
  g_autoptr (PscTestClient) first = NULL;
  g_autoptr (PscTestClient) second = NULL;
  g_autoptr (GstElement) tee = gst_bin_get_by_name (GST_BIN (psc_stream_get_pipeline (f->stream)),
      "h264-tee");
  g_autoptr (GstPad) sink = gst_element_get_static_pad (tee, "sink");
  gint64 ahead = G_MININT64;
  gulong probe;

  PSC_TEST_CONNECT (first, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (first, 60, 20);
  g_clear_pointer (&first, psc_test_client_free);
  PSC_TEST_WAIT_UNTIL (released, f->stream, 20, "the capture to be released");
  /* After keep_h264_timeline(), which was added first. */
  probe = gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, note_ahead, &ahead, NULL);
  PSC_TEST_CONNECT (second, f->url, TRUE);
  PSC_TEST_WAIT_FRAMES (second, 30, 20);
  gst_pad_remove_probe (sink, probe);
  g_test_message ("frames at most %.3f s ahead of the running time", ahead / 1e9);
  g_assert_cmpint (ahead, <, GST_SECOND);
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

  camera = psc_test_rtsp_camera_new (CLIP_FPS);
  long_gop_camera = psc_test_rtsp_camera_new (LONG_GOP);
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
  ADD ("/integration/source/rtsp-camera-passthrough", test_passthrough,
      "rtspsrc location=TARGET latency=0 ! rtph264depay", psc_test_rtsp_camera_get_url (camera));
  ADD ("/integration/source/rtsp-camera-passthrough-vp8", test_passthrough_vp8,
      "rtspsrc location=TARGET latency=0 ! rtph264depay", psc_test_rtsp_camera_get_url (camera));
  ADD ("/integration/source/rtsp-camera-passthrough-outage", test_passthrough_outage,
      "rtspsrc location=TARGET latency=0 ! rtph264depay", psc_test_rtsp_camera_get_url (camera));
  ADD ("/integration/source/rtsp-camera-long-gop", test_long_gop,
      "rtspsrc location=TARGET latency=0 ! rtph264depay",
      psc_test_rtsp_camera_get_url (long_gop_camera));
  /* A camera that encodes and honours a keyframe request (a UVC camera's H.264). */
  ADD ("/integration/source/encoding-camera-long-gop", test_long_gop,
      "videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! x264enc tune=zerolatency "
      "speed-preset=ultrafast key-int-max=TARGET ! video/x-h264,profile=constrained-baseline",
      G_STRINGIFY (LONG_GOP));
  ADD ("/integration/source/rtsp-camera-passthrough-release", test_passthrough_release,
      "rtspsrc location=TARGET latency=0 ! rtph264depay", psc_test_rtsp_camera_get_url (camera));
  ((PscTestFixtureData *) g_ptr_array_index (fixtures, fixtures->len - 1))->always_on = FALSE;
  ADD ("/integration/source/mp4-passthrough", test_file_passthrough,
      "filesrc location=TARGET ! qtdemux ! h264parse", mp4);
  ADD ("/integration/source/passthrough-profile", test_passthrough_profile,
      "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=15/1 ! "
      "x264enc tune=zerolatency speed-preset=superfast key-int-max=15 ! "
      "video/x-h264,profile=TARGET", "high");
#undef ADD

  status = g_test_run ();

  for (guint i = 0; i < fixtures->len; i++) {
    PscTestFixtureData *data = g_ptr_array_index (fixtures, i);
    g_free ((char *) data->source);
    g_free (data);
  }
  g_clear_pointer (&camera, psc_test_rtsp_camera_free);
  g_clear_pointer (&long_gop_camera, psc_test_rtsp_camera_free);
  g_unlink (mp4);
  g_unlink (mpg);
  g_rmdir (clip_dir);
  g_free (clip_dir);
  return status;
}
