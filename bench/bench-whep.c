/* periscope benchmark — the load generator's WHEP player: periscope's WHEP endpoint
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-bench-load.h"

/* ---- periscope: WHEP (docs/protocol.md); main context ----
 *
 * The peer offers (bench_peer_make_offer()) and POSTs its offer once gathering is complete,
 * every candidate in it, as WHEP players that do not trickle do; the 201's body is the answer,
 * its Location the session, DELETEd at the end. */

static void
whep_start (BenchPeer *peer)
{
  bench_peer_make_offer (peer);
}

static void
whep_send_answer (BenchPeer *peer, const char *sdp)
{
  /* The peer makes the offer: it never answers. */
}

static void
whep_send_candidate (BenchPeer *peer, guint mline, const char *candidate)
{
  /* In the offer, sent when gathering is complete. */
}

static void
whep_on_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  BenchPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *sdp = NULL;
  const char *location;
  guint status;

  peer->bench->pending_requests--;
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      bench_peer_fail (peer, "WHEP POST %s: %s", peer->bench->url, error->message);
    return;
  }
  status = soup_message_get_status (message);
  sdp = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  if (status != SOUP_STATUS_CREATED) {
    bench_peer_fail (peer, "WHEP POST: HTTP %u: %.200s", status, sdp);
    return;
  }
  location = soup_message_headers_get_one (soup_message_get_response_headers (message),
      "Location");
  if (location != NULL)
    peer->whep_resource = g_uri_resolve_relative (peer->bench->url, location, G_URI_FLAGS_NONE,
        NULL);
  if (peer->bench->stopping)
    return;
  bench_peer_handle_answer (peer, sdp);
}

static void
whep_send_end_of_candidates (BenchPeer *peer)
{
  g_autofree char *offer = bench_peer_dup_local_sdp (peer);
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) body = NULL;
  gsize length;

  if (offer == NULL) {
    bench_peer_fail (peer, "webrtcbin has no local description to offer");
    return;
  }
  message = soup_message_new ("POST", peer->bench->url);
  if (message == NULL) {
    bench_peer_fail (peer, "%s is not a URL", peer->bench->url);
    return;
  }
  length = strlen (offer);
  body = g_bytes_new_take (g_steal_pointer (&offer), length);
  soup_message_set_request_body_from_bytes (message, "application/sdp", body);
  peer->offer_us = g_get_monotonic_time ();
  peer->bench->pending_requests++;
  soup_session_send_and_read_async (peer->bench->session, message, G_PRIORITY_DEFAULT,
      peer->bench->cancellable, whep_on_answer, peer);
}

static void
whep_on_deleted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BenchPeer *peer = user_data;
  GBytes *reply = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  /* The DELETE's reply: nothing to read in it. */
  g_clear_pointer (&reply, g_bytes_unref);

  peer->bench->pending_requests--;
}

static void
whep_stop (BenchPeer *peer)
{
  g_autoptr (SoupMessage) message = NULL;

  if (peer->whep_resource == NULL)
    return;
  message = soup_message_new ("DELETE", peer->whep_resource);
  if (message == NULL)
    return;
  /* Not cancellable: the point is that periscope ends the session now, not when it notices
   * the silence (which would weigh on the next run). */
  peer->bench->pending_requests++;
  soup_session_send_and_read_async (peer->bench->session, message, G_PRIORITY_DEFAULT, NULL,
      whep_on_deleted, peer);
}

const BenchSignalling bench_whep_signalling = {
  whep_start,
  whep_send_answer,
  whep_send_candidate,
  whep_send_end_of_candidates,
  whep_stop,
};
