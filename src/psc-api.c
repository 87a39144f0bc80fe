/* periscope — the REST API and health check: /api/streams…, /healthz
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-api.h"
#include "psc-auth.h"
#include "psc-redact.h"

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

static void
describe_peers (SoupServerMessage *msg, PscSignalling *signalling, const char *room)
{
  g_autoptr (GPtrArray) peers = psc_signalling_list_peers (signalling, room);
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  add_string (builder, "room", room);
  json_builder_set_member_name (builder, "peers");
  json_builder_begin_array (builder);
  for (guint i = 0; peers != NULL && i < peers->len; i++) {
    PscPeerInfo *peer = g_ptr_array_index (peers, i);
    g_autofree char *joined = iso8601 (peer->joined_at);
    json_builder_begin_object (builder);
    add_string (builder, "peer_id", peer->peer_id);
    add_string (builder, "joined_at", joined);
    json_builder_set_member_name (builder, "watching");
    json_builder_add_boolean_value (builder, peer->viewer != NULL);
    if (peer->address != NULL && may_see_addresses (msg))
      add_string (builder, "address", peer->address);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
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
  soup_server_add_handler (server, "/healthz", on_health, api, NULL);
}
