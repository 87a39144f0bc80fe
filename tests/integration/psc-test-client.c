/* periscope tests — a viewer built on webrtcbin, talking to the daemon over its WebSocket
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-test-client.h"
#include "psc-defer.h"

#include <agent.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>

struct _PscTestClient {
  SoupSession *session;
  GCancellable *cancellable;    /* the connection attempt */
  SoupWebsocketConnection *connection;
  GError *connect_error;
  gboolean closed;
  gushort close_code;
  gboolean auto_answer;
  GQueue messages;              /* PscMessage*, received, not yet taken */
  char *peer_id;
  char *camera_id;

  GstElement *pipeline;
  GstElement *webrtc;
  gint frames;                  /* atomic: counted on a streaming thread */
  gint luma;                    /* atomic: the last frame's mean luma, 0-255; -1: none yet */
  GMainContext *context;
  GMutex data_lock;
  GstWebRTCDataChannel *data_channel; /* data_lock: the camera's "chat" channel, once offered */
  GQueue data_texts;            /* data_lock: char*, received on it, not yet taken */
};

/* PSC_TEST_TIME_FACTOR stretches every wait (meson test --setup valgrind sets it). */
guint
psc_test_time_factor (void)
{
  const char *factor = g_getenv ("PSC_TEST_TIME_FACTOR");
  guint64 value = factor ? g_ascii_strtoull (factor, NULL, 10) : 1;
  return value >= 1 && value <= 100 ? (guint) value : 1;
}

/* How often a wait looks at its condition when nothing on the main context happens: what it
 * waits for is often changed by a streaming thread (decoded frames, a branch finalized, the
 * stream's statistics), which does not wake the main context. */
#define RECHECK_MS 10

static gboolean
on_watchdog (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_recheck (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Blocks in the context with a watchdog that wakes it, as WirePlumber's base test fixture
 * and libsoup's test utilities do, rather than polling; and fails the test instead of
 * aborting the program, so the other tests still run. */
gboolean
psc_test_iterate_until (gboolean (*done) (gpointer), gpointer data, guint timeout_s,
    const char *what)
{
  g_autoptr (GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr (GSource) watchdog = g_timeout_source_new_seconds (timeout_s *
      psc_test_time_factor ());
  g_autoptr (GSource) recheck = g_timeout_source_new (RECHECK_MS);
  gboolean expired = FALSE;
  gboolean reached;

  g_source_set_callback (watchdog, on_watchdog, &expired, NULL);
  g_source_attach (watchdog, context);
  g_source_set_callback (recheck, on_recheck, NULL, NULL);
  g_source_attach (recheck, context);
  while (!(reached = done (data)) && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (watchdog);
  g_source_destroy (recheck);
  if (!reached)
    g_test_fail_printf ("timed out after %u s waiting for %s", timeout_s, what);
  return reached;
}

/* Main context. */
static gboolean
report_failure (gpointer user_data)
{
  g_test_fail_printf ("%s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

/* Any thread: fails the test from the main context (GTest's state is not thread-safe); the
 * test's next wait runs into its timeout and ends it. */
static void
fail_from_any_thread (PscTestClient *client, char *message)
{
  psc_defer (client->context, report_failure, message, g_free);
}

static void
send_message (PscTestClient *client, PscMessage *message)
{
  g_autofree char *json = psc_message_to_json (message);
  psc_test_client_send (client, json);
}

void
psc_test_client_send (PscTestClient *client, const char *text)
{
  /* The server may have closed it: that fails the test, and the reply it waits for next
   * never comes. */
  if (soup_websocket_connection_get_state (client->connection) != SOUP_WEBSOCKET_STATE_OPEN) {
    g_test_fail_printf ("cannot send %.60s: the WebSocket is closed (code %u)", text,
        soup_websocket_connection_get_close_code (client->connection));
    return;
  }
  soup_websocket_connection_send_text (client->connection, text);
}

/* ---- webrtcbin side; its callbacks come on its threads ---- */

typedef struct {
  PscTestClient *client;
  PscMessage *message;
} Outgoing;

/* Main context. */
static gboolean
send_outgoing (gpointer user_data)
{
  Outgoing *out = user_data;

  out->message->target_peer_id = g_strdup (out->client->camera_id);
  if (out->client->connection != NULL &&
      soup_websocket_connection_get_state (out->client->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    send_message (out->client, out->message);
  psc_message_free (out->message);
  g_free (out);
  return G_SOURCE_REMOVE;
}

/* Any thread: sends @message (taken) to the camera from the main context. */
static void
send_to_camera (PscTestClient *client, PscMessage *message)
{
  Outgoing *out = g_new0 (Outgoing, 1);

  out->client = client;
  out->message = message;
  psc_defer (client->context, send_outgoing, out, NULL);
}

static void
on_ice_candidate (GstElement *webrtc, guint mline, char *candidate, gpointer user_data)
{
  PscMessage *message = psc_message_new (PSC_MESSAGE_ICE_CANDIDATE);

  message->candidate = g_strdup (candidate);
  message->sdp_mline_index = mline;
  send_to_camera (user_data, message);
}

/* Streaming thread: the mean of the luma plane of @buffer, one sample in 8 each way (enough
 * to tell a black picture from a bright one); -1 if it is not YUV. */
static int
mean_luma (GstBuffer *buffer, GstPad *pad)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  GstVideoInfo info;
  GstVideoFrame frame;
  guint64 sum = 0, samples = 0;

  if (caps == NULL || !gst_video_info_from_caps (&info, caps) || !GST_VIDEO_INFO_IS_YUV (&info)
      || !gst_video_frame_map (&frame, &info, buffer, GST_MAP_READ))
    return -1;
  for (int y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&frame, 0); y += 8) {
    const guint8 *row = (const guint8 *) GST_VIDEO_FRAME_COMP_DATA (&frame, 0) +
        y * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0);
    for (int x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH (&frame, 0); x += 8) {
      sum += row[x * GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 0)];
      samples++;
    }
  }
  gst_video_frame_unmap (&frame);
  return samples > 0 ? (int) (sum / samples) : -1;
}

static void
on_handoff (GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer user_data)
{
  PscTestClient *client = user_data;

  g_atomic_int_set (&client->luma, mean_luma (buffer, pad));
  g_atomic_int_inc (&client->frames);
}

static void
on_decoded_pad (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  PscTestClient *client = user_data;
  GstElement *sink;
  g_autoptr (GstPad) sink_pad = NULL;

  sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, "signal-handoffs", TRUE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), client);
  gst_bin_add (GST_BIN (client->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  g_assert_cmpint (gst_pad_link (pad, sink_pad), ==, GST_PAD_LINK_OK);
}

static void
on_incoming_stream (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  PscTestClient *client = user_data;
  GstElement *decodebin;
  g_autoptr (GstPad) sink_pad = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  decodebin = gst_element_factory_make ("decodebin", NULL);
  g_signal_connect (decodebin, "pad-added", G_CALLBACK (on_decoded_pad), client);
  gst_bin_add (GST_BIN (client->pipeline), decodebin);
  gst_element_sync_state_with_parent (decodebin);
  sink_pad = gst_element_get_static_pad (decodebin, "sink");
  g_assert_cmpint (gst_pad_link (pad, sink_pad), ==, GST_PAD_LINK_OK);
}

/* webrtcbin's SCTP thread. */
static void
on_data_text (GstWebRTCDataChannel *channel, const char *text, gpointer user_data)
{
  PscTestClient *client = user_data;

  g_mutex_lock (&client->data_lock);
  g_queue_push_tail (&client->data_texts, g_strdup (text));
  g_mutex_unlock (&client->data_lock);
}

/* webrtcbin's thread: the camera's data channel. */
static void
on_data_channel (GstElement *webrtc, GstWebRTCDataChannel *channel, gpointer user_data)
{
  PscTestClient *client = user_data;

  g_signal_connect (channel, "on-message-string", G_CALLBACK (on_data_text), client);
  g_mutex_lock (&client->data_lock);
  g_set_object (&client->data_channel, channel);
  g_mutex_unlock (&client->data_lock);
}

static void
build_pipeline (PscTestClient *client)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  NiceAddress loopback;

  client->pipeline = gst_pipeline_new (NULL);
  client->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  gst_util_set_object_arg (G_OBJECT (client->webrtc), "bundle-policy", "max-bundle");
  gst_bin_add (GST_BIN (client->pipeline), client->webrtc);

  /* No UPnP, and candidates on loopback only: no packet leaves the machine. */
  g_object_get (client->webrtc, "ice-agent", &ice, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  g_object_set (agent, "upnp", FALSE, NULL);
  nice_address_init (&loopback);
  g_assert_true (nice_address_set_from_string (&loopback, "127.0.0.1"));
  nice_agent_add_local_address (NICE_AGENT (agent), &loopback);

  g_signal_connect (client->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), client);
  g_signal_connect (client->webrtc, "pad-added", G_CALLBACK (on_incoming_stream), client);
  g_signal_connect (client->webrtc, "on-data-channel", G_CALLBACK (on_data_channel), client);
  g_assert_cmpint (gst_element_set_state (client->pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
}

static void
on_answer_created (GstPromise *promise, gpointer user_data)
{
  PscTestClient *client = user_data;
  GstWebRTCSessionDescription *answer = NULL;
  const GstStructure *reply;
  PscMessage *message;

  /* webrtcbin refuses to answer an offer it cannot take: the server's fault, not ours. */
  reply = gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED ?
      gst_promise_get_reply (promise) : NULL;
  if (reply != NULL)
    gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  if (answer == NULL) {
    g_autofree char *why = reply != NULL ? gst_structure_to_string (reply) : NULL;

    fail_from_any_thread (client, g_strdup_printf ("webrtcbin made no answer to the offer: %s",
            why != NULL ? why : "no reply"));
    gst_promise_unref (promise);
    return;
  }
  gst_promise_unref (promise);
  g_signal_emit_by_name (client->webrtc, "set-local-description", answer, NULL);

  message = psc_message_new (PSC_MESSAGE_ANSWER);
  message->sdp = gst_sdp_message_as_text (answer->sdp);
  gst_webrtc_session_description_free (answer);
  send_to_camera (client, message);
}

static void
on_offer_set (GstPromise *promise, gpointer user_data)
{
  PscTestClient *client = user_data;

  gst_promise_unref (promise);
  promise = gst_promise_new_with_change_func (on_answer_created, client, NULL);
  g_signal_emit_by_name (client->webrtc, "create-answer", NULL, promise);
}

void
psc_test_client_answer (PscTestClient *client, const PscMessage *offer)
{
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *description;
  GstPromise *promise;

  g_assert_cmpint (offer->type, ==, PSC_MESSAGE_OFFER);
  g_free (client->camera_id);
  client->camera_id = g_strdup (offer->from_peer_id);
  if (client->pipeline == NULL)
    build_pipeline (client);
  if (gst_sdp_message_new_from_text (offer->sdp, &sdp) != GST_SDP_OK) {
    g_test_fail_printf ("the offer's SDP does not parse: %.200s", offer->sdp);
    g_clear_pointer (&sdp, gst_sdp_message_free);
    return;
  }
  description = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  promise = gst_promise_new_with_change_func (on_offer_set, client, NULL);
  g_signal_emit_by_name (client->webrtc, "set-remote-description", description, promise);
  gst_webrtc_session_description_free (description);
}

/* ---- WebSocket side: main context ---- */

static void
on_message (SoupWebsocketConnection *connection, int type, GBytes *bytes, gpointer user_data)
{
  PscTestClient *client = user_data;
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  PscMessage *message = psc_message_parse (data, length, &error);

  if (message == NULL) {
    g_test_fail_printf ("the server sent what does not parse (%s): %.*s", error->message,
        (int) MIN (length, 200), data);
    return;
  }
  switch (message->type) {
    case PSC_MESSAGE_EXISTING_PEERS:
      g_free (client->peer_id);
      client->peer_id = g_strdup (message->peer_id);
      break;
    case PSC_MESSAGE_OFFER:
      if (client->auto_answer)
        psc_test_client_answer (client, message);
      break;
    case PSC_MESSAGE_ICE_CANDIDATE:
      if (client->webrtc != NULL && message->candidate[0] != '\0')
        g_signal_emit_by_name (client->webrtc, "add-ice-candidate", message->sdp_mline_index,
            message->candidate);
      break;
    default:
      break;
  }
  g_queue_push_tail (&client->messages, message);
}

static void
on_closed (SoupWebsocketConnection *connection, gpointer user_data)
{
  PscTestClient *client = user_data;

  client->closed = TRUE;
  client->close_code = soup_websocket_connection_get_close_code (connection);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PscTestClient *client = user_data;

  client->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
      &client->connect_error);
  g_clear_object (&client->cancellable);
  if (client->connection != NULL) {
    g_signal_connect (client->connection, "message", G_CALLBACK (on_message), client);
    g_signal_connect (client->connection, "closed", G_CALLBACK (on_closed), client);
  }
}

static gboolean
connect_done (gpointer data)
{
  PscTestClient *client = data;
  return client->cancellable == NULL;
}

PscTestClient *
psc_test_client_new (const char *url, gboolean auto_answer)
{
  PscTestClient *client = g_new0 (PscTestClient, 1);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  client->auto_answer = auto_answer;
  client->context = g_main_context_ref_thread_default ();
  g_queue_init (&client->messages);
  g_mutex_init (&client->data_lock);
  g_queue_init (&client->data_texts);
  client->luma = -1;
  client->session = soup_session_new ();
  client->cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (client->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
      client->cancellable, on_connected, client);
  if (!psc_test_iterate_until (connect_done, client, 10, "the WebSocket to connect")) {
    /* on_connected still gets @client: let it come, cancelled, before @client goes. */
    g_cancellable_cancel (client->cancellable);
    while (!connect_done (client))
      g_main_context_iteration (NULL, TRUE);
  } else if (client->connect_error != NULL) {
    g_test_fail_printf ("could not connect to %s: %s", url, client->connect_error->message);
  }
  if (client->connection == NULL) {
    psc_test_client_free (client);
    return NULL;
  }
  return client;
}

void
psc_test_client_free (PscTestClient *client)
{
  if (client == NULL)
    return;
  if (client->connection != NULL) {
    g_signal_handlers_disconnect_by_data (client->connection, client);
    if (soup_websocket_connection_get_state (client->connection) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (client->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref (client->connection);
  }
  if (client->data_channel != NULL)
    g_signal_handlers_disconnect_by_data (client->data_channel, client);
  if (client->pipeline != NULL) {
    g_signal_handlers_disconnect_by_data (client->webrtc, client);
    gst_element_set_state (client->pipeline, GST_STATE_NULL);
    gst_object_unref (client->pipeline);
  }
  /* Let the close frame and the invoked callbacks run before the client goes. */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_queue_clear_full (&client->messages, (GDestroyNotify) psc_message_free);
  g_clear_error (&client->connect_error);
  g_object_unref (client->session);
  g_main_context_unref (client->context);
  g_free (client->peer_id);
  g_free (client->camera_id);
  g_clear_object (&client->data_channel);
  g_queue_clear_full (&client->data_texts, g_free);
  g_mutex_clear (&client->data_lock);
  g_free (client);
}

static gboolean
data_channel_open (gpointer data)
{
  PscTestClient *client = data;
  GstWebRTCDataChannelState state = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;

  g_mutex_lock (&client->data_lock);
  if (client->data_channel != NULL)
    g_object_get (client->data_channel, "ready-state", &state, NULL);
  g_mutex_unlock (&client->data_lock);
  return state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
}

gboolean
psc_test_client_wait_data_channel (PscTestClient *client, guint timeout_s)
{
  return psc_test_iterate_until (data_channel_open, client, timeout_s,
      "the camera's chat data channel to open");
}

void
psc_test_client_send_data (PscTestClient *client, const char *text)
{
  g_mutex_lock (&client->data_lock);
  g_assert_nonnull (client->data_channel);
  gst_webrtc_data_channel_send_string (client->data_channel, text);
  g_mutex_unlock (&client->data_lock);
}

static gboolean
has_data_text (gpointer data)
{
  PscTestClient *client = data;
  gboolean has;

  g_mutex_lock (&client->data_lock);
  has = !g_queue_is_empty (&client->data_texts);
  g_mutex_unlock (&client->data_lock);
  return has;
}

char *
psc_test_client_wait_data (PscTestClient *client, guint timeout_s)
{
  char *text;

  if (!psc_test_iterate_until (has_data_text, client, timeout_s,
          "a text on the chat data channel"))
    return NULL;
  g_mutex_lock (&client->data_lock);
  text = g_queue_pop_head (&client->data_texts);
  g_mutex_unlock (&client->data_lock);
  return text;
}

typedef struct {
  PscTestClient *client;
  guint target;
} FrameWait;

static gboolean
frames_reached (gpointer data)
{
  FrameWait *wait = data;
  return (guint) g_atomic_int_get (&wait->client->frames) >= wait->target;
}

gboolean
psc_test_client_wait_frames (PscTestClient *client, guint n, guint timeout_s)
{
  FrameWait wait = { .client = client, .target = psc_test_client_get_frames (client) + n };
  g_autofree char *what = g_strdup_printf ("%u decoded frames (%u so far)", n,
      psc_test_client_get_frames (client));

  return psc_test_iterate_until (frames_reached, &wait, timeout_s, what);
}

guint
psc_test_client_get_frames (PscTestClient *client)
{
  return (guint) g_atomic_int_get (&client->frames);
}

typedef struct {
  PscTestClient *client;
  PscMessageType type;
  PscMessage *found;
} MessageWait;

static gboolean
message_arrived (gpointer data)
{
  MessageWait *wait = data;

  for (GList *l = wait->client->messages.head; l != NULL; l = l->next) {
    PscMessage *message = l->data;
    if (message->type == wait->type) {
      wait->found = message;
      g_queue_delete_link (&wait->client->messages, l);
      return TRUE;
    }
  }
  return FALSE;
}

PscMessage *
psc_test_client_wait_message (PscTestClient *client, PscMessageType type, guint timeout_s)
{
  MessageWait wait = { .client = client, .type = type };
  g_autofree char *what = g_strdup_printf ("a \"%s\" message",
      psc_message_type_to_string (type));

  psc_test_iterate_until (message_arrived, &wait, timeout_s, what);
  return wait.found;
}

guint
psc_test_client_count_messages (PscTestClient *client, PscMessageType type)
{
  guint count = 0;

  for (GList *l = client->messages.head; l != NULL; l = l->next)
    count += ((PscMessage *) l->data)->type == type;
  return count;
}

int
psc_test_client_get_luma (PscTestClient *client)
{
  return g_atomic_int_get (&client->luma);
}

static gboolean
is_closed (gpointer data)
{
  return ((PscTestClient *) data)->closed;
}

gboolean
psc_test_client_wait_closed (PscTestClient *client, guint timeout_s, gushort *close_code)
{
  if (!psc_test_iterate_until (is_closed, client, timeout_s,
          "the server to close the WebSocket"))
    return FALSE;
  if (close_code != NULL)
    *close_code = client->close_code;
  return TRUE;
}

gboolean
psc_test_client_is_closed (PscTestClient *client)
{
  return client->closed;
}

const char *
psc_test_client_get_peer_id (PscTestClient *client)
{
  return client->peer_id;
}
