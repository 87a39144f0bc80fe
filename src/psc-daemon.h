/* periscope — the daemon: what main() runs, from the configuration to the main loop's end
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "psc-config.h"

/**
 * SECTION:psc-daemon
 * @title: psc-daemon
 * @short_description: the daemon: what main() runs, from the configuration to the main loop's end
 *
 * #PscDaemon wires the modules together: it chooses the source and the encoders, builds the
 * stream, the registry, signalling, WHEP and the HTTP server, runs the main loop and maps
 * failures to the process's exit status (#PscExitCode, sysexits). Main thread only. It is the
 * only module that knows them all (docs/architecture.md, "Layers").
 */

G_BEGIN_DECLS

/**
 * PscExitCode:
 * @PSC_EXIT_OK: stopped by SIGINT/SIGTERM, or a `--list-…`/`--help` option ran
 * @PSC_EXIT_USAGE: a mistake the user must fix: a bad option or value, a preset, a
 *   description that does not parse, an encoder of the wrong codec (sysexits EX_USAGE)
 * @PSC_EXIT_UNAVAILABLE: something the machine lacks: no working encoder, a source that does
 *   not start, a port that cannot be bound, or the stream failed (sysexits EX_UNAVAILABLE;
 *   a supervisor restarts the daemon)
 *
 * The process's exit status (README, "Exit codes").
 */
typedef enum {
  PSC_EXIT_OK = 0,
  PSC_EXIT_USAGE = 64,
  PSC_EXIT_UNAVAILABLE = 69,
} PscExitCode;

/**
 * psc_exit_code_for_error:
 * @error: a start-up error, not %NULL
 *
 * The one translation of errors into exit statuses (README, "Exit codes"): a mistake the
 * user must fix, or something the machine lacks.
 *
 * Returns: the exit status for a start-up failure: #PSC_EXIT_USAGE for PSC_CONFIG_ERROR,
 *   G_OPTION_ERROR and #PSC_TLS_ERROR_FILE (a certificate or key file to fix),
 *   #PSC_EXIT_UNAVAILABLE for anything else.
 */
PscExitCode psc_exit_code_for_error (const GError *error);

/**
 * PSC_TYPE_DAEMON:
 *
 * The #GType of #PscDaemon.
 */
#define PSC_TYPE_DAEMON (psc_daemon_get_type ())

/**
 * PscDaemon:
 *
 * One periscope process's serving state (psc_daemon_new()); an opaque GObject, main thread
 * only.
 */
G_DECLARE_FINAL_TYPE (PscDaemon, psc_daemon, PSC, DAEMON, GObject)

/**
 * psc_daemon_new:
 * @config: the parsed configuration; must outlive the daemon
 *
 * Installs the SIGINT/SIGTERM handlers at once, so a signal during the blocking start-up
 * (encoder probing, waiting for the camera) stops the daemon cleanly instead of killing the
 * process. Everything the daemon builds is released when it is finalized. Main thread only.
 *
 * Returns: (transfer full): a daemon, not started.
 */
PscDaemon *  psc_daemon_new (const PscConfig *config);

/**
 * psc_daemon_start:
 * @daemon: the daemon
 * @error: why it cannot serve; psc_exit_code_for_error() says with which status to exit
 *
 * Chooses the source and the encoders, builds and starts the stream (waiting up to 10 s for
 * its first frame), adds it to the registry, and serves it over HTTP: signalling, WHEP, API,
 * metrics. Prints what it chose and the URLs to open. Blocks until then.
 *
 * Returns: %TRUE if serving.
 */
gboolean     psc_daemon_start (PscDaemon *daemon, GError **error);

/**
 * psc_daemon_run:
 * @daemon: a started daemon
 *
 * Runs the main loop until SIGINT/SIGTERM (then every viewer is told, sockets closed with
 * 1001 for up to 1 s) or a stream error.
 *
 * Returns: the exit status: #PSC_EXIT_OK after a signal, #PSC_EXIT_UNAVAILABLE after a
 *   stream error.
 */
PscExitCode  psc_daemon_run (PscDaemon *daemon);

G_END_DECLS
