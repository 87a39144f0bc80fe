/* periscope tests — the daemon's parts wired up on 127.0.0.1 for one integration test
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-test-fixture.h"

#include <gst/webrtc/webrtc.h>
#include "psc-encoder.h"
#include "psc-source.h"
#include "psc-tls.h"

#include <glib/gstdio.h>

const PscTestFixtureData psc_test_h264 = { .codec = "h264", .connect_timeout_s = 20 };
const PscTestFixtureData psc_test_one_seat = { .codec = "h264", .connect_timeout_s = 20,
  .max_viewers = 1 };
const PscTestFixtureData psc_test_ice_servers = { .codec = "h264", .connect_timeout_s = 20,
  .ice_servers = TRUE };
const PscTestFixtureData psc_test_short_source = { .codec = "h264", .connect_timeout_s = 20,
  .source_seconds = 3, .always_on = TRUE };

/* The daemon's configuration for @params, validated. */
static PscConfig *
config_new (const PscTestFixtureData *params)
{
  PscConfig *config = psc_config_new ();
  g_autoptr (GError) error = NULL;

  if (params->source_seconds > 0)
    /* The live test pattern runs at 30 fps. */
    config->source = g_strdup_printf (PSC_TEST_SOURCE " num-buffers=%u",
        params->source_seconds * psc_test_time_factor () * 30);
  else
    config->source = g_strdup (params->source ? params->source : PSC_TEST_SOURCE);
  if (params->max_viewers > 0)
    config->max_viewers = params->max_viewers;
  if (params->max_viewers_per_address > 0)
    config->max_viewers_per_address = params->max_viewers_per_address;
  config->always_on = params->always_on;
  config->loop = params->loop;
  if (params->allow_origin != NULL)
    config->allowed_origins = g_strsplit (params->allow_origin, " ", -1);
  if (params->allow_host != NULL)
    config->allowed_hosts = g_strsplit (params->allow_host, " ", -1);
  config->width = 320;
  config->height = 240;
  config->bitrate = params->bitrate > 0 ? params->bitrate : 500;
  g_assert_true (psc_codec_from_string (params->codec, &config->codec));
  config->codec_explicit = TRUE;
  g_assert_true (psc_config_validate (config, &error));
  g_assert_no_error (error);
  if (params->keyframe_interval > 0)
    config->keyframe_interval = params->keyframe_interval;
  if (params->ice_servers) {
    g_ptr_array_add (config->ice_servers, psc_ice_server_parse ("stun://127.0.0.1:3478", NULL));
    g_ptr_array_add (config->ice_servers,
        psc_ice_server_parse ("turn://periscope:s3cret@127.0.0.1:3478", NULL));
  }
  return config;
}

/* A started stream of id @id as the daemon builds it from @config. */
static PscStream *
stream_new (const PscConfig *config, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscSourceChoice) source = NULL;
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { NULL };
  PscStream *stream;
  PscCodec codec;

  source = psc_source_select (config, &error);
  g_assert_no_error (error);
  g_assert_true (psc_encoder_select_all (config, NULL, NULL, encoders, &codec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (codec, ==, config->codec);
  stream = psc_stream_new (id, source, encoders, codec, config, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    g_clear_pointer (&encoders[c], psc_encoder_choice_free);
  g_assert_true (psc_stream_start (stream, 10000 * psc_test_time_factor (), &error));
  g_assert_no_error (error);
  return stream;
}

/* The one place where the streams, the registry, the signalling, the WHEP endpoint and the
 * server are made and wired together: keep it that way, so a change to their constructors is
 * made once. */
/* A certificate made as --tls self-signed makes one, trusted as the default TLS database:
 * every SoupSession (the fixture's requests, the test client's WebSocket) checks the
 * server's certificate against it, and its names (127.0.0.1), as it would a CA's. */
static void
setup_tls (PscTestFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autofree char *cert_path = NULL;

  f->tls_dir = g_dir_make_tmp ("periscope-test-tls-XXXXXX", &error);
  g_assert_no_error (error);
  f->certificate = psc_tls_self_signed (f->tls_dir, "localhost", NULL, NULL, &error);
  g_assert_no_error (error);
  cert_path = g_build_filename (f->tls_dir, PSC_TLS_CERT_FILE, NULL);
  database = g_tls_file_database_new (cert_path, &error);
  g_assert_no_error (error);
  g_tls_backend_set_default_database (g_tls_backend_get_default (), database);
  psc_server_set_tls_certificate (f->server, f->certificate);
}

static void
teardown_tls (PscTestFixture *f)
{
  const char *names[] = { PSC_TLS_CERT_FILE, PSC_TLS_KEY_FILE };

  g_tls_backend_set_default_database (g_tls_backend_get_default (), NULL);
  g_clear_object (&f->certificate);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = g_build_filename (f->tls_dir, names[i], NULL);
    g_unlink (path);
  }
  g_rmdir (f->tls_dir);
  g_clear_pointer (&f->tls_dir, g_free);
}

void
psc_test_fixture_setup (PscTestFixture *f, gconstpointer data)
{
  const PscTestFixtureData *params = data;
  g_autoptr (GError) error = NULL;
  char *ice_addresses[] = { (char *) "127.0.0.1", NULL };
  PscViewerOptions options;

  f->config = config_new (params);
  options = (PscViewerOptions) {
    .ice = {
      .addresses = ice_addresses,
      .servers = f->config->ice_servers->len > 0 ? f->config->ice_servers : NULL,
    },
    .connect_timeout_s = params->connect_timeout_s * psc_test_time_factor (),
  };

  f->stream = stream_new (f->config, f->config->stream_id);
  f->registry = psc_registry_new (f->config->max_viewers);
  psc_registry_set_max_per_address (f->registry, f->config->max_viewers_per_address);
  psc_registry_add_stream (f->registry, f->stream);
  f->signalling = psc_signalling_new (f->registry, &options);
  f->whep = psc_whep_new (f->registry, &options);
  f->server = psc_server_new (f->registry, f->signalling, f->whep);
  psc_server_set_origin_policy (f->server, psc_origin_policy_new (
          (const char *const *) f->config->allowed_origins,
          (const char *const *) f->config->allowed_hosts, NULL));
  /* Added after the rest exists, as a camera plugged in later would be. */
  if (params->second_stream != NULL) {
    f->second_stream = stream_new (f->config, params->second_stream);
    psc_registry_add_stream (f->registry, f->second_stream);
  }
  if (params->tls)
    setup_tls (f);
  g_assert_true (psc_server_listen (f->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->url = g_strdup_printf ("%s://127.0.0.1:%u/ws/%s", f->certificate ? "wss" : "ws",
      psc_server_get_port (f->server), f->config->stream_id);
}

static gboolean
no_viewers (gpointer data)
{
  return psc_registry_count_viewers (data) == 0;
}

void
psc_test_fixture_teardown (PscTestFixture *f, gconstpointer data)
{
  /* A failed wait marks the test failed and teardown goes on: the next test needs the
   * port, the capture and the main context back. */
  psc_signalling_shutdown (f->signalling);
  psc_whep_close_all (f->whep);
  psc_test_iterate_until (no_viewers, f->registry, 10, "every viewer to be detached");
  psc_test_iterate_until (psc_test_no_webrtcbin, f->stream, 10, "every branch to be removed");
  if (f->second_stream != NULL)
    psc_test_iterate_until (psc_test_no_webrtcbin, f->second_stream, 10,
        "every branch of the second stream to be removed");
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&f->server);
  g_clear_object (&f->whep);
  g_clear_object (&f->signalling);
  g_clear_object (&f->registry);
  psc_stream_stop (f->stream);
  g_clear_object (&f->stream);
  if (f->second_stream != NULL)
    psc_stream_stop (f->second_stream);
  g_clear_object (&f->second_stream);
  g_free (f->url);
  if (f->tls_dir != NULL)
    teardown_tls (f);
  psc_config_free (f->config);
}

guint
psc_test_count_elements (GstElement *pipeline, const char *factory)
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

gboolean
psc_test_no_webrtcbin (gpointer stream)
{
  return psc_test_count_elements (psc_stream_get_pipeline (stream), "webrtcbin") == 0;
}

gboolean
psc_test_one_webrtcbin (gpointer stream)
{
  return psc_test_count_elements (psc_stream_get_pipeline (stream), "webrtcbin") == 1;
}

GstPad *
psc_test_first_element_pad (GstElement *pipeline, const char *factory, const char *name)
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

static gpointer *
watch (GstElement *element)
{
  gpointer *weak = g_new0 (gpointer, 1);

  g_assert_nonnull (element);
  *weak = element;
  g_object_add_weak_pointer (G_OBJECT (element), weak);
  return weak;
}

gpointer *
psc_test_watch_element (GstElement *pipeline, const char *name)
{
  g_autoptr (GstElement) element = gst_bin_get_by_name (GST_BIN (pipeline), name);
  return watch (element);
}

/* "viewer-SERIAL-PEER" (psc-viewer.c build_branch()). */
static gint
branch_of_peer (gconstpointer element, gconstpointer peer_id)
{
  const char *name = GST_OBJECT_NAME (element);
  char *end = NULL;

  if (!g_str_has_prefix (name, "viewer-"))
    return 1;
  g_ascii_strtoull (name + strlen ("viewer-"), &end, 10);
  return end != name + strlen ("viewer-") && end[0] == '-' ? strcmp (end + 1, peer_id) : 1;
}

GstElement *
psc_test_find_branch (GstElement *pipeline, const char *peer_id)
{
  GstElement *branch;
  GList *found;

  GST_OBJECT_LOCK (pipeline);
  found = g_list_find_custom (GST_BIN_CHILDREN (pipeline), peer_id, branch_of_peer);
  branch = found ? gst_object_ref (found->data) : NULL;
  GST_OBJECT_UNLOCK (pipeline);
  return branch;
}

gpointer *
psc_test_watch_branch (GstElement *pipeline, const char *peer_id)
{
  g_autoptr (GstElement) branch = psc_test_find_branch (pipeline, peer_id);
  return watch (branch);
}

gboolean
psc_test_finalized (gpointer weak)
{
  return *(gpointer *) weak == NULL;
}

static void
on_stream_error (PscStream *stream, GError *error, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

void
psc_test_flag_on_stream_error (PscStream *stream, gboolean *flag)
{
  g_signal_connect (stream, "error", G_CALLBACK (on_stream_error), flag);
}

static void
on_stream_state (PscStream *stream, guint state, const char *reason, gpointer user_data)
{
  if (state == PSC_STREAM_OFFLINE)
    *(gboolean *) user_data = TRUE;
}

void
psc_test_flag_on_stream_offline (PscStream *stream, gboolean *flag)
{
  g_signal_connect (stream, "state-changed", G_CALLBACK (on_stream_state), flag);
}

gboolean
psc_test_stream_offline (gpointer stream)
{
  return psc_stream_get_state (stream) == PSC_STREAM_OFFLINE;
}

gboolean
psc_test_stream_live (gpointer stream)
{
  return psc_stream_get_state (stream) == PSC_STREAM_LIVE;
}

void
psc_test_remove_dir (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

struct _PscTestPace
{
  GstPad *pad;
  gulong probe;
  GMutex lock;
  GArray *arrivals;             /* gint64 µs, monotonic */
  GArray *lateness;             /* gint64 µs, or G_MININT64 where unknown */
};

/* How late a frame may be after the least late of them and still count as on time for
 * psc_test_pace_on_time_median_gap_ms(). */
#define PACE_ON_TIME_US (100 * G_TIME_SPAN_MILLISECOND)

/* How long after its running time @buffer reaches @pad, on the pipeline's clock (negative:
 * early), in µs; G_MININT64 if it has no time or the pad no segment or clock yet. */
static gint64
buffer_lateness (GstPad *pad, GstBuffer *buffer)
{
  GstElement *element = GST_ELEMENT (GST_PAD_PARENT (pad));
  g_autoptr (GstEvent) event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  g_autoptr (GstClock) clock = element ? gst_element_get_clock (element) : NULL;
  const GstSegment *segment;
  guint64 running;
  int sign;

  if (event == NULL || clock == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return G_MININT64;
  gst_event_parse_segment (event, &segment);
  sign = gst_segment_to_running_time_full (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer),
      &running);
  if (sign == 0)
    return G_MININT64;
  return ((gint64) (gst_clock_get_time (clock) - gst_element_get_base_time (element)) -
      (sign > 0 ? (gint64) running : -(gint64) running)) / GST_USECOND;
}

/* Streaming thread. */
static GstPadProbeReturn
on_paced_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PscTestPace *pace = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 late = buffer_lateness (pad, GST_PAD_PROBE_INFO_BUFFER (info));

  g_mutex_lock (&pace->lock);
  g_array_append_val (pace->arrivals, now);
  g_array_append_val (pace->lateness, late);
  g_mutex_unlock (&pace->lock);
  return GST_PAD_PROBE_OK;
}

PscTestPace *
psc_test_pace_new (PscStream *stream)
{
  GstElement *pipeline = psc_stream_get_pipeline (stream);
  g_autoptr (GstElement) tee = gst_bin_get_by_name (GST_BIN (pipeline), "h264-tee");
  PscTestPace *pace = g_new0 (PscTestPace, 1);

  if (tee == NULL)
    tee = gst_bin_get_by_name (GST_BIN (pipeline), "raw-tee");
  g_assert_nonnull (tee);
  g_mutex_init (&pace->lock);
  pace->arrivals = g_array_new (FALSE, FALSE, sizeof (gint64));
  pace->lateness = g_array_new (FALSE, FALSE, sizeof (gint64));
  pace->pad = gst_element_get_static_pad (tee, "sink");
  pace->probe = gst_pad_add_probe (pace->pad, GST_PAD_PROBE_TYPE_BUFFER, on_paced_frame, pace,
      NULL);
  return pace;
}

static gint
compare_gaps (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* The median gap, in ms, between consecutive frames; with @on_time, only between two frames
 * that each came no more than PACE_ON_TIME_US after the least late one. */
static double
median_gap_ms (PscTestPace *pace, gboolean on_time)
{
  g_autoptr (GArray) gaps = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 least = G_MAXINT64;
  guint late = 0;
  double median;

  g_mutex_lock (&pace->lock);
  for (guint i = 0; on_time && i < pace->lateness->len; i++) {
    gint64 lateness = g_array_index (pace->lateness, gint64, i);
    if (lateness != G_MININT64)
      least = MIN (least, lateness);
  }
  /* Each frame's lateness is known once the capture runs: its tee has a segment and a
   * clock. */
  g_assert_true (!on_time || least != G_MAXINT64);
  for (guint i = 1; i < pace->arrivals->len; i++) {
    gint64 gap = g_array_index (pace->arrivals, gint64, i) -
        g_array_index (pace->arrivals, gint64, i - 1);

    if (on_time && (g_array_index (pace->lateness, gint64, i) > least + PACE_ON_TIME_US ||
            g_array_index (pace->lateness, gint64, i - 1) > least + PACE_ON_TIME_US)) {
      late++;
      continue;
    }
    g_array_append_val (gaps, gap);
  }
  g_mutex_unlock (&pace->lock);
  if (on_time)
    g_test_message ("%u gaps between frames on time (least late %.1f ms), %u left out",
        gaps->len, least / 1000.0, late);
  g_assert_cmpuint (gaps->len, >=, 9);
  g_array_sort (gaps, compare_gaps);
  median = gaps->len % 2 ? g_array_index (gaps, gint64, gaps->len / 2) :
      (g_array_index (gaps, gint64, gaps->len / 2 - 1) +
       g_array_index (gaps, gint64, gaps->len / 2)) / 2.0;
  return median / 1000.0;
}

double
psc_test_pace_median_gap_ms (PscTestPace *pace)
{
  return median_gap_ms (pace, FALSE);
}

double
psc_test_pace_on_time_median_gap_ms (PscTestPace *pace)
{
  return median_gap_ms (pace, TRUE);
}

guint
psc_test_pace_count (PscTestPace *pace)
{
  guint count;

  g_mutex_lock (&pace->lock);
  count = pace->arrivals->len;
  g_mutex_unlock (&pace->lock);
  return count;
}

double
psc_test_pace_late_rate_fps (PscTestPace *pace)
{
  gint64 first, last;
  guint count;

  g_mutex_lock (&pace->lock);
  count = pace->arrivals->len;
  g_assert_cmpuint (count, >=, 10);
  first = g_array_index (pace->arrivals, gint64, count / 2);
  last = g_array_index (pace->arrivals, gint64, count - 1);
  g_mutex_unlock (&pace->lock);
  return (count - 1 - count / 2) * (double) G_USEC_PER_SEC / MAX (last - first, 1);
}

void
psc_test_pace_free (PscTestPace *pace)
{
  gst_pad_remove_probe (pace->pad, pace->probe);
  gst_object_unref (pace->pad);
  g_array_unref (pace->arrivals);
  g_array_unref (pace->lateness);
  g_mutex_clear (&pace->lock);
  g_free (pace);
}

gboolean
psc_test_attempts_reached (gpointer wait)
{
  PscTestAttemptWait *attempt_wait = wait;
  PscStreamStats stats;

  psc_stream_get_stats (attempt_wait->stream, &stats);
  return stats.source_attempts >= attempt_wait->attempts;
}

void
psc_test_record_clip (const char *path, const char *mux, guint frames, guint fps)
{
  g_autofree char *description = g_strdup_printf (
      "videotestsrc num-buffers=%u pattern=ball ! "
      "video/x-raw,width=320,height=240,framerate=%u/1 ! "
      "x264enc speed-preset=ultrafast key-int-max=%u ! "
      "video/x-h264,profile=constrained-baseline ! h264parse ! %s ! filesink location=%s "
      "audiotestsrc num-buffers=%u samplesperbuffer=%u ! audio/x-raw,rate=44100 ! "
      "lamemp3enc ! mpegaudioparse ! mux.",
      frames, fps, fps, mux, path, frames, 44100 / fps);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) message = NULL;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

gboolean
psc_test_flag_set (gpointer flag)
{
  return *(gboolean *) flag;
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

char *
psc_test_http_request (PscTestFixture *f, const char *method, const char *path,
    const char *content_type, const char *body, const char *header, const char *value,
    guint *status, SoupMessageHeaders **response_headers)
{
  const char *headers[] = { header, value, NULL };

  return psc_test_http_request_full (f, method, path, content_type, body,
      header != NULL ? headers : NULL, status, response_headers);
}

char *
psc_test_http_request_full (PscTestFixture *f, const char *method, const char *path,
    const char *content_type, const char *body, const char *const *headers, guint *status,
    SoupMessageHeaders **response_headers)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *url = g_strdup_printf ("%s://127.0.0.1:%u%s",
      f->certificate != NULL ? "https" : "http", psc_server_get_port (f->server), path);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  HttpResult r = { 0 };
  gsize size;
  const char *data;
  char *text;

  *status = 0;
  if (response_headers != NULL)
    *response_headers = NULL;
  /* A redirect is an answer to check (the page's to /login), not one to follow. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (body != NULL) {
    g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
    soup_message_set_request_body_from_bytes (msg, content_type, bytes);
  }
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
        headers[i + 1]);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, cancellable,
      on_http_done, &r);
  if (!psc_test_iterate_until (http_done, &r, 10, url)) {
    /* on_http_done still gets @r, on this stack: let it come, cancelled. */
    g_cancellable_cancel (cancellable);
    while (!r.done)
      g_main_context_iteration (NULL, TRUE);
  } else if (r.error != NULL) {
    g_test_fail_printf ("%s %s: %s", method, url, r.error->message);
  }
  if (r.body == NULL) {
    g_clear_error (&r.error);
    return NULL;
  }
  *status = soup_message_get_status (msg);
  if (response_headers != NULL)
    *response_headers = g_boxed_copy (SOUP_TYPE_MESSAGE_HEADERS,
        soup_message_get_response_headers (msg));
  data = g_bytes_get_data (r.body, &size);
  /* An empty body (a redirect's) is "", not the NULL of no answer. */
  text = size > 0 ? g_strndup (data, size) : g_strdup ("");
  g_bytes_unref (r.body);
  return text;
}

char *
psc_test_http_get (PscTestFixture *f, const char *path, guint *status, char **content_type)
{
  g_autoptr (SoupMessageHeaders) headers = NULL;
  char *body = psc_test_http_request (f, "GET", path, NULL, NULL, NULL, NULL, status,
      &headers);

  if (content_type != NULL)
    *content_type = headers != NULL ?
        g_strdup (soup_message_headers_get_content_type (headers, NULL)) : NULL;
  return body;
}

JsonNode *
psc_test_parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  if (node == NULL)
    g_test_fail_printf ("not JSON (%s): %.200s", error != NULL ? error->message : "empty",
        text);
  return node;
}

/* A WHEP client's offer, made by a webrtcbin of our own: one recvonly video m-line for
 * @caps (application/x-rtp…). No ICE gathering happens (no local description is set). */
char *
psc_test_whep_offer (const char *caps)
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

typedef struct {
  gboolean done;
  SoupWebsocketConnection *connection;
} Handshake;

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *handshake = user_data;

  handshake->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source),
      result, NULL);
  handshake->done = TRUE;
}

static gboolean
handshake_done (gpointer data)
{
  return ((Handshake *) data)->done;
}

guint
psc_test_websocket_handshake (PscTestFixture *f, const char *origin, const char *header,
    const char *value, SoupWebsocketConnection **connection)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/ws/camera",
      psc_server_get_port (f->server));
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  Handshake handshake = { 0 };

  if (header != NULL)
    soup_message_headers_append (soup_message_get_request_headers (msg), header, value);
  soup_session_websocket_connect_async (session, msg, origin, NULL, G_PRIORITY_DEFAULT, NULL,
      on_handshake, &handshake);
  if (!psc_test_iterate_until (handshake_done, &handshake, 10, "the WebSocket handshake"))
    return 0;
  if (handshake.connection != NULL) {
    if (connection != NULL) {
      *connection = handshake.connection;
    } else {
      soup_websocket_connection_close (handshake.connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (handshake.connection);
    }
  }
  return soup_message_get_status (msg);
}

char *
psc_test_expect_status (PscTestFixture *f, const char *method, const char *path,
    const char *content_type, const char *body, const char *header, const char *value,
    guint expected, const char *fragment, SoupMessageHeaders **response_headers)
{
  guint status;
  char *text = psc_test_http_request (f, method, path, content_type, body, header, value,
      &status, response_headers);

  if (text == NULL)
    return NULL;
  g_test_message ("%s %s -> %u %s", method, path, status, text);
  g_assert_cmpuint (status, ==, expected);
  if (fragment != NULL)
    g_assert_nonnull (strstr (text, fragment));
  return text;
}

void
psc_test_flags_init (PscTestFlags *flags)
{
  g_mutex_init (&flags->lock);
  g_cond_init (&flags->cond);
}

void
psc_test_flags_clear (PscTestFlags *flags)
{
  g_mutex_clear (&flags->lock);
  g_cond_clear (&flags->cond);
}

void
psc_test_flags_raise (PscTestFlags *flags, gboolean *flag)
{
  g_mutex_lock (&flags->lock);
  *flag = TRUE;
  g_cond_broadcast (&flags->cond);
  g_mutex_unlock (&flags->lock);
}

gboolean
psc_test_flags_get (PscTestFlags *flags, gboolean *flag)
{
  gboolean set;

  g_mutex_lock (&flags->lock);
  set = *flag;
  g_mutex_unlock (&flags->lock);
  return set;
}

gboolean
psc_test_flags_wait (PscTestFlags *flags, gboolean *flag, gboolean *other, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean set;

  g_mutex_lock (&flags->lock);
  while (!*flag && (other == NULL || !*other) &&
      g_cond_wait_until (&flags->cond, &flags->lock, end))
    ;
  set = *flag || (other != NULL && *other);
  g_mutex_unlock (&flags->lock);
  return set;
}

void
psc_test_raw_client_free (PscTestRawClient *client)
{
  g_clear_object (&client->connection);
  g_string_free (client->received, TRUE);
  g_free (client);
}

PscTestRawClient *
psc_test_raw_client_new (PscTestFixture *f, const char *request)
{
  return psc_test_raw_client_new_from (f, NULL, request);
}

PscTestRawClient *
psc_test_raw_client_new_from (PscTestFixture *f, const char *source, const char *request)
{
  g_autoptr (GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  PscTestRawClient *client = g_new0 (PscTestRawClient, 1);

  client->received = g_string_new (NULL);
  if (source != NULL) {
    g_autoptr (GSocketAddress) local = g_inet_socket_address_new_from_string (source, 0);

    g_assert_nonnull (local);
    g_socket_client_set_local_address (socket_client, local);
  }
  client->connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1",
      psc_server_get_port (f->server), NULL, &error);
  g_assert_no_error (error);
  if (request != NULL) {
    g_socket_send_with_blocking (g_socket_connection_get_socket (client->connection), request,
        strlen (request), TRUE, NULL, &error);
    g_assert_no_error (error);
  }
  return client;
}

gboolean
psc_test_raw_client_closed (gpointer data)
{
  PscTestRawClient *client = data;
  GSocket *socket = g_socket_connection_get_socket (client->connection);
  char buffer[4096];
  gssize n;

  while (!client->closed) {
    g_autoptr (GError) error = NULL;

    n = g_socket_receive_with_blocking (socket, buffer, sizeof (buffer), FALSE, NULL, &error);
    if (n > 0)
      g_string_append_len (client->received, buffer, n);
    else if (n == 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      client->closed = TRUE;
    else
      break;
  }
  return client->closed;
}

gboolean
psc_test_raw_client_answered (gpointer data)
{
  PscTestRawClient *client = data;

  return psc_test_raw_client_closed (client) ||
      strstr (client->received->str, "\r\n\r\n") != NULL;
}

void
psc_test_stats_since_init (PscTestStatsSince *since, PscStream *stream, PscTestStatsCheck check)
{
  since->stream = stream;
  since->check = check;
  psc_stream_get_stats (stream, &since->before);
}

gboolean
psc_test_stats_moved (gpointer data)
{
  PscTestStatsSince *since = data;
  PscStreamStats now;

  psc_stream_get_stats (since->stream, &now);
  return since->check (&since->before, &now);
}
