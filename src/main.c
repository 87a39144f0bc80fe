/* periscope — stream a camera to browsers over WebRTC
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Wires the modules together: options → source and encoder choice → stream → signalling →
 * HTTP server, then runs the main loop until SIGINT/SIGTERM.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "psc-config.h"
#include "psc-encoder.h"
#include "psc-server.h"
#include "psc-signalling.h"
#include "psc-source.h"
#include "psc-stream.h"
#include "psc-viewer.h"
#include "psc-whep.h"

/* sysexits.h */
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69

/* How long the first frame may take: cameras can be slow to start streaming. */
#define START_TIMEOUT_MS 10000
#define MMAP_THRESHOLD_BYTES (256 * 1024)
/* How long viewers get to see the WebSocket close on shutdown. */
#define SHUTDOWN_GRACE_MS 1000

typedef struct {
  GMainLoop *loop;
  PscSignalling *signalling;
  PscWhep *whep;
  guint grace_timer;
  gboolean stopping;
  int exit_code;
} App;

static gboolean
quit_loop (gpointer user_data)
{
  App *app = user_data;

  app->grace_timer = 0;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
wait_for_peers (gpointer user_data)
{
  App *app = user_data;

  if (psc_signalling_get_peer_count (app->signalling) > 0)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

/* Tells the viewers, then quits the loop once their sockets are closed (or after a grace
 * period). */
static void
stop (App *app, int exit_code)
{
  if (app->stopping) {
    g_main_loop_quit (app->loop);
    return;
  }
  app->stopping = TRUE;
  app->exit_code = exit_code;
  g_print ("periscope: stopping\n");
  if (app->signalling == NULL) {
    g_main_loop_quit (app->loop);
    return;
  }
  psc_signalling_shutdown (app->signalling);
  if (app->whep != NULL)
    psc_whep_close_all (app->whep);
  app->grace_timer = g_timeout_add (SHUTDOWN_GRACE_MS, quit_loop, app);
  g_timeout_add (20, wait_for_peers, app);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  stop (user_data, 0);
  return G_SOURCE_CONTINUE;
}

/* The camera pipeline failed: the viewers were told (stream_failed). Exit with
 * EX_UNAVAILABLE, so a supervisor (systemd Restart=on-failure) starts periscope afresh and
 * the pages reconnect by themselves. */
static void
on_stream_error (PscStream *stream, GError *error, gpointer user_data)
{
  g_printerr ("periscope: stream %s failed: %s\n", psc_stream_get_id (stream), error->message);
  stop (user_data, EXIT_UNAVAILABLE);
}

/* Encoders run while their codec has viewers; the operator sees them come. */
static void
on_encoder_started (PscStream *stream, guint codec, const char *encoder, gpointer user_data)
{
  const PscConfig *config = user_data;
  /* A hand-written encoder follows --bitrate only where it says ${bitrate_…}. */
  gboolean own_bitrate = config->encoder != NULL && codec == config->codec &&
      strstr (config->encoder, "${bitrate") == NULL;

  g_print ("periscope: encoder %s started for stream %s: %s %dx%d at up to %d fps, ",
      encoder, psc_stream_get_id (stream), psc_codec_to_string (codec), config->width,
      config->height, config->framerate);
  if (own_bitrate)
    g_print ("bitrate as in the encoder description\n");
  else
    g_print ("%d kbit/s\n", config->bitrate);
}

static int
exit_code_for (const GError *error)
{
  return error->domain == PSC_CONFIG_ERROR || error->domain == G_OPTION_ERROR ? EXIT_USAGE
      : EXIT_UNAVAILABLE;
}

int
main (int argc, char **argv)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (PscSourceChoice) source = NULL;
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { NULL };
  PscCodec codec;
  g_autoptr (PscStream) stream = NULL;
  g_autoptr (PscSignalling) signalling = NULL;
  g_autoptr (PscServer) server = NULL;
  g_autoptr (PscWhep) whep = NULL;
  g_auto (GStrv) urls = NULL;
  PscViewerOptions viewer_options = { 0 };
  App app = { 0 };

  setvbuf (stdout, NULL, _IOLBF, 0);
  /* A fixed mmap threshold: glibc raises it, by default, to the size of each large block
   * freed (up to 32 MiB), after which frame-sized allocations come from the per-thread
   * arenas and stay there. Every viewer brings new threads, so the resident size grew by
   * ~35 MiB every 40 viewer sessions (73 → 179 MiB after 120 sessions, measured); with the
   * threshold fixed it stays at 60–68 MiB, at the same CPU. */
  mallopt (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
  /* Installed first: a SIGTERM during the blocking start-up (encoder probing, waiting for
   * the camera) is handled once the main loop runs, instead of killing the process. */
  app.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_quit_signal, &app);
  g_unix_signal_add (SIGTERM, on_quit_signal, &app);

  if (!psc_config_parse (config, &argc, &argv, &error)) {
    g_printerr ("periscope: %s\nTry periscope --help\n", error->message);
    return EXIT_USAGE;
  }
  if (config->list_presets) {
    g_auto (GStrv) names = psc_config_list_presets ();
    for (guint i = 0; names[i] != NULL; i++) {
      g_autofree char *description = psc_config_preset_get (names[i], "description", NULL);
      g_print ("%-12s %s\n", names[i], description ? description : "");
    }
    return 0;
  }
  if (config->list_devices) {
    psc_source_print_devices ();
    return 0;
  }
  if (config->list_encoders) {
    psc_encoder_print_list (config);
    return 0;
  }

  source = psc_source_select (config, &error);
  if (source == NULL) {
    g_printerr ("periscope: %s\n", error->message);
    return exit_code_for (error);
  }
  g_print ("periscope: source: %s\n  %s\n", source->description, source->reason);

  if (!psc_encoder_select_all (config, NULL, NULL, encoders, &codec, &error)) {
    g_printerr ("periscope: %s\n", error->message);
    return exit_code_for (error);
  }
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    if (encoders[c] != NULL)
      g_print ("periscope: %s encoder: %s%s\n  %s\n", psc_codec_to_string (c),
          encoders[c]->factory, c == codec ? " (the page's codec)" : "", encoders[c]->reason);
    else
      g_print ("periscope: %s: no working encoder here (--list-encoders says why)\n",
          psc_codec_to_string (c));
  }

  stream = psc_stream_new (config->stream_id, source, encoders, codec, config, &error);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    g_clear_pointer (&encoders[c], psc_encoder_choice_free);
  if (stream == NULL) {
    g_printerr ("periscope: %s\n", error->message);
    return exit_code_for (error);
  }
  psc_viewer_prepare ();
  if (!psc_stream_start (stream, START_TIMEOUT_MS, &error)) {
    g_printerr ("periscope: cannot start stream %s: %s\n", config->stream_id, error->message);
    return EXIT_UNAVAILABLE;
  }
  g_signal_connect (stream, "error", G_CALLBACK (on_stream_error), &app);
  g_signal_connect (stream, "encoder-started", G_CALLBACK (on_encoder_started), config);

  viewer_options.ice_addresses = (const char *const *) config->ice_addresses;
  viewer_options.connect_timeout_s = config->connect_timeout;
  viewer_options.max_viewers = config->max_viewers;
  viewer_options.ice_servers = config->ice_servers;
  signalling = psc_signalling_new (&viewer_options);
  psc_signalling_add_stream (signalling, stream);

  whep = psc_whep_new (signalling, &viewer_options);
  server = psc_server_new (signalling, whep);
  if (!psc_server_listen (server, config->bind, config->port, &error)) {
    g_printerr ("periscope: cannot listen on %s port %d: %s\n",
        config->bind ? config->bind : "every interface", config->port, error->message);
    return EXIT_UNAVAILABLE;
  }
  urls = psc_server_get_page_urls (server, config->bind);
  for (guint i = 0; urls[i] != NULL; i++)
    g_print ("periscope: open %s\n", urls[i]);

  app.signalling = signalling;
  app.whep = whep;
  if (!app.stopping)
    g_main_loop_run (app.loop);

  g_clear_handle_id (&app.grace_timer, g_source_remove);
  g_clear_object (&server);
  g_clear_object (&whep);
  g_clear_object (&signalling);
  psc_stream_stop (stream);
  g_main_loop_unref (app.loop);
  g_print ("periscope: stopped\n");
  return app.exit_code;
}
