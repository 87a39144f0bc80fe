/* periscope — the daemon: what main() runs, from the configuration to the main loop's end
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-daemon.h"
#include "psc-auth.h"
#include "psc-encoder.h"
#include "psc-devices.h"
#include "psc-history.h"
#include "psc-origin.h"
#include "psc-redact.h"
#include "psc-registry.h"
#include "psc-rooms.h"
#include "psc-server.h"
#include "psc-signalling.h"
#include "psc-source.h"
#include "psc-stream.h"
#include "psc-tls.h"
#include "psc-viewer.h"
#include "psc-whep.h"

#include <errno.h>
#include <glib-unix.h>
#include <interfaces.h>
#include <string.h>
#include <sys/resource.h>

/* How long the first frame may take: cameras can be slow to start streaming. */
#define START_TIMEOUT_MS 10000
/* How long viewers get to see the WebSocket close on shutdown. */
#define SHUTDOWN_GRACE_MS 1000

struct _PscDaemon {
  GObject parent;

  const PscConfig *config;
  GMainLoop *loop;
  guint signal_sources[2];
  PscRegistry *registry;
  PscDevices *devices;          /* nullable: no stream captures from a V4L2 device */
  PscSignalling *signalling;
  PscWhep *whep;
  PscServer *server;
  guint grace_timer;
  guint peers_timer;
  gboolean stopping;
  PscExitCode exit_code;
  GThread *certificate_thread;  /* psc_viewer_prepare()'s; joined (join_certificate_thread()) */
};

G_DEFINE_FINAL_TYPE (PscDaemon, psc_daemon, G_TYPE_OBJECT)

PscExitCode
psc_exit_code_for_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, PSC_EXIT_UNAVAILABLE);

  if (error->domain == PSC_TLS_ERROR)
    return error->code == PSC_TLS_ERROR_FILE ? PSC_EXIT_USAGE : PSC_EXIT_UNAVAILABLE;
  return error->domain == PSC_CONFIG_ERROR || error->domain == G_OPTION_ERROR ||
      error->domain == PSC_AUTH_ERROR ? PSC_EXIT_USAGE : PSC_EXIT_UNAVAILABLE;
}

/* The DTLS certificate made (psc_viewer_prepare()): before the process may exit. */
static void
join_certificate_thread (PscDaemon *self)
{
  if (self->certificate_thread != NULL)
    g_thread_join (g_steal_pointer (&self->certificate_thread));
}

static void
psc_daemon_finalize (GObject *object)
{
  PscDaemon *self = PSC_DAEMON (object);
  GPtrArray *streams;

  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  g_clear_handle_id (&self->grace_timer, g_source_remove);
  g_clear_handle_id (&self->peers_timer, g_source_remove);
  g_clear_object (&self->server);
  g_clear_object (&self->whep);
  g_clear_object (&self->signalling);
  g_clear_pointer (&self->devices, psc_devices_free);
  if (self->registry != NULL) {
    streams = psc_registry_get_streams (self->registry);
    for (guint i = 0; i < streams->len; i++) {
      g_signal_handlers_disconnect_by_data (g_ptr_array_index (streams, i), self);
      psc_stream_stop (g_ptr_array_index (streams, i));
    }
  }
  g_clear_object (&self->registry);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  join_certificate_thread (self);
  G_OBJECT_CLASS (psc_daemon_parent_class)->finalize (object);
}

static void
psc_daemon_class_init (PscDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psc_daemon_finalize;
}

static void
psc_daemon_init (PscDaemon *self)
{
}

static gboolean
on_grace_over (gpointer user_data)
{
  PscDaemon *self = user_data;

  self->grace_timer = 0;
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_peers_check (gpointer user_data)
{
  PscDaemon *self = user_data;

  if (psc_signalling_get_peer_count (self->signalling) > 0)
    return G_SOURCE_CONTINUE;
  self->peers_timer = 0;
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

/* Tells the viewers, then quits the loop once their sockets are closed (or after a grace
 * period). A second call (a second Ctrl-C) quits at once. */
static void
stop (PscDaemon *self, PscExitCode exit_code)
{
  if (self->stopping) {
    g_main_loop_quit (self->loop);
    return;
  }
  self->stopping = TRUE;
  self->exit_code = exit_code;
  g_print ("periscope: stopping\n");
  if (self->signalling == NULL) {
    g_main_loop_quit (self->loop);
    return;
  }
  psc_signalling_shutdown (self->signalling);
  psc_whep_close_all (self->whep);
  self->grace_timer = g_timeout_add (SHUTDOWN_GRACE_MS, on_grace_over, self);
  self->peers_timer = g_timeout_add (20, on_peers_check, self);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  stop (user_data, PSC_EXIT_OK);
  return G_SOURCE_CONTINUE;
}

PscDaemon *
psc_daemon_new (const PscConfig *config)
{
  PscDaemon *self;

  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (PSC_TYPE_DAEMON, NULL);
  self->config = config;
  self->loop = g_main_loop_new (NULL, FALSE);
  self->signal_sources[0] = g_unix_signal_add (SIGINT, on_quit_signal, self);
  self->signal_sources[1] = g_unix_signal_add (SIGTERM, on_quit_signal, self);
  return self;
}

/* The camera pipeline failed outside its source (an encoder): the viewers were told
 * (stream_failed). Exit with EX_UNAVAILABLE, so a supervisor (systemd Restart=on-failure)
 * starts periscope afresh and the pages reconnect by themselves. A source that fails or ends
 * does not come here: the stream goes offline and retries (on_stream_state). */
static void
on_stream_error (PscStream *stream, GError *error, gpointer user_data)
{
  g_autofree char *message = psc_redact_credentials (error->message);

  g_printerr ("periscope: stream %s failed: %s\n", psc_stream_get_id (stream), message);
  stop (user_data, PSC_EXIT_UNAVAILABLE);
}

/* The HTTP server can no longer accept connections (libsoup's listener gave up after a
 * failed accept, typically EMFILE): only a restart brings it back. */
static void
on_listener_failed (PscServer *server, GError *error, gpointer user_data)
{
  g_printerr ("periscope: %s; exiting so that the supervisor restarts periscope\n",
      error->message);
  stop (user_data, PSC_EXIT_UNAVAILABLE);
}

/* Every viewer holds sockets, and every HTTP connection one: a soft limit of 1024 (the
 * usual default) is used up by a few hundred. Raised to the hard limit, which the
 * administrator sets (systemd's LimitNOFILE=). Nothing here uses select(), which breaks on
 * descriptors over 1023. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlim_t soft = limit.rlim_cur;

    limit.rlim_cur = limit.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
      limit.rlim_cur = soft;
  }
  g_debug ("file descriptor limit: %" G_GUINT64_FORMAT " (hard limit %" G_GUINT64_FORMAT ")",
      (guint64) limit.rlim_cur, (guint64) limit.rlim_max);
}

/* The source went away (the viewers see the slate, periscope retries) or came back. */
static void
on_stream_state (PscStream *stream, guint state, const char *reason, gpointer user_data)
{
  if (state == PSC_STREAM_OFFLINE)
    g_printerr ("periscope: stream %s offline: %s (retrying)\n", psc_stream_get_id (stream),
        reason);
  else
    g_print ("periscope: stream %s live\n", psc_stream_get_id (stream));
}

/* Encoders run while their codec has viewers; the operator sees them come. */
static void
on_encoder_started (PscStream *stream, guint codec, const char *encoder, gpointer user_data)
{
  PscDaemon *self = user_data;
  const PscConfig *config = self->config;
  /* A hand-written encoder follows --bitrate only where it says ${bitrate_…}. */
  gboolean own_bitrate = config->encoder != NULL && codec == (guint) config->codec &&
      strstr (config->encoder, "${bitrate") == NULL;

  if (psc_stream_passes_through (stream, codec)) {
    g_autofree char *plid = psc_stream_dup_h264_profile_level_id (stream);
    g_print ("periscope: stream %s passes the source's %s through (profile-level-id %s), "
        "no encoder\n", psc_stream_get_id (stream), psc_codec_to_string (codec),
        plid != NULL ? plid : "unknown");
    return;
  }
  g_print ("periscope: encoder %s started for stream %s: %s %dx%d at up to %d fps, ",
      encoder, psc_stream_get_id (stream), psc_codec_to_string (codec), config->width,
      config->height, config->framerate);
  if (own_bitrate)
    g_print ("bitrate as in the encoder description\n");
  else
    g_print ("%d kbit/s\n", config->bitrate);
}

/* A V4L2 camera unplugged (or not there at start-up) is tried again as soon as it appears,
 * not at the next retry of the backoff, up to 30 s later. */
static void
watch_device (PscDaemon *self, PscStream *stream, const char *path)
{
  if (self->devices == NULL) {
    self->devices = psc_devices_new ();
    if (!psc_devices_start (self->devices))
      g_printerr ("periscope: no device monitor for cameras here: if %s goes away, it is "
          "found again by the retries only\n", path);
  }
  psc_devices_watch (self->devices, stream, path);
}

/* Chooses the source and the encoders, builds and starts the stream. */
static PscStream *
start_stream (PscDaemon *self, GError **error)
{
  const PscConfig *config = self->config;
  g_autoptr (PscSourceChoice) source = NULL;
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { NULL };
  g_autoptr (PscStream) stream = NULL;
  PscCodec codec;

  source = psc_source_select (config, error);
  if (source == NULL)
    return NULL;
  {
    g_autofree char *description = psc_redact_credentials (source->description);
    g_print ("periscope: source: %s\n  %s\n", description, source->reason);
  }

  if (!psc_encoder_select_all (config, NULL, NULL, encoders, &codec, error))
    return NULL;
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    if (encoders[c] != NULL)
      g_print ("periscope: %s encoder: %s%s\n  %s\n", psc_codec_to_string (c),
          encoders[c]->factory, c == codec ? " (the page's codec)" : "", encoders[c]->reason);
    else
      g_print ("periscope: %s: no working encoder here (--list-encoders says why)\n",
          psc_codec_to_string (c));
  }

  stream = psc_stream_new (config->stream_id, source, encoders, codec, config, error);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    g_clear_pointer (&encoders[c], psc_encoder_choice_free);
  if (stream == NULL)
    return NULL;
  if (self->certificate_thread == NULL)
    self->certificate_thread = psc_viewer_prepare ();
  if (!psc_stream_start (stream, START_TIMEOUT_MS, error)) {
    g_prefix_error (error, "cannot start stream %s: ", config->stream_id);
    return NULL;
  }
  if (psc_stream_get_state (stream) == PSC_STREAM_OFFLINE) {
    g_autofree char *reason = psc_stream_dup_offline_reason (stream);
    g_printerr ("periscope: stream %s offline: %s (retrying; the page shows a slate "
        "meanwhile)\n", config->stream_id, reason);
  }
  g_signal_connect (stream, "error", G_CALLBACK (on_stream_error), self);
  g_signal_connect (stream, "state-changed", G_CALLBACK (on_stream_state), self);
  g_signal_connect (stream, "encoder-started", G_CALLBACK (on_encoder_started), self);
  if (source->device != NULL)
    watch_device (self, stream, source->device);
  return g_steal_pointer (&stream);
}

/* The addresses a self-signed certificate names: the one bound to, or every interface's. */
static GStrv
certificate_addresses (const PscConfig *config)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  GList *ips;

  if (config->bind != NULL && !g_str_equal (config->bind, "0.0.0.0") &&
      !g_str_equal (config->bind, "::")) {
    g_strv_builder_add (builder, config->bind);
    return g_strv_builder_end (builder);
  }
  ips = nice_interfaces_get_local_ips (FALSE);
  for (GList *l = ips; l != NULL; l = l->next)
    g_strv_builder_add (builder, l->data);
  g_list_free_full (ips, g_free);
  return g_strv_builder_end (builder);
}

/* --tls-cert/--tls-key or --tls self-signed: the certificate (*@out stays NULL without
 * either), its fingerprint printed for users to compare with what their browser shows.
 * Before the capture starts, so that a wrong file is said at once. */
static gboolean
load_tls (PscDaemon *self, GTlsCertificate **out, GError **error)
{
  const PscConfig *config = self->config;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *fingerprint = NULL;
  gboolean created = FALSE;

  if (config->tls_cert != NULL) {
    certificate = psc_tls_load (config->tls_cert, config->tls_key, error);
  } else if (config->tls_self_signed) {
    g_auto (GStrv) addresses = certificate_addresses (config);
    data_dir = config->data_dir != NULL ? g_strdup (config->data_dir) :
        psc_tls_default_data_dir ();
    certificate = psc_tls_self_signed (data_dir, g_get_host_name (),
        (const char *const *) addresses, &created, error);
  } else {
    return TRUE;
  }
  if (certificate == NULL)
    return FALSE;
  if (data_dir != NULL)
    g_print ("periscope: %s self-signed TLS certificate in %s\n",
        created ? "made a" : "using the", data_dir);
  fingerprint = psc_tls_fingerprint (certificate);
  g_print ("periscope: TLS certificate SHA-256 fingerprint %s\n", fingerprint);
  *out = g_steal_pointer (&certificate);
  return TRUE;
}

/* Adds @name to @builder if it is a name for the origin policy's hosts. */
static void
add_server_name (GStrvBuilder *builder, const char *name)
{
  if (psc_origin_is_host_name (name))
    g_strv_builder_add (builder, name);
}

/* The names the server answers to besides its addresses and localhost (the origin policy's
 * hosts): the box's host name and mDNS name (psc_origin_box_names()), the TLS certificate's
 * DNS names, and --allow-host's (checked with the options: psc_config_validate()). */
static GStrv
server_names (const PscConfig *config, GTlsCertificate *certificate)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) own = psc_origin_box_names (g_get_host_name ());

  for (guint i = 0; own[i] != NULL; i++)
    add_server_name (builder, own[i]);
  if (certificate != NULL) {
    g_autoptr (GPtrArray) names = g_tls_certificate_get_dns_names (certificate);

    for (guint i = 0; names != NULL && i < names->len; i++) {
      GBytes *name = g_ptr_array_index (names, i);
      g_autofree char *text = g_strndup (g_bytes_get_data (name, NULL), g_bytes_get_size (name));

      /* A wildcard name (*.example.org, RFC 6125 §6.4.3) stands for the names under it:
       * every depth, and example.org too, is wider than the wildcard, but a browser there
       * still needs the certificate to match. */
      add_server_name (builder, g_str_has_prefix (text, "*.") ? text + 1 : text);
    }
  }
  if (config->allowed_hosts != NULL)
    g_strv_builder_addv (builder, (const char **) config->allowed_hosts);
  return g_strv_builder_end (builder);
}

/* The call rooms and their chat history, in --data-dir. A store that cannot be opened is one
 * line, and periscope goes on without chat: the camera matters more. */
static PscRooms *
open_rooms (const PscConfig *config)
{
  g_autofree char *data_dir = config->data_dir != NULL ? g_strdup (config->data_dir) :
      psc_tls_default_data_dir ();
  g_autofree char *path = g_build_filename (data_dir, PSC_HISTORY_FILE, NULL);
  g_autoptr (GError) error = NULL;
  PscHistory *history = NULL;
  PscRooms *rooms;

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot make the data directory %s: %s (--data-dir chooses another)", data_dir,
        g_strerror (errno));
  else
    history = psc_history_open (path, &error);
  if (history == NULL)
    g_warning ("chat is unavailable: %s", error->message);
  else
    g_print ("periscope: rooms and chat history in %s\n", path);
  rooms = psc_rooms_new (history, config->open_rooms);
  psc_rooms_set_retention (rooms, config->chat_retention_days, config->chat_max_per_room);
  return rooms;
}

/* --users and --token-file, read before anything starts: a mistake in them stops the
 * daemon, naming the line, rather than leaving it open or locked. */
static PscAuth *
load_accounts (const PscConfig *config, GError **error)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();

  if (config->users_file != NULL && !psc_auth_load_file (auth, config->users_file, FALSE, error))
    return NULL;
  if (config->token_file != NULL && !psc_auth_load_file (auth, config->token_file, TRUE, error))
    return NULL;
  return g_steal_pointer (&auth);
}

gboolean
psc_daemon_start (PscDaemon *self, GError **error)
{
  const PscConfig *config;
  g_autoptr (PscStream) stream = NULL;
  g_auto (GStrv) urls = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  PscViewerOptions viewer_options = { 0 };
  g_autoptr (PscAuth) auth = NULL;

  g_return_val_if_fail (PSC_IS_DAEMON (self) && self->registry == NULL, FALSE);

  config = self->config;
  auth = load_accounts (config, error);
  if (auth == NULL)
    return FALSE;
  raise_fd_limit ();
  if (!load_tls (self, &certificate, error))
    return FALSE;
  stream = start_stream (self, error);
  if (stream == NULL)
    return FALSE;
  self->registry = psc_registry_new (config->max_viewers);
  psc_registry_set_max_per_address (self->registry, config->max_viewers_per_address);
  psc_registry_add_stream (self->registry, stream);

  viewer_options.ice.addresses = config->ice_addresses;
  viewer_options.ice.servers = config->ice_servers;
  viewer_options.connect_timeout_s = config->connect_timeout;
  self->signalling = psc_signalling_new (self->registry, &viewer_options);
  {
    g_autoptr (PscRooms) rooms = open_rooms (config);
    psc_signalling_set_rooms (self->signalling, rooms);
  }
  self->whep = psc_whep_new (self->registry, &viewer_options);
  self->server = psc_server_new (self->registry, self->signalling, self->whep);
  {
    g_auto (GStrv) names = server_names (config, certificate);

    /* The origins and --allow-host were checked with the options (psc_config_validate()),
     * and server_names() adds names of its own only when they are names. */
    psc_server_set_origin_policy (self->server, psc_origin_policy_new (
            (const char *const *) config->allowed_origins, (const char *const *) names, NULL));
  }
  if (psc_auth_is_enabled (auth))
    g_print ("periscope: accounts on: everything but /healthz and the login page needs a "
        "login or a token\n");
  else
    g_print ("periscope: no accounts (--users): anyone who reaches the port can watch\n");
  psc_server_set_auth (self->server, g_steal_pointer (&auth));
  g_signal_connect (self->server, "listener-failed", G_CALLBACK (on_listener_failed), self);
  if (certificate != NULL)
    psc_server_set_tls_certificate (self->server, certificate);
  if (!psc_server_listen (self->server, config->bind, config->port, error)) {
    g_prefix_error (error, "cannot listen on %s port %d: ",
        config->bind ? config->bind : "every interface", config->port);
    return FALSE;
  }
  if (config->http_redirect_port != 0) {
    if (!psc_server_listen_redirect (self->server, config->bind, config->http_redirect_port,
            error)) {
      g_prefix_error (error, "cannot listen on %s port %d (--http-redirect-port): ",
          config->bind ? config->bind : "every interface", config->http_redirect_port);
      return FALSE;
    }
    g_print ("periscope: plain HTTP on port %u is redirected to HTTPS\n",
        psc_server_get_redirect_port (self->server));
  }
  urls = psc_server_get_page_urls (self->server, config->bind);
  for (guint i = 0; urls[i] != NULL; i++)
    g_print ("periscope: open %s\n", urls[i]);
  return TRUE;
}

PscExitCode
psc_daemon_run (PscDaemon *self)
{
  g_return_val_if_fail (PSC_IS_DAEMON (self), PSC_EXIT_UNAVAILABLE);

  /* A signal during start-up has asked to stop already. */
  if (!self->stopping)
    g_main_loop_run (self->loop);
  join_certificate_thread (self);
  return self->exit_code;
}
