/* periscope benchmark — the load generator's periscope client: its WebSocket signalling
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-bench-load.h"
#include "psc-protocol.h"

/* ---- periscope: WebSocket signalling (docs/protocol.md); main context ---- */

static void
periscope_send (BenchPeer *peer, const PscMessage *message)
{
  g_autofree char *json = NULL;

  if (peer->connection == NULL ||
      soup_websocket_connection_get_state (peer->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  json = psc_message_to_json (message);
  soup_websocket_connection_send_text (peer->connection, json);
}

static void
periscope_on_message (SoupWebsocketConnection *connection, int type, GBytes *bytes,
    gpointer user_data)
{
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) message = NULL;
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    bench_peer_fail (peer, "the server sent a binary WebSocket message");
    return;
  }
  message = psc_message_parse (data, length, &error);
  if (message == NULL) {
    bench_peer_fail (peer, "bad message from the server (%s): %.200s", error->message, data);
    return;
  }
  switch (message->type) {
    case PSC_MESSAGE_OFFER:
      g_free (peer->camera_id);
      peer->camera_id = g_strdup (message->from_peer_id);
      bench_peer_handle_offer (peer, message->sdp);
      break;
    case PSC_MESSAGE_ICE_CANDIDATE:
      if (message->candidate != NULL && message->candidate[0] != '\0')
        bench_peer_add_remote_candidate (peer, message->sdp_mline_index, message->candidate);
      break;
    case PSC_MESSAGE_ERROR:
      bench_peer_fail (peer, "the server said %s: %s", message->error_code,
          message->error_message);
      break;
    case PSC_MESSAGE_EXISTING_PEERS:
    case PSC_MESSAGE_PEER_JOINED:
    case PSC_MESSAGE_PEER_LEFT:
    case PSC_MESSAGE_ANSWER:
    case PSC_MESSAGE_STREAM_STATE:
    case PSC_MESSAGE_CHAT:
    case PSC_MESSAGE_CHAT_HISTORY:
    case PSC_MESSAGE_VIEWERS:
    case PSC_MESSAGE_ROOM_CLOSED:
    case PSC_MESSAGE_REQUEST_OFFER:
    case PSC_MESSAGE_PEER_STATE:
      break;
  }
}

static void
periscope_on_closed (SoupWebsocketConnection *connection, gpointer user_data)
{
  BenchPeer *peer = user_data;

  bench_peer_fail (peer, "the server closed the WebSocket (code %u%s%s)",
      soup_websocket_connection_get_close_code (connection),
      soup_websocket_connection_get_close_data (connection) ? ": " : "",
      soup_websocket_connection_get_close_data (connection) ?: "");
}

static void
periscope_on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *connection;

  peer->bench->pending_requests--;
  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection == NULL) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      bench_peer_fail (peer, "WebSocket to %s: %s", peer->bench->url, error->message);
    return;
  }
  peer->connection = connection;
  if (peer->bench->stopping) {
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    return;
  }
  /* Signalling is a few messages per peer; no need for libsoup's default 128 KiB bound to
   * change, nor for keepalives of our own: the server pings. */
  g_signal_connect (connection, "message", G_CALLBACK (periscope_on_message), peer);
  g_signal_connect (connection, "closed", G_CALLBACK (periscope_on_closed), peer);
}

static void
periscope_start (BenchPeer *peer)
{
  Bench *bench = peer->bench;
  g_autoptr (SoupMessage) message = soup_message_new ("GET", bench->url);

  if (message == NULL) {
    bench_peer_fail (peer, "%s is not a URL", bench->url);
    return;
  }
  bench->pending_requests++;
  soup_session_websocket_connect_async (bench->session, message, NULL, NULL,
      G_PRIORITY_DEFAULT, bench->cancellable, periscope_on_connected, peer);
}

static void
periscope_send_answer (BenchPeer *peer, const char *sdp)
{
  g_autoptr (PscMessage) message = psc_message_new (PSC_MESSAGE_ANSWER);

  message->target_peer_id = g_strdup (peer->camera_id);
  message->sdp = g_strdup (sdp);
  periscope_send (peer, message);
}

static void
periscope_send_candidate (BenchPeer *peer, guint mline, const char *candidate)
{
  g_autoptr (PscMessage) message = psc_message_new (PSC_MESSAGE_ICE_CANDIDATE);

  message->target_peer_id = g_strdup (peer->camera_id);
  message->candidate = g_strdup (candidate);
  message->sdp_mline_index = mline;
  if (mline < peer->mids->len)
    message->sdp_mid = g_strdup (g_ptr_array_index (peer->mids, mline));
  periscope_send (peer, message);
}

static void
periscope_send_end_of_candidates (BenchPeer *peer)
{
  /* Optional in periscope's protocol, and ignored: nothing to send. */
}

static void
periscope_stop (BenchPeer *peer)
{
  if (peer->connection == NULL)
    return;
  g_signal_handlers_disconnect_by_data (peer->connection, peer);
  if (soup_websocket_connection_get_state (peer->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (peer->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

const BenchSignalling bench_periscope_signalling = {
  periscope_start,
  periscope_send_answer,
  periscope_send_candidate,
  periscope_send_end_of_candidates,
  periscope_stop,
};
