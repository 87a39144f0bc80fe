/* periscope — command-line options, presets and their validation
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "psc-codec.h"
#include "psc-ice.h"

/**
 * SECTION:psc-config
 * @title: psc-config
 * @short_description: command-line options, presets and their validation
 *
 * Everything the daemon is asked to do, as a #PscConfig: the options (GStreamer's own
 * included), the compiled-in or on-disk presets under them, the range checks, and the ${…}
 * expansion of gst-launch descriptions. Runs once, on the main thread, before anything else;
 * its errors are #PSC_CONFIG_ERROR (exit status 64). docs/configuration.md lists the options.
 */

G_BEGIN_DECLS

/**
 * PSC_CONFIG_ERROR:
 *
 * The error domain of the configuration: options, presets, gst-launch descriptions given by
 * the user. Codes are #PscConfigError; psc_exit_code_for_error() maps the domain to 64.
 */
#define PSC_CONFIG_ERROR (psc_config_error_quark ())

/**
 * psc_config_error_quark:
 *
 * The quark behind #PSC_CONFIG_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_config_error_quark (void);

/**
 * PscConfigError:
 * @PSC_CONFIG_ERROR_USAGE: an option or its value is wrong (sysexits EX_USAGE, 64)
 * @PSC_CONFIG_ERROR_PRESET: a preset is missing or malformed (EX_USAGE, 64)
 *
 * The codes of #PSC_CONFIG_ERROR.
 */
typedef enum {
  PSC_CONFIG_ERROR_USAGE,
  PSC_CONFIG_ERROR_PRESET,
} PscConfigError;

/**
 * PSC_CONFIG_MAX_VIEWERS_PER_ADDRESS:
 *
 * Viewers one remote address may have at once by default (--max-viewers-per-address): a
 * household behind one NAT watches on a few screens; one client must not take every seat
 * (measured without a limit: 100 WHEP POSTs from one client took all 100 seats in 6.7 s).
 */
#define PSC_CONFIG_MAX_VIEWERS_PER_ADDRESS 10

/**
 * PscConfig:
 * @source: (nullable): gst-launch description of the video source (--source or preset)
 * @device: (nullable): V4L2 device path (--device)
 * @url: (nullable): a network camera's address (--url), for ${url} in presets
 * @encoder: (nullable): gst-launch description of the encoder (--encoder or preset);
 *   %NULL means "choose the best working encoder for @codec"
 * @preset: (nullable): name or path of the preset applied
 * @codec: the codec viewers get
 * @codec_explicit: whether @codec was given (by --codec or the preset)
 * @source_from_preset: @source came from the preset, not --source
 * @encoder_from_preset: @encoder came from the preset, not --encoder
 * @width: frame width in pixels
 * @height: frame height in pixels
 * @framerate: frames per second, at most (a slower source keeps its own rate)
 * @bitrate: target bitrate in kbit/s
 * @keyframe_interval: maximum distance between keyframes, in frames (2 s of video);
 *   joins and PLIs force keyframes sooner
 * @port: TCP port of the HTTP server; 0 picks a free one
 * @bind: (nullable): address to listen on; %NULL means every interface
 * @tls_cert: (nullable): PEM certificate (and chain) to serve HTTPS with (--tls-cert)
 * @tls_key: (nullable): its PEM private key (--tls-key); set exactly when @tls_cert is
 * @tls_self_signed: serve HTTPS with a certificate periscope makes once and keeps in
 *   @data_dir (--tls self-signed; psc_tls_self_signed())
 * @data_dir: (nullable): where periscope keeps state (--data-dir); %NULL:
 *   psc_tls_default_data_dir()
 * @http_redirect_port: with TLS on, a plain-HTTP port whose every request is redirected
 *   to HTTPS (--http-redirect-port); 0: none
 * @ice_addresses: (nullable): if set, the only local addresses ICE gathers host
 *   candidates on (--ice-address, repeatable)
 * @ice_servers: (element-type PscIceServer): STUN/TURN servers (--stun-server, --turn-server),
 *   used by webrtcbin and handed to every browser
 * @stream_id: the stream's id, also its room name and its camera's peer id
 * @connect_timeout: seconds a viewer has to connect (answer + ICE + DTLS) before it is dropped
 * @max_viewers: most viewers at once; each holds a webrtcbin (sockets, threads)
 * @max_viewers_per_address: most viewers of one remote address at once
 *   (--max-viewers-per-address, #PSC_CONFIG_MAX_VIEWERS_PER_ADDRESS); 0: no limit
 * @open_rooms: a call room is made when its first peer joins it (--open-rooms); by default
 *   only rooms made with `POST /api/rooms` (and the streams') may be joined
 * @chat_retention_days: chats older than this are deleted (--chat-retention-days); 0: kept
 * @chat_max_per_room: each room keeps at most this many chats (--chat-max-per-room); 0: all
 * @allowed_origins: (nullable): web origins trusted besides the page's own and loopback
 *   (--allow-origin, repeatable: `scheme://host[:port]` or `*`; #PscOriginPolicy)
 * @allowed_hosts: (nullable): names the server answers to besides its addresses, its host
 *   names, localhost, its certificate's and @allowed_origins' (--allow-host, repeatable: a
 *   name, `.domain` or `*`; psc_origin_policy_host_is_trusted())
 * @users_file: (nullable): the users file (--users: `name:HASH:role` lines, #PscAuth); with it
 *   or @token_file, every route but /healthz and the login page needs a login
 * @token_file: (nullable): the bearer token file (--token-file: `name:TOKEN:role` lines)
 * @hash_password: --hash-password was given: read a password, print a users file line
 * @hash_password_for: (nullable): its optional `NAME[:ROLE]`
 * @always_on: keep capturing while nobody watches (--always-on); by default the capture
 *   is released a few seconds after the last viewer leaves
 * @loop: a source that ends starts again at once, without going offline (--loop: a file
 *   played over and over)
 * @latency_stamp: draw the wall-clock capture time into each frame (--latency-stamp;
 *   psc_stamp_add_probe()), for the benchmark
 * @list_devices: --list-devices was given
 * @list_encoders: --list-encoders was given
 * @list_presets: --list-presets was given
 *
 * Everything the daemon was asked to do. Filled by psc_config_parse().
 */
typedef struct {
  char *source;
  char *device;
  char *url;
  char *encoder;
  char *preset;
  PscCodec codec;
  gboolean codec_explicit;
  gboolean source_from_preset;
  gboolean encoder_from_preset;
  int width;
  int height;
  int framerate;
  int bitrate;
  int keyframe_interval;
  int port;
  char *bind;
  char *tls_cert;
  char *tls_key;
  gboolean tls_self_signed;
  char *data_dir;
  int http_redirect_port;
  GStrv ice_addresses;
  GPtrArray *ice_servers;
  char *stream_id;
  int connect_timeout;
  int max_viewers;
  int max_viewers_per_address;
  gboolean open_rooms;
  int chat_retention_days;
  int chat_max_per_room;
  GStrv allowed_origins;
  GStrv allowed_hosts;
  char *users_file;
  char *token_file;
  gboolean hash_password;
  char *hash_password_for;
  gboolean always_on;
  gboolean loop;
  gboolean latency_stamp;
  gboolean list_devices;
  gboolean list_encoders;
  gboolean list_presets;
} PscConfig;

/**
 * psc_config_new:
 *
 * The starting point of psc_config_parse(), and of tests that build a config by hand.
 *
 * Returns: (transfer full): a config holding the defaults (1280×720 at 30 fps,
 *   2000 kbit/s, H.264, port 8080, every interface, stream "camera", 20 s connect timeout,
 *   100 viewers, no STUN/TURN server); free with psc_config_free().
 */
PscConfig * psc_config_new  (void);

/**
 * psc_config_free:
 * @config: (nullable) (transfer full): a config from psc_config_new(), or %NULL
 *
 * Frees @config and everything it holds.
 */
void        psc_config_free (PscConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscConfig, psc_config_free)

/**
 * psc_config_parse:
 * @config: the config to fill, holding defaults
 * @argc: (inout): argument count; parsed options are removed
 * @argv: (inout): arguments
 * @error: a PSC_CONFIG_ERROR or G_OPTION_ERROR on failure
 *
 * Parses periscope's options together with GStreamer's own (--gst-debug…; this also
 * initialises GStreamer), then applies --preset (its values are defaults under the other
 * flags) and checks every value's range. gst-launch descriptions are not parsed here but
 * when the stream is built, so a typo there surfaces with GStreamer's own message.
 *
 * Returns: %TRUE on success.
 */
gboolean    psc_config_parse (PscConfig *config, int *argc, char ***argv, GError **error);

/**
 * psc_config_validate:
 * @config: the config
 * @error: a PSC_CONFIG_ERROR_USAGE naming the option at fault
 *
 * Checks every value's range and form and derives @keyframe_interval.
 * Called by psc_config_parse(); call it after changing a config by hand.
 *
 * Returns: %TRUE if the config is usable.
 */
gboolean    psc_config_validate (PscConfig *config, GError **error);

/**
 * psc_config_apply_preset:
 * @config: the config
 * @name: a preset name (a file pipelines/NAME.preset compiled into periscope) or the path
 *   of a preset file (anything containing '/')
 * @error: a PSC_CONFIG_ERROR_PRESET on failure
 *
 * A preset is a GKeyFile with a [preset] group and the keys description, source, encoder
 * and codec, each optional. Values already set in @config win over the preset's.
 *
 * Returns: %TRUE on success.
 */
gboolean    psc_config_apply_preset (PscConfig *config, const char *name, GError **error);

/**
 * psc_config_list_presets:
 *
 * The presets compiled into periscope (pipelines/NAME.preset), for --list-presets.
 *
 * Returns: (transfer full): the names of the compiled-in presets, sorted; free with
 *   g_strfreev().
 */
GStrv       psc_config_list_presets (void);

/**
 * psc_config_preset_get:
 * @name: a preset name or path, as for psc_config_apply_preset()
 * @key: "description", "source", "encoder" or "codec"
 * @error: a PSC_CONFIG_ERROR_PRESET if the preset or the key is missing
 *
 * Reads one key of a preset's [preset] group, without applying the preset.
 *
 * Returns: (transfer full): the unexpanded value, or %NULL with @error set.
 */
char *      psc_config_preset_get (const char *name, const char *key, GError **error);

/**
 * psc_config_expand:
 * @config: the config
 * @description: a gst-launch description that may contain ${bitrate_kbps}, ${bitrate_bps},
 *   ${keyframe_interval}, ${width}, ${height}, ${framerate}, ${device} or ${url}
 * @error: a PSC_CONFIG_ERROR_USAGE for an unknown ${name}, or ${url} without --url
 *
 * Substitutes the config's values, so presets and built-in encoder templates follow
 * --bitrate, --width… (${device} is --device, else /dev/video0; ${url} is --url, which
 * has no default: a network camera's address cannot be guessed).
 *
 * Returns: (transfer full): the expanded description, or %NULL on error.
 */
char *      psc_config_expand (const PscConfig *config, const char *description, GError **error);

G_END_DECLS
