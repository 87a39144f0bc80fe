/* periscope — WHEP (draft-ietf-wish-whep): any standard player pulls a stream over HTTP
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-whep.h"
#include "psc-protocol.h"
#include "psc-sdp.h"

#include <string.h>
#include <sys/random.h>

GST_DEBUG_CATEGORY_STATIC (psc_whep_debug);
#define GST_CAT_DEFAULT psc_whep_debug

/* RFC 6585 §4; libsoup 3.2 has no name for it. */
#define TOO_MANY_REQUESTS 429
/* Seconds a player is told to wait before trying a stream that is not live, or again when
 * the seats are taken. */
#define RETRY_AFTER_S "5"
/* Remote candidates a session takes over all its PATCHes: a browser trickles a handful (one
 * per local address and protocol, a few more with TURN). Each one is work for webrtcbin and
 * libnice (a candidate pair to check): without a cap a PATCH flood of 100k candidates pinned
 * a core and starved the main context. */
#define MAX_REMOTE_CANDIDATES 50

typedef struct {
  PscWhep *whep;                /* not owned */
  char *id;                     /* 128 random bits, hex: the resource, a capability (whoever
                                 * knows it can end the session): never listed nor logged */
  char *public_id;              /* "whep-" and 64 other random bits: the viewer's peer id, in
                                 * the API and the log */
  char *etag;
  char *remote_ufrag;           /* from the offer, to tell an ICE restart */
  guint remote_candidates;      /* taken from PATCHes, at most MAX_REMOTE_CANDIDATES */
  char *address;                /* nullable: the seat taken (psc_registry_take_seat()) */
  PscStream *stream;
  PscViewer *viewer;
  SoupServerMessage *pending;   /* the POST waiting for the answer */
} Session;

struct _PscWhep {
  GObject parent;

  PscRegistry *registry;
  PscViewerOptions options;
  GHashTable *sessions;         /* id -> Session* */
};

G_DEFINE_FINAL_TYPE (PscWhep, psc_whep, G_TYPE_OBJECT)

static void respond_text (SoupServerMessage *msg, guint status, const char *text);

static void
session_free (Session *session)
{
  if (session->viewer != NULL) {
    g_signal_handlers_disconnect_by_data (session->viewer, session);
    psc_viewer_stop (session->viewer);
    g_object_unref (session->viewer);
  }
  if (session->pending != NULL) {
    respond_text (session->pending, SOUP_STATUS_SERVICE_UNAVAILABLE,
        "the session ended before its answer (periscope is stopping)");
    soup_server_message_unpause (session->pending);
    g_object_unref (session->pending);
  }
  g_clear_object (&session->stream);
  psc_registry_release_seat (session->whep->registry, session->address);
  g_free (session->address);
  g_free (session->id);
  g_free (session->public_id);
  g_free (session->etag);
  g_free (session->remote_ufrag);
  g_free (session);
}

static void
psc_whep_finalize (GObject *object)
{
  PscWhep *self = PSC_WHEP (object);

  g_hash_table_unref (self->sessions);
  psc_ice_options_clear (&self->options.ice);
  g_object_unref (self->registry);
  G_OBJECT_CLASS (psc_whep_parent_class)->finalize (object);
}

static void
psc_whep_class_init (PscWhepClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psc_whep_finalize;
}

static void
psc_whep_init (PscWhep *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) session_free);
}

PscWhep *
psc_whep_new (PscRegistry *registry, const PscViewerOptions *options)
{
  PscWhep *self;

  g_return_val_if_fail (PSC_IS_REGISTRY (registry) && options != NULL, NULL);

  if (psc_whep_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_whep_debug, "psc-whep", 0, "periscope WHEP");

  self = g_object_new (PSC_TYPE_WHEP, NULL);
  self->registry = g_object_ref (registry);
  self->options = *options;
  psc_ice_options_copy (&options->ice, &self->options.ice);
  return self;
}

/* ---- HTTP helpers ---- */

static void
respond_text (SoupServerMessage *msg, guint status, const char *text)
{
  g_autofree char *line = g_strconcat (text, "\n", NULL);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, line,
      strlen (line));
}

/* One Link header per STUN/TURN server (RFC 9725 §4.6, which WHEP follows). */
static void
add_ice_server_links (PscWhep *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  for (guint i = 0; self->options.ice.servers && i < self->options.ice.servers->len; i++) {
    PscIceServer *server = g_ptr_array_index (self->options.ice.servers, i);
    g_autofree char *link = NULL;

    if (server->turn)
      link = g_strdup_printf ("<%s>; rel=\"ice-server\"; username=\"%s\"; credential=\"%s\"; "
          "credential-type=\"password\"", server->browser_url, server->username,
          server->credential);
    else
      link = g_strdup_printf ("<%s>; rel=\"ice-server\"", server->browser_url);
    soup_message_headers_append (headers, "Link", link);
  }
}

/* @prefix and @n_bytes (at most 16) random bytes in hex. */
static char *
random_hex (const char *prefix, gsize n_bytes)
{
  guint8 bytes[16];
  GString *hex = g_string_new (prefix);

  g_assert (n_bytes <= sizeof bytes);
  if (getrandom (bytes, n_bytes, 0) != (gssize) n_bytes)
    g_error ("getrandom failed: no source of randomness for WHEP session ids");
  for (guint i = 0; i < n_bytes; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);
  return g_string_free (hex, FALSE);
}

guint
psc_whep_http_status (const GError *error)
{
  g_return_val_if_fail (error != NULL, SOUP_STATUS_INTERNAL_SERVER_ERROR);

  if (error->domain == PSC_SDP_ERROR) {
    switch ((PscSdpError) error->code) {
      case PSC_SDP_ERROR_NO_CODEC:
        return SOUP_STATUS_NOT_ACCEPTABLE;
      case PSC_SDP_ERROR_TOO_LARGE:
        return SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
      case PSC_SDP_ERROR_ICE_RESTART:
        return SOUP_STATUS_UNPROCESSABLE_ENTITY;
      default:
        return SOUP_STATUS_BAD_REQUEST;
    }
  }
  if (error->domain == PSC_REGISTRY_ERROR) {
    switch ((PscRegistryError) error->code) {
      case PSC_REGISTRY_ERROR_VIEWER_LIMIT:
        return SOUP_STATUS_SERVICE_UNAVAILABLE;
      case PSC_REGISTRY_ERROR_ADDRESS_LIMIT:
        return TOO_MANY_REQUESTS;
      case PSC_REGISTRY_ERROR_NO_STREAM:
        return SOUP_STATUS_NOT_FOUND;
    }
  }
  if (error->domain == PSC_VIEWER_ERROR) {
    switch ((PscViewerError) error->code) {
      case PSC_VIEWER_ERROR_REMOTE_SDP:
      case PSC_VIEWER_ERROR_BAD_CANDIDATE:
        return SOUP_STATUS_BAD_REQUEST;
      case PSC_VIEWER_ERROR_BAD_STATE:
        return SOUP_STATUS_CONFLICT;
      default:
        break;
    }
  }
  return SOUP_STATUS_INTERNAL_SERVER_ERROR;
}

/* For g_ptr_array_sort(): @a and @b point to PscViewer pointers. */
static int
compare_started_at (gconstpointer a, gconstpointer b)
{
  gint64 ta = psc_viewer_get_started_at (*(PscViewer **) a);
  gint64 tb = psc_viewer_get_started_at (*(PscViewer **) b);

  return ta < tb ? -1 : ta > tb;
}

/* ---- A session's viewer (main context) ---- */

static void
on_answer (PscViewer *viewer, const char *sdp, gpointer user_data)
{
  Session *session = user_data;
  SoupServerMessage *msg = g_steal_pointer (&session->pending);
  SoupMessageHeaders *headers;
  g_autofree char *location = NULL;
  g_autofree char *etag = NULL;

  if (msg == NULL)
    return;
  headers = soup_server_message_get_response_headers (msg);
  location = g_strdup_printf ("/whep/%s/%s", psc_stream_get_id (session->stream), session->id);
  etag = g_strdup_printf ("\"%s\"", session->etag);
  soup_message_headers_replace (headers, "Location", location);
  soup_message_headers_replace (headers, "ETag", etag);
  add_ice_server_links (session->whep, msg);
  soup_server_message_set_status (msg, SOUP_STATUS_CREATED, NULL);
  soup_server_message_set_response (msg, "application/sdp", SOUP_MEMORY_COPY, sdp,
      strlen (sdp));
  soup_server_message_unpause (msg);
  g_object_unref (msg);
  g_message ("WHEP session %s on stream %s answered", session->public_id,
      psc_stream_get_id (session->stream));
}

static void
on_connected (PscViewer *viewer, gpointer user_data)
{
  Session *session = user_data;
  g_message ("WHEP viewer %s is watching stream %s", session->public_id,
      psc_stream_get_id (session->stream));
}

/* The session failed: before the answer, the POST gets why; after it, the session is reaped
 * (ICE failed, the connect timeout passed, a branch error). */
static void
on_failed (PscViewer *viewer, GError *error, gpointer user_data)
{
  Session *session = user_data;
  PscWhep *self = session->whep;

  if (session->pending != NULL) {
    SoupServerMessage *msg = g_steal_pointer (&session->pending);
    respond_text (msg, psc_whep_http_status (error), error->message);
    soup_server_message_unpause (msg);
    g_object_unref (msg);
  }
  g_message ("WHEP session %s on stream %s ended: %s", session->public_id,
      psc_stream_get_id (session->stream), error->message);
  g_hash_table_remove (self->sessions, session->id);
}

/* ---- Requests ---- */

static const char *
sdp_ufrag (const GstSDPMessage *sdp)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    const char *ufrag = gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, i),
        "ice-ufrag");
    if (ufrag != NULL)
      return ufrag;
  }
  return gst_sdp_message_get_attribute_val (sdp, "ice-ufrag");
}

static void
handle_post (PscWhep *self, SoupServerMessage *msg, PscStream *stream)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *type = soup_message_headers_get_content_type (
      soup_server_message_get_request_headers (msg), NULL);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GstSDPMessage) offer = NULL;
  g_autoptr (GError) error = NULL;
  PscSdpCodecChoice choice;
  gboolean available[PSC_CODEC_COUNT];
  g_autofree char *plid = NULL;
  Session *session;

  if (g_strcmp0 (type, "application/sdp") != 0) {
    respond_text (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
        "the offer must be sent as Content-Type: application/sdp");
    return;
  }
  bytes = soup_message_body_flatten (body);
  if (g_bytes_get_size (bytes) > PSC_WHEP_MAX_OFFER) {
    respond_text (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "the offer is over 64 KiB");
    return;
  }
  offer = psc_sdp_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
      "the body", &error);
  if (offer == NULL) {
    respond_text (msg, psc_whep_http_status (error), error->message);
    return;
  }
  if (!psc_stream_is_playing (stream)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Retry-After", RETRY_AFTER_S);
    respond_text (msg, SOUP_STATUS_CONFLICT, "the stream is not live; try again shortly");
    return;
  }
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    available[c] = psc_stream_can_send (stream, c);
  plid = psc_stream_dup_h264_profile_level_id (stream);
  if (!psc_sdp_choose_codec (offer, available, plid, &choice, &error)) {
    respond_text (msg, psc_whep_http_status (error), error->message);
    return;
  }
  /* After the codec: "no codec in common" (406) tells a player more than what follows. */
  if (!psc_sdp_check_offer (offer, &error)) {
    psc_sdp_codec_choice_clear (&choice);
    respond_text (msg, psc_whep_http_status (error), error->message);
    return;
  }

  /* Last: a seat is taken only for an offer that can be answered. */
  if (!psc_registry_take_seat (self->registry, soup_server_message_get_remote_host (msg),
          &error)) {
    psc_sdp_codec_choice_clear (&choice);
    /* WHEP, as WHIP ("Load balancing and redirections"): a refusal for capacity (503) says
     * when to come back; so does one for a client over its share (429, RFC 6585 §4). */
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Retry-After", RETRY_AFTER_S);
    respond_text (msg, psc_whep_http_status (error), error->message);
    return;
  }
  session = g_new0 (Session, 1);
  session->whep = self;
  session->address = g_strdup (soup_server_message_get_remote_host (msg));
  session->id = random_hex ("", 16);
  session->public_id = random_hex ("whep-", 8);
  session->etag = random_hex ("", 16);
  session->remote_ufrag = g_strdup (sdp_ufrag (offer));
  session->stream = g_object_ref (stream);
  session->viewer = psc_viewer_new (stream, session->public_id, choice.codec, &self->options);
  GST_INFO ("WHEP session %s: %s, payload type %u", session->public_id,
      psc_codec_to_string (choice.codec), choice.payload_type);
  if (!psc_viewer_start_answer (session->viewer, offer, &choice, &error)) {
    psc_sdp_codec_choice_clear (&choice);
    g_message ("WHEP session on stream %s refused: %s", psc_stream_get_id (stream),
        error->message);
    respond_text (msg, psc_whep_http_status (error), error->message);
    session_free (session);
    return;
  }
  psc_sdp_codec_choice_clear (&choice);
  g_signal_connect (session->viewer, "answer", G_CALLBACK (on_answer), session);
  g_signal_connect (session->viewer, "connected", G_CALLBACK (on_connected), session);
  g_signal_connect (session->viewer, "failed", G_CALLBACK (on_failed), session);
  g_hash_table_replace (self->sessions, session->id, session);
  session->pending = g_object_ref (msg);
  soup_server_message_pause (msg);
}

/* RFC 8840 trickle: "a=candidate:…" lines, maybe with a=ice-ufrag/pwd and a=mid. */
static void
handle_patch (PscWhep *self, SoupServerMessage *msg, Session *session)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  const char *type = soup_message_headers_get_content_type (request, NULL);
  const char *if_match = soup_message_headers_get_one (request, "If-Match");
  g_autofree char *etag = g_strdup_printf ("\"%s\"", session->etag);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) candidates = NULL;
  guint n_candidates;

  if (g_strcmp0 (type, "application/trickle-ice-sdpfrag") != 0) {
    respond_text (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
        "candidates must be sent as Content-Type: application/trickle-ice-sdpfrag");
    return;
  }
  if (if_match != NULL && !g_str_equal (if_match, "*") && !g_str_equal (if_match, etag)) {
    respond_text (msg, SOUP_STATUS_PRECONDITION_FAILED, "If-Match does not match the ETag");
    return;
  }
  bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (g_bytes_get_size (bytes) > PSC_WHEP_MAX_OFFER) {
    respond_text (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "the fragment is over 64 KiB");
    return;
  }
  candidates = psc_sdp_parse_fragment (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
      session->remote_ufrag, &error);
  if (candidates == NULL) {
    respond_text (msg, psc_whep_http_status (error), error->message);
    return;
  }
  n_candidates = g_strv_length (candidates);
  if (n_candidates > MAX_REMOTE_CANDIDATES - session->remote_candidates) {
    g_autofree char *reason = g_strdup_printf ("a session takes at most %u remote candidates "
        "(%u taken, %u more sent)", MAX_REMOTE_CANDIDATES, session->remote_candidates,
        n_candidates);
    respond_text (msg, 422, reason);
    return;
  }
  for (guint i = 0; i < n_candidates; i++) {
    if (!psc_viewer_add_ice_candidate (session->viewer, 0, candidates[i], &error)) {
      respond_text (msg, psc_whep_http_status (error), error->message);
      return;
    }
    session->remote_candidates++;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void
handle_options (PscWhep *self, SoupServerMessage *msg, gboolean resource)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *methods = resource ? "OPTIONS, PATCH, DELETE" : "OPTIONS, POST";

  soup_message_headers_replace (headers, "Allow", methods);
  if (!resource) {
    soup_message_headers_replace (headers, "Accept-Post", "application/sdp");
    add_ice_server_links (self, msg);
  }
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void
on_whep (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  PscWhep *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint n = g_strv_length (parts);
  g_autoptr (GError) error = NULL;
  PscStream *stream;
  Session *session = NULL;

  if (n < 2 || n > 3 || !g_str_equal (parts[0], "whep") ||
      !psc_protocol_id_is_valid (parts[1])) {
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "WHEP endpoints are /whep/{stream}");
    return;
  }
  stream = psc_registry_lookup_checked (self->registry, parts[1], &error);
  if (stream == NULL) {
    respond_text (msg, psc_whep_http_status (error), error->message);
    return;
  }
  if (method == SOUP_METHOD_OPTIONS) {
    handle_options (self, msg, n == 3);
    return;
  }
  if (n == 2) {
    if (method == SOUP_METHOD_POST)
      handle_post (self, msg, stream);
    else
      respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "POST an SDP offer here");
    return;
  }

  session = g_hash_table_lookup (self->sessions, parts[2]);
  if (session == NULL || session->stream != stream) {
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "no such WHEP session (ended, or never was)");
    return;
  }
  if (g_str_equal (method, "PATCH")) {
    handle_patch (self, msg, session);
  } else if (method == SOUP_METHOD_DELETE) {
    g_message ("WHEP session %s on stream %s deleted", session->public_id,
        psc_stream_get_id (stream));
    g_hash_table_remove (self->sessions, parts[2]);
    respond_text (msg, SOUP_STATUS_OK, "session ended");
  } else {
    respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
        "a WHEP session takes PATCH (candidates) and DELETE");
  }
}

void
psc_whep_add_handlers (PscWhep *self, SoupServer *server)
{
  g_return_if_fail (PSC_IS_WHEP (self) && SOUP_IS_SERVER (server));
  soup_server_add_handler (server, "/whep", on_whep, g_object_ref (self), g_object_unref);
}

guint
psc_whep_get_session_count (PscWhep *self)
{
  g_return_val_if_fail (PSC_IS_WHEP (self), 0);
  return g_hash_table_size (self->sessions);
}

void
psc_whep_close_all (PscWhep *self)
{
  g_return_if_fail (PSC_IS_WHEP (self));
  g_hash_table_remove_all (self->sessions);
}

GPtrArray *
psc_whep_list_viewers (PscWhep *self, const char *stream_id)
{
  GPtrArray *list;
  GHashTableIter iter;
  Session *session;

  g_return_val_if_fail (PSC_IS_WHEP (self), NULL);

  list = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session)) {
    if (stream_id == NULL || g_str_equal (stream_id, psc_stream_get_id (session->stream)))
      g_ptr_array_add (list, g_object_ref (session->viewer));
  }
  g_ptr_array_sort (list, compare_started_at);
  return list;
}
