/* periscope benchmark — the load generator's Janus client: the streaming plugin, HTTP API
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-bench-load.h"
#include <stdlib.h>

/* ---- Janus: streaming plugin over the HTTP REST API; main context ----
 *
 * https://janus.conf.meetecho.com/docs/rest.html: POST create → session, POST attach →
 * handle, POST message {request: watch} → the offer arrives as an event on the session's
 * long poll (GET /janus/SESSION?maxev=1); POST message {request: start} with the answer;
 * candidates as trickle messages. The long poll is kept outstanding all run long: it is how
 * events arrive, and it keeps the session alive (Janus reaps sessions idle for 60 s). */

typedef void (*JanusReplyFunc) (BenchPeer *peer, JsonObject *reply);

typedef struct {
  BenchPeer *peer;
  SoupMessage *message;
  JanusReplyFunc func;          /* nullable */
  const char *what;             /* for errors: "create", "attach", … */
} JanusRequest;

static void janus_poll (BenchPeer *peer);

static char *
janus_path (BenchPeer *peer, gboolean with_handle)
{
  if (with_handle)
    return g_strdup_printf ("%s/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, peer->bench->url,
        peer->janus_session, peer->janus_handle);
  return g_strdup_printf ("%s/%" G_GINT64_FORMAT, peer->bench->url, peer->janus_session);
}

/* @name's value when it is a JSON object, else NULL (json-glib warns on a missing member). */
static JsonObject *
janus_get_object (JsonObject *object, const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* @name's value when it is a JSON string, else @fallback. */
static const char *
janus_get_string (JsonObject *object, const char *name, const char *fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : fallback;
}

/* @name's value when it is a JSON integer (or boolean), else @fallback. */
static gint64
janus_get_int (JsonObject *object, const char *name, gint64 fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  GType type = node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) :
      G_TYPE_INVALID;

  if (type == G_TYPE_INT64)
    return json_node_get_int (node);
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node);
  return fallback;
}

/* Error text from a Janus error reply ({janus: error, error: {code, reason}}), or NULL. */
static char *
janus_error_text (JsonObject *reply)
{
  JsonObject *error;

  if (g_strcmp0 (janus_get_string (reply, "janus", ""), "error"))
    return NULL;
  error = janus_get_object (reply, "error");
  if (error == NULL)
    return g_strdup ("an error without details");
  return g_strdup_printf ("%s (code %" G_GINT64_FORMAT ")",
      janus_get_string (error, "reason", "no reason"),
      janus_get_int (error, "code", 0));
}

/* Parses an HTTP reply body into JSON; NULL with @error set when it is not JSON. */
static JsonNode *
janus_parse (GBytes *body, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  gsize length;
  const char *data = g_bytes_get_data (body, &length);

  if (!json_parser_load_from_data (parser, data != NULL ? data : "", length, error))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

static void
janus_on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JanusRequest *request = user_data;
  BenchPeer *peer = request->peer;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *janus_error = NULL;
  guint status;

  peer->bench->pending_requests--;
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  status = soup_message_get_status (request->message);
  if (body == NULL) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      bench_peer_fail (peer, "Janus %s: %s", request->what, error->message);
  } else if (status != SOUP_STATUS_OK) {
    bench_peer_fail (peer, "Janus %s: HTTP %u %s", request->what, status,
        soup_message_get_reason_phrase (request->message));
  } else if ((root = janus_parse (body, &error)) == NULL) {
    bench_peer_fail (peer, "Janus %s: the reply is not JSON: %s", request->what, error->message);
  } else if (!JSON_NODE_HOLDS_OBJECT (root) && !JSON_NODE_HOLDS_ARRAY (root)) {
    bench_peer_fail (peer, "Janus %s: the reply is neither an object nor an array", request->what);
  } else if (JSON_NODE_HOLDS_OBJECT (root) &&
      (janus_error = janus_error_text (json_node_get_object (root))) != NULL) {
    bench_peer_fail (peer, "Janus %s: %s", request->what, janus_error);
  } else if (request->func != NULL) {
    /* A long poll with maxev may answer with an array of events. */
    if (JSON_NODE_HOLDS_ARRAY (root)) {
      JsonArray *array = json_node_get_array (root);
      for (guint i = 0; i < json_array_get_length (array); i++) {
        JsonNode *element = json_array_get_element (array, i);
        if (JSON_NODE_HOLDS_OBJECT (element))
          request->func (peer, json_node_get_object (element));
      }
    } else {
      request->func (peer, json_node_get_object (root));
    }
  }
  g_object_unref (request->message);
  g_free (request);
}

static void
janus_send (BenchPeer *peer, SoupMessage *message, const char *what, JanusReplyFunc func,
    GCancellable *cancellable)
{
  JanusRequest *request = g_new0 (JanusRequest, 1);

  request->peer = peer;
  request->message = message;
  request->func = func;
  request->what = what;
  peer->bench->pending_requests++;
  soup_session_send_and_read_async (peer->bench->session, message, G_PRIORITY_DEFAULT,
      cancellable, janus_on_reply, request);
}

/* POSTs @body (a JSON object; a transaction id is added) to @path. */
static void
janus_post (BenchPeer *peer, const char *path, JsonObject *body, const char *what,
    JanusReplyFunc func, GCancellable *cancellable)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *transaction = g_uuid_string_random ();
  g_autoptr (GBytes) body_bytes = NULL;
  char *text;
  SoupMessage *message = soup_message_new ("POST", path);

  if (message == NULL) {
    bench_peer_fail (peer, "%s is not a URL", path);
    return;
  }
  json_object_set_string_member (body, "transaction", transaction);
  json_node_set_object (node, body);
  text = json_to_string (node, FALSE);
  body_bytes = g_bytes_new_take (text, strlen (text));
  text = NULL;
  soup_message_set_request_body_from_bytes (message, "application/json", body_bytes);
  janus_send (peer, message, what, func, cancellable);
}

static JsonObject *
janus_body (const char *janus)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "janus", janus);
  return body;
}

static void
janus_flush_candidates (BenchPeer *peer)
{
  g_autofree char *path = janus_path (peer, TRUE);
  JsonNode *trickle;

  while ((trickle = g_queue_pop_head (&peer->pending_candidates)) != NULL) {
    janus_post (peer, path, json_node_get_object (trickle), "trickle", NULL,
        peer->bench->cancellable);
    json_node_unref (trickle);
  }
}

static void
janus_on_answer_acked (BenchPeer *peer, JsonObject *reply)
{
  peer->answer_acked = TRUE;
  janus_flush_candidates (peer);
}

/* One event from the long poll. */
static void
janus_on_event (BenchPeer *peer, JsonObject *event)
{
  const char *janus = janus_get_string (event, "janus", "");

  if (!strcmp (janus, "event")) {
    JsonObject *plugindata = janus_get_object (event, "plugindata");
    JsonObject *data = janus_get_object (plugindata, "data");
    JsonObject *jsep = janus_get_object (event, "jsep");

    if (data != NULL && json_object_has_member (data, "error")) {
      bench_peer_fail (peer, "Janus streaming plugin: %s (code %" G_GINT64_FORMAT ")",
          janus_get_string (data, "error", "?"),
          janus_get_int (data, "error_code", 0));
      return;
    }
    if (jsep != NULL) {
      const char *type = janus_get_string (jsep, "type", "");
      const char *sdp = janus_get_string (jsep, "sdp", NULL);
      if (strcmp (type, "offer") != 0 || sdp == NULL)
        bench_peer_fail (peer, "Janus sent a jsep of type \"%s\"%s, not an offer", type,
            sdp == NULL ? " without sdp" : "");
      else
        bench_peer_handle_offer (peer, sdp);
    }
  } else if (!strcmp (janus, "trickle")) {
    JsonObject *candidate = janus_get_object (event, "candidate");
    gint64 mline = janus_get_int (candidate, "sdpMLineIndex", 0);

    if (candidate == NULL || janus_get_int (candidate, "completed", FALSE))
      return;
    if (mline < 0 || mline > G_MAXUINT16)
      bench_peer_fail (peer, "Janus trickled a candidate for m-line %" G_GINT64_FORMAT, mline);
    else
      bench_peer_add_remote_candidate (peer, mline, janus_get_string (candidate, "candidate", ""));
  } else if (!strcmp (janus, "hangup")) {
    bench_peer_fail (peer, "Janus hung up: %s",
        janus_get_string (event, "reason", "no reason"));
  } else if (!strcmp (janus, "timeout")) {
    bench_peer_fail (peer, "Janus timed the session out");
  } else if (!strcmp (janus, "detached")) {
    bench_peer_fail (peer, "Janus detached the handle");
  } else if (!strcmp (janus, "error")) {
    g_autofree char *text = janus_error_text (event);
    bench_peer_fail (peer, "Janus: %s", text);
  }
  /* keepalive, webrtcup, media, slowlink, ack: nothing to do. */
}

static void
janus_on_poll (BenchPeer *peer, JsonObject *event)
{
  janus_on_event (peer, event);
}

static void
janus_on_poll_done (GObject *source, GAsyncResult *result, gpointer user_data);

/* Keeps one GET outstanding on the session: it returns with an event, or a keepalive after
 * 30 s; either way a new one goes out. */
static void
janus_poll (BenchPeer *peer)
{
  g_autofree char *session_path = janus_path (peer, FALSE);
  g_autofree char *path = g_strconcat (session_path, "?maxev=1", NULL);
  JanusRequest *request;
  SoupMessage *message = soup_message_new ("GET", path);

  if (message == NULL) {
    bench_peer_fail (peer, "%s is not a URL", path);
    return;
  }
  request = g_new0 (JanusRequest, 1);
  request->peer = peer;
  request->message = message;
  request->func = janus_on_poll;
  request->what = "long poll";
  peer->janus_polling = TRUE;
  peer->bench->pending_requests++;
  soup_session_send_and_read_async (peer->bench->session, message, G_PRIORITY_DEFAULT,
      peer->bench->cancellable, janus_on_poll_done, request);
}

static void
janus_on_poll_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JanusRequest *request = user_data;
  BenchPeer *peer = request->peer;

  peer->janus_polling = FALSE;
  janus_on_reply (source, result, request);
  if (!peer->bench->stopping && peer->failure == NULL)
    janus_poll (peer);
}

static void
janus_on_attached (BenchPeer *peer, JsonObject *reply)
{
  JsonObject *data = janus_get_object (reply, "data");
  g_autofree char *path = NULL;
  JsonObject *body, *request;

  if (janus_get_int (data, "id", 0) == 0) {
    bench_peer_fail (peer, "Janus attach: no handle id in the reply");
    return;
  }
  peer->janus_handle = janus_get_int (data, "id", 0);
  path = janus_path (peer, TRUE);
  body = janus_body ("message");
  request = json_object_new ();
  json_object_set_string_member (request, "request", "watch");
  json_object_set_int_member (request, "id", peer->bench->mountpoint);
  json_object_set_object_member (body, "body", request);
  janus_post (peer, path, body, "watch", NULL, peer->bench->cancellable);
}

static void
janus_on_created (BenchPeer *peer, JsonObject *reply)
{
  JsonObject *data = janus_get_object (reply, "data");
  g_autofree char *path = NULL;
  JsonObject *body;

  if (janus_get_int (data, "id", 0) == 0) {
    bench_peer_fail (peer, "Janus create: no session id in the reply");
    return;
  }
  peer->janus_session = janus_get_int (data, "id", 0);
  janus_poll (peer);
  path = janus_path (peer, FALSE);
  body = janus_body ("attach");
  json_object_set_string_member (body, "plugin", "janus.plugin.streaming");
  janus_post (peer, path, body, "attach", janus_on_attached, peer->bench->cancellable);
}

static void
janus_start (BenchPeer *peer)
{
  janus_post (peer, peer->bench->url, janus_body ("create"), "create", janus_on_created,
      peer->bench->cancellable);
}

static void
janus_send_answer (BenchPeer *peer, const char *sdp)
{
  g_autofree char *path = janus_path (peer, TRUE);
  JsonObject *body = janus_body ("message");
  JsonObject *request = json_object_new ();
  JsonObject *jsep = json_object_new ();

  json_object_set_string_member (request, "request", "start");
  json_object_set_object_member (body, "body", request);
  json_object_set_string_member (jsep, "type", "answer");
  json_object_set_string_member (jsep, "sdp", sdp);
  json_object_set_object_member (body, "jsep", jsep);
  janus_post (peer, path, body, "start", janus_on_answer_acked, peer->bench->cancellable);
}

/* @candidate_object: (transfer full) */
static void
janus_queue_trickle (BenchPeer *peer, JsonObject *candidate_object)
{
  JsonObject *body = janus_body ("trickle");
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_object_member (body, "candidate", candidate_object);
  json_node_take_object (node, body);
  g_queue_push_tail (&peer->pending_candidates, node);
  if (peer->answer_acked)
    janus_flush_candidates (peer);
}

static void
janus_send_candidate (BenchPeer *peer, guint mline, const char *candidate)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "candidate", candidate);
  json_object_set_int_member (object, "sdpMLineIndex", mline);
  if (mline < peer->mids->len)
    json_object_set_string_member (object, "sdpMid", g_ptr_array_index (peer->mids, mline));
  janus_queue_trickle (peer, object);
}

static void
janus_send_end_of_candidates (BenchPeer *peer)
{
  JsonObject *object = json_object_new ();

  json_object_set_boolean_member (object, "completed", TRUE);
  janus_queue_trickle (peer, object);
}

static void
janus_stop (BenchPeer *peer)
{
  g_autofree char *path = NULL;

  if (peer->janus_session == 0)
    return;
  /* Not cancellable: the point is that Janus frees the session and stops sending now, not
   * after its 60 s session timeout (which would weigh on the next run). */
  path = janus_path (peer, FALSE);
  janus_post (peer, path, janus_body ("destroy"), "destroy", NULL, NULL);
}

const BenchSignalling bench_janus_signalling = {
  janus_start,
  janus_send_answer,
  janus_send_candidate,
  janus_send_end_of_candidates,
  janus_stop,
};
