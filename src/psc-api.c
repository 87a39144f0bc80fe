/* periscope — the REST API and health check: /api/streams…, /healthz
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-api.h"
#include "psc-auth.h"
#include "psc-history.h"
#include "psc-protocol.h"
#include "psc-redact.h"
#include "psc-rooms.h"

#include <json-glib/json-glib.h>
#include <string.h>

static void
respond_json (SoupServerMessage *msg, guint status, JsonNode *root)
{
  g_autofree char *text = json_to_string (root, TRUE);
  gsize length = strlen (text);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Cache-Control", "no-store");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
      g_steal_pointer (&text), length);
}

static void
respond_error (SoupServerMessage *msg, guint status, const char *text)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, text);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, status, root);
}

static char *
iso8601 (gint64 us_since_epoch)
{
  g_autoptr (GDateTime) seconds = g_date_time_new_from_unix_utc (us_since_epoch / G_USEC_PER_SEC);
  g_autoptr (GDateTime) time = seconds ?
      g_date_time_add (seconds, us_since_epoch % G_USEC_PER_SEC) : NULL;
  return time ? g_date_time_format_iso8601 (time) : g_strdup ("");
}

static void
add_string (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
add_int (JsonBuilder *builder, const char *name, gint64 value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

/* ---- A request that waits for the viewers' statistics ---- */

typedef struct {
  PscRegistry *registry;
  PscSignalling *signalling;
  PscWhep *whep;                /* nullable */
} Api;

static void
api_free (Api *api)
{
  g_object_unref (api->registry);
  g_object_unref (api->signalling);
  g_clear_object (&api->whep);
  g_free (api);
}

/* Viewers of @stream_id: WebSocket peers watching, then WHEP sessions. */
static GPtrArray *
list_viewers (Api *api, const char *stream_id)
{
  g_autoptr (GPtrArray) peers = psc_signalling_list_peers (api->signalling, stream_id);
  GPtrArray *viewers = api->whep ? psc_whep_list_viewers (api->whep, stream_id) :
      g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = peers ? peers->len : 0; i > 0; i--) {
    PscPeerInfo *peer = g_ptr_array_index (peers, i - 1);
    if (peer->viewer != NULL)
      g_ptr_array_insert (viewers, 0, g_object_ref (peer->viewer));
  }
  return viewers;
}

/* The API answers after this many ms even if some viewer's statistics have not come (they
 * always do, psc_viewer_get_stats_async(): this bounds the answer however that changes). */
#define STATS_WAIT_MS (PSC_VIEWER_STATS_TIMEOUT_MS + 500)

typedef struct {
  SoupServerMessage *msg;       /* NULL once answered */
  Api *api;
  GPtrArray *streams;           /* PscStream*, ref'd: what to describe */
  gboolean single;              /* answer one object rather than an array */
  GHashTable *stats;            /* PscViewer* -> PscViewerStats* */
  guint pending;                /* statistics asked for and not delivered */
  guint timeout;
} StreamsRequest;

static void
streams_request_free (StreamsRequest *request)
{
  g_clear_handle_id (&request->timeout, g_source_remove);
  g_clear_object (&request->msg);
  g_ptr_array_unref (request->streams);
  g_hash_table_unref (request->stats);
  g_free (request);
}

static void
add_viewer (JsonBuilder *builder, PscViewer *viewer, const PscViewerStats *stats)
{
  g_autofree char *since = iso8601 (psc_viewer_get_started_at (viewer));

  json_builder_begin_object (builder);
  add_string (builder, "peer_id", psc_viewer_get_peer_id (viewer));
  /* Offered by periscope: the page's WebSocket; answered: a WHEP player's offer. */
  add_string (builder, "via", psc_viewer_get_role (viewer) == PSC_VIEWER_OFFERER ?
      "websocket" : "whep");
  add_string (builder, "since", since);
  add_string (builder, "state", psc_viewer_state_to_string (psc_viewer_get_state (viewer)));
  if (stats != NULL) {
    add_int (builder, "bytes_sent", (gint64) stats->bytes_sent);
    add_int (builder, "packets_sent", (gint64) stats->packets_sent);
    if (stats->round_trip_time_ms >= 0) {
      json_builder_set_member_name (builder, "rtt_ms");
      json_builder_add_double_value (builder, stats->round_trip_time_ms);
    }
    if (stats->fraction_lost >= 0) {
      json_builder_set_member_name (builder, "fraction_lost");
      json_builder_add_double_value (builder, stats->fraction_lost);
    }
    if (stats->packets_lost >= 0)
      add_int (builder, "packets_lost", stats->packets_lost);
  }
  json_builder_end_object (builder);
}

static void
add_stream (JsonBuilder *builder, StreamsRequest *request, PscStream *stream)
{
  const PscStreamInfo *info = psc_stream_get_info (stream);
  g_autoptr (GPtrArray) viewers = list_viewers (request->api, info->id);
  PscStreamStats stats;

  psc_stream_get_stats (stream, &stats);
  json_builder_begin_object (builder);
  add_string (builder, "id", info->id);
  {
    g_autofree char *source = psc_redact_credentials (info->source);
    add_string (builder, "source", source);
  }
  add_string (builder, "state", psc_stream_get_state_name (stream));
  {
    g_autofree char *reason = psc_stream_dup_offline_reason (stream);
    add_string (builder, "offline_reason", reason);
  }
  add_int (builder, "outages", (gint64) stats.outages);
  add_string (builder, "codec", psc_codec_to_string (info->codec));
  add_string (builder, "encoder", info->encoder);
  json_builder_set_member_name (builder, "hardware_encoder");
  json_builder_add_boolean_value (builder, info->hardware);
  json_builder_set_member_name (builder, "encoders");
  json_builder_begin_array (builder);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    const PscEncoderChoice *choice = psc_stream_get_encoder (stream, c);
    if (choice == NULL)
      continue;
    json_builder_begin_object (builder);
    add_string (builder, "codec", psc_codec_to_string (c));
    add_string (builder, "encoder", choice->factory);
    json_builder_set_member_name (builder, "hardware");
    json_builder_add_boolean_value (builder, choice->hardware);
    json_builder_set_member_name (builder, "running");
    json_builder_add_boolean_value (builder, psc_stream_is_encoding (stream, c));
    json_builder_set_member_name (builder, "passthrough");
    json_builder_add_boolean_value (builder, psc_stream_passes_through (stream, c));
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  add_int (builder, "width", info->width);
  add_int (builder, "height", info->height);
  add_int (builder, "framerate", info->framerate);
  add_int (builder, "bitrate_kbps", info->bitrate);
  add_int (builder, "frames_encoded", (gint64) stats.frames);
  add_int (builder, "keyframes", (gint64) stats.keyframes);
  json_builder_set_member_name (builder, "viewers");
  json_builder_begin_array (builder);
  for (guint i = 0; i < viewers->len; i++) {
    PscViewer *viewer = g_ptr_array_index (viewers, i);
    add_viewer (builder, viewer, g_hash_table_lookup (request->stats, viewer));
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static void
finish_streams_request (StreamsRequest *request)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;

  if (!request->single)
    json_builder_begin_array (builder);
  for (guint i = 0; i < request->streams->len; i++)
    add_stream (builder, request, g_ptr_array_index (request->streams, i));
  if (!request->single)
    json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  respond_json (request->msg, SOUP_STATUS_OK, root);
  soup_server_message_unpause (request->msg);
  g_clear_object (&request->msg);
  g_clear_handle_id (&request->timeout, g_source_remove);
  if (request->pending == 0)
    streams_request_free (request);
}

/* Main context. */
static void
on_viewer_stats (PscViewer *viewer, const PscViewerStats *stats, gpointer user_data)
{
  StreamsRequest *request = user_data;

  request->pending--;
  if (request->msg == NULL) {
    /* Answered at the timeout already; the last one out frees. */
    if (request->pending == 0)
      streams_request_free (request);
    return;
  }
  g_hash_table_insert (request->stats, g_object_ref (viewer), g_memdup2 (stats, sizeof *stats));
  if (request->pending == 0)
    finish_streams_request (request);
}

/* Main context: some viewer's statistics are late; the viewers are listed without them. */
static gboolean
on_streams_request_timeout (gpointer user_data)
{
  StreamsRequest *request = user_data;

  request->timeout = 0;
  g_warning ("REST API: %u viewers' statistics did not come within %u ms; answering without",
      request->pending, STATS_WAIT_MS);
  finish_streams_request (request);
  return G_SOURCE_REMOVE;
}

/* Takes @streams. */
static void
describe_streams (SoupServerMessage *msg, Api *api, GPtrArray *streams, gboolean single)
{
  StreamsRequest *request = g_new0 (StreamsRequest, 1);
  g_autoptr (GPtrArray) viewers = g_ptr_array_new_with_free_func (g_object_unref);

  request->msg = g_object_ref (msg);
  request->api = api;
  request->streams = streams;
  request->single = single;
  request->stats = g_hash_table_new_full (NULL, NULL, g_object_unref, g_free);

  for (guint i = 0; i < streams->len; i++) {
    g_autoptr (GPtrArray) found = list_viewers (api,
        psc_stream_get_id (g_ptr_array_index (streams, i)));
    g_ptr_array_extend_and_steal (viewers, g_steal_pointer (&found));
  }
  request->pending = viewers->len;
  if (request->pending == 0) {
    soup_server_message_pause (msg);
    finish_streams_request (request);
    return;
  }
  soup_server_message_pause (msg);
  request->timeout = g_timeout_add (STATS_WAIT_MS, on_streams_request_timeout, request);
  for (guint i = 0; i < viewers->len; i++)
    psc_viewer_get_stats_async (g_ptr_array_index (viewers, i), on_viewer_stats, request);
}

/* Viewers' IP addresses are personal data, and tell anyone on the network who watches from
 * where: only operators and admins see them (the role #PscAccess found, psc-auth). The one
 * place that decides. */
static gboolean
may_see_addresses (SoupServerMessage *msg)
{
  /* Without accounts nobody is known, and nobody sees them. */
  return psc_auth_get_role (G_OBJECT (msg)) >= PSC_AUTH_ROLE_OPERATOR;
}

/* A room's peers: id, name, since when, whether it watches the camera, and the address for
 * those who may see it. */
static void
add_peers (JsonBuilder *builder, SoupServerMessage *msg, GPtrArray *peers)
{
  json_builder_set_member_name (builder, "peers");
  json_builder_begin_array (builder);
  for (guint i = 0; peers != NULL && i < peers->len; i++) {
    PscPeerInfo *peer = g_ptr_array_index (peers, i);
    g_autofree char *joined = iso8601 (peer->joined_at);
    json_builder_begin_object (builder);
    add_string (builder, "peer_id", peer->peer_id);
    add_string (builder, "name", peer->name);
    add_string (builder, "joined_at", joined);
    json_builder_set_member_name (builder, "watching");
    json_builder_add_boolean_value (builder, peer->viewer != NULL);
    if (peer->address != NULL && may_see_addresses (msg))
      add_string (builder, "address", peer->address);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
}

static void
describe_peers (SoupServerMessage *msg, PscSignalling *signalling, const char *room)
{
  g_autoptr (GPtrArray) peers = psc_signalling_list_peers (signalling, room);
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  add_string (builder, "room", room);
  add_peers (builder, msg, peers);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
on_snapshot (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SoupServerMessage) msg = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) jpeg = psc_stream_snapshot_finish (PSC_STREAM (source), result, &error);

  if (jpeg == NULL) {
    respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error->message);
  } else {
    SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
    soup_message_headers_replace (headers, "Cache-Control", "no-store");
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY,
        g_bytes_get_data (jpeg, NULL), g_bytes_get_size (jpeg));
  }
  soup_server_message_unpause (msg);
}

/* GET /api/streams, /api/streams/{id}, /api/streams/{id}/peers, …/snapshot.jpg */
static void
on_api (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  Api *api = user_data;
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint n = g_strv_length (parts);
  g_autoptr (GError) error = NULL;
  PscStream *stream;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
        "GET");
    respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "the API is read-only: use GET");
    return;
  }
  if (n < 2 || !g_str_equal (parts[0], "api") || !g_str_equal (parts[1], "streams") || n > 4) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND,
        "not an API path: /api/streams, /api/streams/{id}, /api/streams/{id}/peers, "
        "/api/streams/{id}/snapshot.jpg");
    return;
  }
  if (n == 2 || (n == 3 && parts[2][0] == '\0')) {
    describe_streams (msg, api, g_ptr_array_copy (psc_registry_get_streams (api->registry),
            (GCopyFunc) (void (*) (void)) g_object_ref, NULL), FALSE);
    return;
  }
  stream = psc_registry_lookup_checked (api->registry, parts[2], &error);
  if (stream == NULL) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, error->message);
  } else if (n == 3) {
    GPtrArray *one = g_ptr_array_new_with_free_func (g_object_unref);
    g_ptr_array_add (one, g_object_ref (stream));
    describe_streams (msg, api, one, TRUE);
  } else if (g_str_equal (parts[3], "snapshot.jpg")) {
    soup_server_message_pause (msg);
    psc_stream_snapshot_async (stream, on_snapshot, g_object_ref (msg));
  } else if (g_str_equal (parts[3], "peers")) {
    describe_peers (msg, api->signalling, parts[2]);
  } else {
    respond_error (msg, SOUP_STATUS_NOT_FOUND,
        "not an API path: /api/streams/{id}/peers or /api/streams/{id}/snapshot.jpg");
  }
}

/* ---- Rooms: /api/rooms… ---- */

static void
add_nullable (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* ROOM (docs/protocol.md, "Rooms"): @call is NULL for a stream's or an open room. */
static void
add_room (JsonBuilder *builder, SoupServerMessage *msg, Api *api, const char *id,
    const char *kind, const PscHistoryRoom *call)
{
  PscHistory *history = psc_rooms_get_history (psc_signalling_get_rooms (api->signalling));
  g_autoptr (GPtrArray) peers = psc_signalling_list_peers (api->signalling, id);
  g_autofree char *created = call != NULL ? iso8601 (call->created_at) : NULL;
  g_autofree char *page = g_strconcat ("/room/", id, NULL);
  g_autofree char *ws = g_strconcat ("/ws/", id, NULL);
  const char *stream_id = call != NULL ? call->stream : g_str_equal (kind, "stream") ? id : NULL;
  PscStream *stream = stream_id != NULL ? psc_registry_lookup (api->registry, stream_id) : NULL;

  json_builder_begin_object (builder);
  add_string (builder, "id", id);
  add_nullable (builder, "title", call != NULL ? call->title : NULL);
  add_string (builder, "kind", kind);
  add_nullable (builder, "created_at", created);
  add_string (builder, "page_url", page);
  add_string (builder, "ws_url", ws);
  add_nullable (builder, "stream", stream_id);
  add_peers (builder, msg, peers);
  add_int (builder, "peer_count", peers != NULL ? peers->len : 0);
  /* The camera's viewers, as its pages see them (`viewers`): every WebSocket and WHEP
   * session of the stream, in this room or not. */
  if (stream != NULL) {
    PscStreamStats stats;
    psc_stream_get_stats (stream, &stats);
    add_int (builder, "viewer_count", stats.viewers);
  }
  add_int (builder, "chat_count", history != NULL ?
      (gint64) psc_history_count_chats (history, id) : 0);
  json_builder_end_object (builder);
}

/* GET /api/rooms: the streams' rooms, the rooms made through the API, the open ones. */
static void
list_rooms (SoupServerMessage *msg, Api *api)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;
  GPtrArray *streams = psc_registry_get_streams (api->registry);
  g_autoptr (GPtrArray) calls = psc_rooms_list (psc_signalling_get_rooms (api->signalling));
  g_auto (GStrv) open = psc_signalling_list_open_rooms (api->signalling);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "rooms");
  json_builder_begin_array (builder);
  for (guint i = 0; i < streams->len; i++)
    add_room (builder, msg, api, psc_stream_get_id (g_ptr_array_index (streams, i)), "stream",
        NULL);
  for (guint i = 0; i < calls->len; i++) {
    const PscHistoryRoom *call = g_ptr_array_index (calls, i);
    add_room (builder, msg, api, call->id, "call", call);
  }
  for (guint i = 0; open[i] != NULL; i++)
    add_room (builder, msg, api, open[i], "open", NULL);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_OK, root);
}

/* A request's JSON body: an object, or %NULL with a 400 answered. @empty_ok: no body is an
 * empty object. */
static JsonObject *
read_body (SoupServerMessage *msg, gboolean empty_ok, JsonParser *parser)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  if (g_bytes_get_size (bytes) == 0 && empty_ok) {
    json_parser_load_from_data (parser, "{}", -1, NULL);
    return json_node_get_object (json_parser_get_root (parser));
  }
  if (!psc_protocol_is_one_json_object (g_bytes_get_data (bytes, NULL),
          g_bytes_get_size (bytes))) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "the body must be one JSON object");
    return NULL;
  }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
          g_bytes_get_size (bytes), &error)) {
    g_autofree char *text = g_strdup_printf ("the body is not JSON: %s", error->message);
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, text);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "the body must be a JSON object");
    return NULL;
  }
  return json_node_get_object (root);
}

/* Member @name of @object as a string: *@out NULL when absent or null; FALSE (with @problem
 * set) for another JSON type. */
static gboolean
optional_string (JsonObject *object, const char *name, const char **out, char **problem)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_STRING) {
    *problem = g_strdup_printf ("%s must be a string", name);
    return FALSE;
  }
  if (!g_utf8_validate (json_node_get_string (node), -1, NULL)) {
    *problem = g_strdup_printf ("%s must be UTF-8 text", name);
    return FALSE;
  }
  *out = json_node_get_string (node);
  return TRUE;
}

/* POST /api/rooms {"title", "stream"} */
static void
create_room (SoupServerMessage *msg, Api *api)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *problem = NULL;
  g_autofree char *location = NULL;
  JsonObject *body = read_body (msg, TRUE, parser);
  const char *title, *stream;
  const PscHistoryRoom *room;

  if (body == NULL)
    return;
  if (optional_string (body, "title", &title, &problem) &&
      optional_string (body, "stream", &stream, &problem)) {
    if (title != NULL && g_utf8_strlen (title, -1) > PSC_API_MAX_TITLE)
      problem = g_strdup_printf ("title is over %d characters", PSC_API_MAX_TITLE);
    else if (stream != NULL && psc_registry_lookup (api->registry, stream) == NULL)
      problem = g_strdup_printf ("no stream \"%s\" to join the room's calls",
          psc_protocol_id_is_valid (stream) ? stream : "(invalid id)");
  }
  if (problem != NULL) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, problem);
    return;
  }
  room = psc_rooms_create (psc_signalling_get_rooms (api->signalling),
      title != NULL && title[0] != '\0' ? title : NULL, stream, &error);
  if (room == NULL) {
    respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error->message);
    return;
  }
  add_room (builder, msg, api, room->id, "call", room);
  root = json_builder_get_root (builder);
  location = g_strconcat ("/api/rooms/", room->id, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location",
      location);
  respond_json (msg, SOUP_STATUS_CREATED, root);
}

static void
add_chats (JsonBuilder *builder, GPtrArray *chats)
{
  json_builder_set_member_name (builder, "chats");
  json_builder_begin_array (builder);
  for (guint i = 0; i < chats->len; i++) {
    PscChat *chat = g_ptr_array_index (chats, i);
    g_autofree char *time = psc_protocol_format_time (chat->time);
    json_builder_begin_object (builder);
    add_int (builder, "id", chat->id);
    add_string (builder, "text", chat->text);
    add_nullable (builder, "from_peer_id", chat->from_peer_id);
    add_nullable (builder, "name", chat->name);
    add_string (builder, "time", time);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
}

/* A query parameter as an integer in [@min, @max], or @fallback when absent. */
static gboolean
query_int (GHashTable *query, const char *name, gint64 min, gint64 max, gint64 fallback,
    gint64 *out)
{
  const char *text = query != NULL ? g_hash_table_lookup (query, name) : NULL;
  guint64 value;

  *out = fallback;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    return FALSE;
  *out = (gint64) value;
  return TRUE;
}

/* GET /api/rooms/{id}/chats?after=ID&limit=N */
static void
list_chats (SoupServerMessage *msg, PscHistory *history, const char *id, GHashTable *query)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) chats = NULL;
  g_autoptr (GError) error = NULL;
  gint64 after, limit;

  if (!query_int (query, "after", 0, G_MAXINT64, 0, &after) ||
      !query_int (query, "limit", 1, PSC_API_MAX_CHATS_PAGE, 100, &limit)) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "after must be a message id (0 or more) and "
        "limit a number from 1 to " G_STRINGIFY (PSC_API_MAX_CHATS_PAGE));
    return;
  }
  chats = psc_history_list_chats (history, id, after, (guint) limit, FALSE, &error);
  if (chats == NULL) {
    respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error->message);
    return;
  }
  json_builder_begin_object (builder);
  add_string (builder, "room", id);
  add_chats (builder, chats);
  json_builder_set_member_name (builder, "next_after");
  /* A full page: there may be more after its last. */
  if (chats->len == (guint) limit)
    json_builder_add_int_value (builder,
        ((PscChat *) g_ptr_array_index (chats, chats->len - 1))->id);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_OK, root);
}

/* One item of a bulk save, or %NULL with *@problem set. */
static PscChat *
chat_from_json (JsonNode *node, const char *room, char **problem)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *name = NULL;
  g_autoptr (GDateTime) time = NULL;
  const char *raw_text, *from, *raw_name, *raw_time;
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    *problem = g_strdup ("must be an object {\"text\", \"from_peer_id\", \"name\", \"time\"}");
    return NULL;
  }
  object = json_node_get_object (node);
  if (!optional_string (object, "text", &raw_text, problem) ||
      !optional_string (object, "from_peer_id", &from, problem) ||
      !optional_string (object, "name", &raw_name, problem) ||
      !optional_string (object, "time", &raw_time, problem))
    return NULL;
  if (raw_text == NULL || (text = psc_protocol_check_chat_text (raw_text, -1, &error)) == NULL) {
    *problem = g_strdup (error != NULL ? error->message : "text is required");
    return NULL;
  }
  if (from != NULL && !psc_protocol_id_is_valid (from)) {
    *problem = g_strdup ("from_peer_id must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
    return NULL;
  }
  if (raw_name != NULL && (name = psc_protocol_check_name (raw_name, &error)) == NULL) {
    *problem = g_strdup (error->message);
    return NULL;
  }
  if (raw_time != NULL && (time = g_date_time_new_from_iso8601 (raw_time, NULL)) == NULL) {
    *problem = g_strdup ("time must be RFC 3339 with a time zone, e.g. "
        "\"2026-11-30T10:20:31.123Z\"");
    return NULL;
  }
  return psc_chat_new (room, text, from, name,
      time != NULL ? g_date_time_to_unix (time) * G_USEC_PER_SEC +
      g_date_time_get_microsecond (time) : g_get_real_time ());
}

/* PUT /api/rooms/{id}/chats {"chats": [...]}: seed 002's bulk save, in one transaction. */
static void
save_chats (SoupServerMessage *msg, PscHistory *history, const char *id)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GPtrArray) chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_chat_free);
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *body = read_body (msg, FALSE, parser);
  JsonNode *list;
  JsonArray *array;

  if (body == NULL)
    return;
  list = json_object_get_member (body, "chats");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list) ||
      json_array_get_length (array = json_node_get_array (list)) > PSC_API_MAX_CHATS_SAVED) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "the body must be {\"chats\": [...]} with at "
        "most " G_STRINGIFY (PSC_API_MAX_CHATS_SAVED) " messages");
    return;
  }
  for (guint i = 0; i < json_array_get_length (array); i++) {
    g_autofree char *problem = NULL;
    PscChat *chat = chat_from_json (json_array_get_element (array, i), id, &problem);
    if (chat == NULL) {
      g_autofree char *text = g_strdup_printf ("chats[%u]: %s", i, problem);
      respond_error (msg, SOUP_STATUS_BAD_REQUEST, text);
      return;
    }
    g_ptr_array_add (chats, chat);
  }
  if (!psc_history_append (history, chats, &error)) {
    g_warning ("REST API: %s", error->message);
    respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error->message);
    return;
  }
  json_builder_begin_object (builder);
  add_int (builder, "saved", chats->len);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
not_allowed (SoupServerMessage *msg, const char *allow)
{
  g_autofree char *text = g_strdup_printf ("use %s here", allow);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, text);
}

/* /api/rooms/{id} and /api/rooms/{id}/chats */
static void
on_room (SoupServerMessage *msg, Api *api, const char *id, gboolean chats, GHashTable *query)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean reads = method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD;
  PscRooms *rooms = psc_signalling_get_rooms (api->signalling);
  PscHistory *history = psc_rooms_get_history (rooms);
  const char *kind = psc_signalling_get_room_kind (api->signalling, id);
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (JsonNode) root = NULL;

  if (kind == NULL) {
    g_autofree char *text = g_strdup_printf ("no room \"%s\"",
        psc_protocol_id_is_valid (id) ? id : "(invalid id)");
    respond_error (msg, SOUP_STATUS_NOT_FOUND, text);
    return;
  }
  if (chats) {
    if (!reads && method != SOUP_METHOD_PUT)
      not_allowed (msg, "GET, PUT");
    else if (history == NULL)
      respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "chat is unavailable: periscope "
          "has no chat database (see its log)");
    else if (reads)
      list_chats (msg, history, id, query);
    else
      save_chats (msg, history, id);
    return;
  }
  if (method == SOUP_METHOD_DELETE) {
    if (g_str_equal (kind, "stream"))
      not_allowed (msg, "GET");
    else if (psc_signalling_close_room (api->signalling, id, "the room was deleted"))
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
    return;
  }
  if (!reads) {
    not_allowed (msg, g_str_equal (kind, "stream") ? "GET" : "GET, DELETE");
    return;
  }
  builder = json_builder_new_immutable ();
  add_room (builder, msg, api, id, kind, psc_rooms_lookup (rooms, id));
  root = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_OK, root);
}

/* /api/rooms… (docs/protocol.md, "Rooms") */
static void
on_rooms (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  Api *api = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint n = g_strv_length (parts);

  if (n == 2 || (n == 3 && parts[2][0] == '\0')) {
    if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
      list_rooms (msg, api);
    else if (method == SOUP_METHOD_POST)
      create_room (msg, api);
    else
      not_allowed (msg, "GET, POST");
  } else if (n == 3 || (n == 4 && g_str_equal (parts[3], "chats"))) {
    on_room (msg, api, parts[2], n == 4, query);
  } else {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "not an API path: /api/rooms, "
        "/api/rooms/{id}, /api/rooms/{id}/chats");
  }
}

/* GET or HEAD /healthz */
static void
on_health (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  Api *api = user_data;
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;
  GPtrArray *streams = psc_registry_get_streams (api->registry);
  gboolean healthy = streams->len > 0;
  const char *method = soup_server_message_get_method (msg);

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
        "GET, HEAD");
    respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "the health check takes GET or HEAD");
    return;
  }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "streams");
  json_builder_begin_object (builder);
  for (guint i = 0; i < streams->len; i++) {
    PscStream *stream = g_ptr_array_index (streams, i);
    json_builder_set_member_name (builder, psc_stream_get_id (stream));
    json_builder_add_string_value (builder, psc_stream_get_state_name (stream));
    healthy = healthy && psc_stream_is_playing (stream);
  }
  json_builder_end_object (builder);
  add_string (builder, "status", healthy ? "ok" : "failing");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, healthy ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE, root);
}

void
psc_api_add_handlers (SoupServer *server, PscRegistry *registry, PscSignalling *signalling,
    PscWhep *whep)
{
  Api *api;

  g_return_if_fail (SOUP_IS_SERVER (server) && PSC_IS_REGISTRY (registry) &&
      PSC_IS_SIGNALLING (signalling));

  api = g_new0 (Api, 1);
  api->registry = g_object_ref (registry);
  api->signalling = g_object_ref (signalling);
  api->whep = whep ? g_object_ref (whep) : NULL;
  soup_server_add_handler (server, "/api", on_api, api, (GDestroyNotify) api_free);
  soup_server_add_handler (server, "/api/rooms", on_rooms, api, NULL);
  soup_server_add_handler (server, "/healthz", on_health, api, NULL);
}
