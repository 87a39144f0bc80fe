/* periscope — command-line options, presets and their validation
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-config.h"
#include "psc-protocol.h"
#include "psc-origin.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <string.h>

#define PRESET_RESOURCE_DIR "/org/periscope/pipelines/"
#define PRESET_SUFFIX ".preset"
#define PRESET_GROUP "preset"

G_DEFINE_QUARK (psc-config-error-quark, psc_config_error)

PscConfig *
psc_config_new (void)
{
  PscConfig *config = g_new0 (PscConfig, 1);

  config->codec = PSC_CODEC_H264;
  config->width = 1280;
  config->height = 720;
  config->framerate = 30;
  config->bitrate = 2000;
  config->port = 8080;
  config->stream_id = g_strdup ("camera");
  config->connect_timeout = 20;
  config->max_viewers = 100;
  config->max_viewers_per_address = PSC_CONFIG_MAX_VIEWERS_PER_ADDRESS;
  config->chat_retention_days = 30;
  config->chat_max_per_room = 10000;
  config->ice_servers = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_ice_server_free);
  return config;
}

void
psc_config_free (PscConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->source);
  g_free (config->device);
  g_free (config->url);
  g_free (config->encoder);
  g_free (config->preset);
  g_free (config->bind);
  g_strfreev (config->ice_addresses);
  g_strfreev (config->allowed_origins);
  g_strfreev (config->allowed_hosts);
  g_free (config->tls_cert);
  g_free (config->tls_key);
  g_free (config->data_dir);
  g_free (config->users_file);
  g_free (config->token_file);
  g_free (config->hash_password_for);
  g_ptr_array_unref (config->ice_servers);
  g_free (config->stream_id);
  g_free (config);
}

static gboolean
check_range (const char *option, int value, int min, int max, GError **error)
{
  if (value < min || value > max) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "%s must be between %d and %d, not %d", option, min, max, value);
    return FALSE;
  }
  return TRUE;
}

static GKeyFile *
load_preset (const char *name, GError **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;

  if (strchr (name, '/') != NULL) {
    if (!g_key_file_load_from_file (keyfile, name, G_KEY_FILE_NONE, &local_error)) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET,
          "cannot read preset file %s: %s", name, local_error->message);
      return NULL;
    }
  } else {
    g_autofree char *path = g_strconcat (PRESET_RESOURCE_DIR, name, PRESET_SUFFIX, NULL);
    g_autoptr (GBytes) bytes =
        g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    g_auto (GStrv) names = NULL;
    g_autofree char *known = NULL;

    if (bytes == NULL) {
      names = psc_config_list_presets ();
      known = g_strjoinv (", ", names);
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET,
          "no preset named \"%s\"; the presets are: %s (or give a path to a .preset file)",
          name, known);
      return NULL;
    }
    if (!g_key_file_load_from_bytes (keyfile, bytes, G_KEY_FILE_NONE, &local_error)) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET,
          "preset %s is malformed: %s", name, local_error->message);
      return NULL;
    }
  }
  if (!g_key_file_has_group (keyfile, PRESET_GROUP)) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET,
        "preset %s has no [" PRESET_GROUP "] group", name);
    return NULL;
  }
  return g_steal_pointer (&keyfile);
}

gboolean
psc_config_apply_preset (PscConfig *config, const char *name, GError **error)
{
  g_autoptr (GKeyFile) keyfile = NULL;
  g_autofree char *codec = NULL;

  g_return_val_if_fail (config != NULL && name != NULL, FALSE);

  keyfile = load_preset (name, error);
  if (keyfile == NULL)
    return FALSE;

  if (config->source == NULL) {
    config->source = g_key_file_get_string (keyfile, PRESET_GROUP, "source", NULL);
    config->source_from_preset = config->source != NULL;
  }
  if (config->encoder == NULL) {
    config->encoder = g_key_file_get_string (keyfile, PRESET_GROUP, "encoder", NULL);
    config->encoder_from_preset = config->encoder != NULL;
  }
  codec = g_key_file_get_string (keyfile, PRESET_GROUP, "codec", NULL);
  if (codec != NULL && !config->codec_explicit) {
    if (!psc_codec_from_string (codec, &config->codec)) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET,
          "preset %s names an unknown codec \"%s\" (use h264 or vp8)", name, codec);
      return FALSE;
    }
    config->codec_explicit = TRUE;
  }
  g_free (config->preset);
  config->preset = g_strdup (name);
  return TRUE;
}

static int
compare_names (const void *a, const void *b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

GStrv
psc_config_list_presets (void)
{
  g_auto (GStrv) children = g_resources_enumerate_children (PRESET_RESOURCE_DIR,
      G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  GStrv names;

  for (guint i = 0; children != NULL && children[i] != NULL; i++) {
    if (g_str_has_suffix (children[i], PRESET_SUFFIX)) {
      g_autofree char *name =
          g_strndup (children[i], strlen (children[i]) - strlen (PRESET_SUFFIX));
      g_strv_builder_add (builder, name);
    }
  }
  names = g_strv_builder_end (builder);
  qsort (names, g_strv_length (names), sizeof (char *), compare_names);
  return names;
}

char *
psc_config_preset_get (const char *name, const char *key, GError **error)
{
  g_autoptr (GKeyFile) keyfile = NULL;
  g_autoptr (GError) local_error = NULL;
  char *value;

  g_return_val_if_fail (name != NULL && key != NULL, NULL);

  keyfile = load_preset (name, error);
  if (keyfile == NULL)
    return NULL;
  value = g_key_file_get_string (keyfile, PRESET_GROUP, key, &local_error);
  if (value == NULL)
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET, "preset %s has no %s: %s",
        name, key, local_error->message);
  return value;
}

char *
psc_config_expand (const PscConfig *config, const char *description, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *p = description;

  g_return_val_if_fail (config != NULL && description != NULL, NULL);

  while (*p != '\0') {
    const char *start = strstr (p, "${");
    const char *end;
    g_autofree char *name = NULL;

    if (start == NULL) {
      g_string_append (out, p);
      break;
    }
    g_string_append_len (out, p, start - p);
    end = strchr (start, '}');
    if (end == NULL) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "unterminated ${ in \"%s\"", description);
      return NULL;
    }
    name = g_strndup (start + 2, end - start - 2);
    if (g_str_equal (name, "bitrate_kbps"))
      g_string_append_printf (out, "%d", config->bitrate);
    else if (g_str_equal (name, "bitrate_bps"))
      g_string_append_printf (out, "%d", config->bitrate * 1000);
    else if (g_str_equal (name, "keyframe_interval"))
      g_string_append_printf (out, "%d", config->keyframe_interval);
    else if (g_str_equal (name, "width"))
      g_string_append_printf (out, "%d", config->width);
    else if (g_str_equal (name, "height"))
      g_string_append_printf (out, "%d", config->height);
    else if (g_str_equal (name, "framerate"))
      g_string_append_printf (out, "%d", config->framerate);
    else if (g_str_equal (name, "device"))
      g_string_append (out, config->device ? config->device : "/dev/video0");
    else if (g_str_equal (name, "url") && config->url != NULL)
      g_string_append (out, config->url);
    else if (g_str_equal (name, "url")) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "\"%s\" needs the camera's address: give --url (e.g. "
          "--url rtsp://user:password@192.0.2.10:554/stream1)", description);
      return NULL;
    } else {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "unknown variable ${%s} in \"%s\" (known: bitrate_kbps, bitrate_bps, "
          "keyframe_interval, width, height, framerate, device, url)", name, description);
      return NULL;
    }
    p = end + 1;
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The TLS options go together: a certificate needs its key, one certificate at a time, and
 * a redirect to HTTPS needs HTTPS. The files themselves are read by psc_tls_load(). */
static gboolean
check_tls (const PscConfig *config, GError **error)
{
  gboolean tls = config->tls_self_signed || config->tls_cert != NULL;

  if ((config->tls_cert == NULL) != (config->tls_key == NULL)) {
    g_set_error_literal (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--tls-cert and --tls-key go together: give both");
    return FALSE;
  }
  if (config->tls_self_signed && config->tls_cert != NULL) {
    g_set_error_literal (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--tls self-signed and --tls-cert both choose the certificate; give one");
    return FALSE;
  }
  if (!check_range ("--http-redirect-port", config->http_redirect_port, 0, 65535, error))
    return FALSE;
  if (config->http_redirect_port != 0 && !tls) {
    g_set_error_literal (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--http-redirect-port redirects to HTTPS: it needs --tls self-signed or --tls-cert");
    return FALSE;
  }
  if (config->http_redirect_port != 0 && config->http_redirect_port == config->port) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--http-redirect-port must differ from --port (%d)", config->port);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_origins (const PscConfig *config, GError **error)
{
  g_autoptr (GError) origin_error = NULL;
  g_autoptr (PscOriginPolicy) origins = psc_origin_policy_new (
      (const char *const *) config->allowed_origins, NULL, &origin_error);
  g_autoptr (PscOriginPolicy) hosts = NULL;

  if (origins == NULL) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE, "--allow-origin: %s",
        origin_error->message);
    return FALSE;
  }
  hosts = psc_origin_policy_new (NULL, (const char *const *) config->allowed_hosts,
      &origin_error);
  if (hosts == NULL) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE, "--allow-host: %s",
        origin_error->message);
    return FALSE;
  }
  return TRUE;
}

gboolean
psc_config_validate (PscConfig *config, GError **error)
{
  g_return_val_if_fail (config != NULL, FALSE);

  if (!check_range ("--width", config->width, 16, 7680, error) ||
      !check_range ("--height", config->height, 16, 4320, error) ||
      !check_range ("--framerate", config->framerate, 1, 240, error) ||
      !check_range ("--bitrate", config->bitrate, 50, 200000, error) ||
      !check_range ("--port", config->port, 0, 65535, error) ||
      !check_range ("--connect-timeout", config->connect_timeout, 1, 3600, error) ||
      !check_range ("--max-viewers", config->max_viewers, 1, 10000, error) ||
      !check_range ("--max-viewers-per-address", config->max_viewers_per_address, 0, 10000,
          error) ||
      !check_range ("--chat-retention-days", config->chat_retention_days, 0, 36500, error) ||
      !check_range ("--chat-max-per-room", config->chat_max_per_room, 0, 10000000, error))
    return FALSE;
  /* 4:2:0 encoders need even dimensions. */
  if (config->width % 2 != 0 || config->height % 2 != 0) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--width and --height must be even (4:2:0 video), not %dx%d", config->width,
        config->height);
    return FALSE;
  }
  if (!psc_protocol_id_is_valid (config->stream_id)) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--stream-id must be 1 to %d characters of A-Z a-z 0-9 _ . -, not \"%s\"",
        PSC_PROTOCOL_MAX_ID_LENGTH, config->stream_id);
    return FALSE;
  }
  if (config->bind != NULL && !g_hostname_is_ip_address (config->bind)) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--bind must be an IP address, not \"%s\"", config->bind);
    return FALSE;
  }
  for (guint i = 0; config->ice_addresses != NULL && config->ice_addresses[i] != NULL; i++) {
    if (!g_hostname_is_ip_address (config->ice_addresses[i])) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "--ice-address must be an IP address, not \"%s\"", config->ice_addresses[i]);
      return FALSE;
    }
  }
  if (!check_tls (config, error) || !check_origins (config, error))
    return FALSE;
  /* Two seconds between keyframes bounds recovery when a PLI is lost; joins and PLIs
   * force keyframes sooner. */
  config->keyframe_interval = config->framerate * 2;
  return TRUE;
}

/* GOptionArgFunc of --hash-password, whose argument is optional. */
static gboolean
on_hash_password (const char *option, const char *value, gpointer data, GError **error)
{
  PscConfig *config = data;

  /* WORKAROUND(GLib 2.74): an optional argument that is not text in the locale's encoding
   * (`--hash-password=$'\x93'`): GOption sets @error converting it, then calls this callback
   * anyway, with NULL, and parses on with @error set (goption.c parse_arg(); the next error
   * is set over it, or the parse "succeeds" with it). Found by fuzz-config. Failing here
   * ends the parse with GOption's error.
   * Upstream: not reported; GLib's main branch does the same.
   * Remove when: parse_arg() returns before the callback when the conversion failed. */
  if (error != NULL && *error != NULL)
    return FALSE;
  config->hash_password = TRUE;
  g_free (config->hash_password_for);
  config->hash_password_for = g_strdup (value);
  return TRUE;
}

gboolean
psc_config_parse (PscConfig *config, int *argc, char ***argv, GError **error)
{
  g_autofree char *codec = NULL;
  g_autofree char *preset = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *tls_mode = NULL;
  g_autofree char *stream_id = NULL;
  g_auto (GStrv) ice_addresses = NULL;
  g_auto (GStrv) allowed_origins = NULL;
  g_auto (GStrv) allowed_hosts = NULL;
  g_auto (GStrv) stun_servers = NULL;
  g_auto (GStrv) turn_servers = NULL;
  g_autoptr (GOptionContext) context = NULL;
  GOptionGroup *group;
  const GOptionEntry entries[] = {
    { "source", 's', 0, G_OPTION_ARG_STRING, &config->source,
      "Video source in gst-launch syntax (default: --device, else the first camera, else a "
      "test pattern)", "DESC" },
    { "device", 'd', 0, G_OPTION_ARG_FILENAME, &config->device,
      "V4L2 camera to capture from", "/dev/videoN" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &config->url,
      "Network camera's address, for ${url} in presets (--preset ip-camera)", "URL" },
    { "encoder", 'e', 0, G_OPTION_ARG_STRING, &config->encoder,
      "Encoder in gst-launch syntax (default: the best working one for --codec)", "DESC" },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset,
      "Named pipeline preset, or path to a .preset file (see --list-presets)", "NAME" },
    { "codec", 'c', 0, G_OPTION_ARG_STRING, &codec, "Video codec: h264 or vp8 (default h264)",
      "CODEC" },
    { "width", 'W', 0, G_OPTION_ARG_INT, &config->width, "Frame width in pixels (1280)", "PX" },
    { "height", 'H', 0, G_OPTION_ARG_INT, &config->height, "Frame height in pixels (720)", "PX" },
    { "framerate", 'f', 0, G_OPTION_ARG_INT, &config->framerate, "Frames per second, at most (30)",
      "FPS" },
    { "bitrate", 'b', 0, G_OPTION_ARG_INT, &config->bitrate, "Target bitrate in kbit/s (2000)",
      "KBPS" },
    { "port", 'P', 0, G_OPTION_ARG_INT, &config->port,
      "HTTP/WebSocket port (8080; 0 picks a free port)", "PORT" },
    { "bind", 'B', 0, G_OPTION_ARG_STRING, &bind,
      "Address to listen on (default: every interface)", "ADDR" },
    { "tls", 0, 0, G_OPTION_ARG_STRING, &tls_mode,
      "Serve HTTPS with a certificate made once for this box and kept in --data-dir",
      "self-signed" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &config->tls_cert,
      "Serve HTTPS with this PEM certificate (and chain); needs --tls-key", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &config->tls_key,
      "The PEM private key of --tls-cert", "FILE" },
    { "http-redirect-port", 0, 0, G_OPTION_ARG_INT, &config->http_redirect_port,
      "With TLS on, also listen for plain HTTP on this port and redirect it to HTTPS "
      "(default: off)", "PORT" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &config->data_dir,
      "Where periscope keeps its state, such as the self-signed certificate (default: "
      "$STATE_DIRECTORY, /var/lib/periscope for root, else ~/.local/state/periscope)", "DIR" },
    { "ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ice_addresses,
      "Only gather ICE host candidates on this local address (repeatable)", "ADDR" },
    { "stun-server", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stun_servers,
      "STUN server for routed networks, used by periscope and the browsers (repeatable)",
      "stun://HOST:PORT" },
    { "turn-server", 0, 0, G_OPTION_ARG_STRING_ARRAY, &turn_servers,
      "TURN relay, used by periscope and the browsers (repeatable)",
      "turn://USER:PASS@HOST:PORT" },
    { "stream-id", 0, 0, G_OPTION_ARG_STRING, &stream_id,
      "Name of the stream, its room and its camera peer (camera)", "ID" },
    { "connect-timeout", 0, 0, G_OPTION_ARG_INT, &config->connect_timeout,
      "Seconds a viewer has to connect before it is dropped (20)", "S" },
    { "max-viewers", 0, 0, G_OPTION_ARG_INT, &config->max_viewers,
      "Most viewers at once; more are refused (100)", "N" },
    { "max-viewers-per-address", 0, 0, G_OPTION_ARG_INT, &config->max_viewers_per_address,
      "Most viewers of one IP address at once (10; 0: no limit, e.g. behind a reverse proxy "
      "that limits them itself)", "N" },
    { "open-rooms", 0, 0, G_OPTION_ARG_NONE, &config->open_rooms,
      "Make a call room when its first peer joins it (default: only rooms made with "
      "POST /api/rooms, and the streams' rooms)", NULL },
    { "chat-retention-days", 0, 0, G_OPTION_ARG_INT, &config->chat_retention_days,
      "Delete chat messages older than this many days (30; 0: keep them)", "DAYS" },
    { "chat-max-per-room", 0, 0, G_OPTION_ARG_INT, &config->chat_max_per_room,
      "Keep at most this many chat messages per room, the newest (10000; 0: no limit)", "N" },
    { "allow-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allowed_origins,
      "Also let pages on this web origin open signalling and start sessions (repeatable; "
      "* for any; default: only the page's own origin and localhost)", "scheme://HOST[:PORT]" },
    { "allow-host", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allowed_hosts,
      "Also answer requests made to this name (repeatable; .DOMAIN for the names under it, * "
      "for any; default: the box's addresses and host names, localhost, the certificate's "
      "names and --allow-origin's; other names are refused against DNS rebinding)", "NAME" },
    { "users", 0, 0, G_OPTION_ARG_FILENAME, &config->users_file,
      "Accounts: one name:HASH:role a line (viewer, operator, admin); then everything but "
      "/healthz needs a login (default: no accounts, open to all)", "FILE" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &config->token_file,
      "Bearer tokens for WHEP players and scripts: one name:TOKEN:role a line", "FILE" },
    { "hash-password", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, on_hash_password,
      "Read a password from standard input, print a line for --users and exit", "NAME[:ROLE]" },
    { "always-on", 0, 0, G_OPTION_ARG_NONE, &config->always_on,
      "Keep capturing while nobody watches (default: release the camera 3 s after the last "
      "viewer leaves, reopen it for the next)", NULL },
    { "loop", 0, 0, G_OPTION_ARG_NONE, &config->loop,
      "Start a source that ends (a file) again at once, instead of going offline", NULL },
    { "latency-stamp", 0, 0, G_OPTION_ARG_NONE, &config->latency_stamp,
      "Draw the capture time into each frame, for the latency benchmark (docs/performance.md)",
      NULL },
    { "list-devices", 0, 0, G_OPTION_ARG_NONE, &config->list_devices,
      "List the cameras found and exit", NULL },
    { "list-encoders", 0, 0, G_OPTION_ARG_NONE, &config->list_encoders,
      "List encoders, whether they work here, which would be chosen, and exit", NULL },
    { "list-presets", 0, 0, G_OPTION_ARG_NONE, &config->list_presets,
      "List the pipeline presets and exit", NULL },
    { NULL }
  };

  g_return_val_if_fail (config != NULL, FALSE);

  context = g_option_context_new ("- stream a camera to browsers over WebRTC");
  g_option_context_set_summary (context,
      "Serves a viewer page, WebSocket signalling and WebRTC from one port.\n"
      "Example: periscope --source \"v4l2src device=/dev/video2 ! image/jpeg,width=1280,"
      "height=720 ! jpegdec\"");
  /* A group of our own: --hash-password's callback gets the config. */
  group = g_option_group_new ("periscope", "periscope", "periscope's options", config, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;

  if (*argc > 1) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "unexpected argument \"%s\" (gst-launch descriptions go in quotes after --source "
        "or --encoder)", (*argv)[1]);
    return FALSE;
  }
  if (codec != NULL) {
    if (!psc_codec_from_string (codec, &config->codec)) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "--codec must be h264 or vp8, not \"%s\"", codec);
      return FALSE;
    }
    config->codec_explicit = TRUE;
  }
  if (bind != NULL) {
    g_free (config->bind);
    config->bind = g_steal_pointer (&bind);
  }
  if (tls_mode != NULL) {
    if (!g_str_equal (tls_mode, "self-signed")) {
      g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
          "--tls takes self-signed, not \"%s\" (--tls-cert and --tls-key give a certificate)",
          tls_mode);
      return FALSE;
    }
    config->tls_self_signed = TRUE;
  }
  if (stream_id != NULL) {
    g_free (config->stream_id);
    config->stream_id = g_steal_pointer (&stream_id);
  }
  if (ice_addresses != NULL) {
    g_strfreev (config->ice_addresses);
    config->ice_addresses = g_steal_pointer (&ice_addresses);
  }
  if (allowed_origins != NULL) {
    g_strfreev (config->allowed_origins);
    config->allowed_origins = g_steal_pointer (&allowed_origins);
  }
  if (allowed_hosts != NULL) {
    g_strfreev (config->allowed_hosts);
    config->allowed_hosts = g_steal_pointer (&allowed_hosts);
  }
  for (guint pass = 0; pass < 2; pass++) {
    GStrv urls = pass == 0 ? stun_servers : turn_servers;
    for (guint i = 0; urls != NULL && urls[i] != NULL; i++) {
      g_autoptr (GError) ice_error = NULL;
      PscIceServer *server = psc_ice_server_parse (urls[i], &ice_error);
      if (server == NULL || server->turn != (pass == 1)) {
        g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE, "%s: %s",
            pass == 0 ? "--stun-server" : "--turn-server",
            ice_error ? ice_error->message : pass == 0 ?
            "give a stun: URL here (TURN servers go in --turn-server)" :
            "give a turn: or turns: URL here (STUN servers go in --stun-server)");
        psc_ice_server_free (server);
        return FALSE;
      }
      g_ptr_array_add (config->ice_servers, server);
    }
  }
  if (config->source != NULL && config->device != NULL) {
    g_set_error_literal (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "--source and --device both name the source; give one");
    return FALSE;
  }
  if (preset != NULL && !psc_config_apply_preset (config, preset, error))
    return FALSE;

  return psc_config_validate (config, error);
}
