/* periscope — stream a camera to browsers over WebRTC
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parses the options, answers the `--list-…` ones, and runs the daemon (psc-daemon.c).
 */
#include <gst/gst.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "psc-auth.h"
#include "psc-config.h"
#include "psc-daemon.h"
#include "psc-encoder.h"
#include "psc-redact.h"
#include "psc-source.h"

/* WORKAROUND(glibc 2.36): glibc raises the mmap threshold, by default, to the size of each
 * large block freed (up to 32 MiB), after which frame-sized allocations come from the
 * per-thread arenas and stay there. Every viewer brings new threads, so the resident size
 * grew by ~35 MiB every 40 viewer sessions (73 → 179 MiB after 120 sessions, measured); with
 * the threshold fixed it stays at 60–68 MiB, at the same CPU.
 * Upstream: glibc's documented dynamic threshold (mallopt(3)), not a bug.
 * Remove when: frames come from a GstBufferPool that outlives viewers. */
#define MMAP_THRESHOLD_BYTES (256 * 1024)

/* free() hands memory back to the system only from the top of a heap, so what a burst took
 * and gave back stays resident, reused by the next burst but never returned: 1,000 idle
 * connections left 14 MiB (libsoup's buffers), 50 viewers leaving 31 MiB (their threads'
 * arenas). malloc_trim() returns every whole free page of every arena (glibc ≥ 2.8,
 * malloc_trim(3)), so the resident size comes back to its baseline within TRIM_INTERVAL_S
 * of the burst's end. A call takes 1–18 ms (50 viewers), walking each arena under its lock
 * (docs/performance.md, "Memory returns"): on a worker thread (GTask's), not the main one,
 * which serves every request; one call at a time. */
#define TRIM_INTERVAL_S 30

static gboolean trimming;       /* main thread: a trim is running */

static void
trim_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  malloc_trim (0);
  g_task_return_boolean (task, TRUE);
}

static void
on_trimmed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  trimming = FALSE;
}

static gboolean
trim_memory (gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  if (trimming)
    return G_SOURCE_CONTINUE;
  trimming = TRUE;
  task = g_task_new (NULL, NULL, on_trimmed, NULL);
  g_task_run_in_thread (task, trim_in_thread);
  return G_SOURCE_CONTINUE;
}

/* WORKAROUND(GLib < 2.76): GSlice keeps per-thread magazines of freed blocks, and a viewer
 * brings eight threads (its queue, webrtcbin's, libnice's, rtpsession's RTCP, rtprtxsend's,
 * dtlsenc's, nicesrc's…): with 50 viewers, 410 threads, whose caches cost 20 MiB of RSS and a
 * part of the CPU (124 → 104 MiB; CPU lower in 3 of 4 pairs of rounds, measured with
 * G_SLICE=always-malloc, docs/performance.md). GLib reads G_SLICE once, in a constructor
 * before main(), and g_slice_set_config() refuses after that, so the daemon starts itself
 * again with it set: execv() of its own file (its name stays, unless that file is a
 * symbolic link: then the name is the target's) keeps the PID, and nothing has started yet.
 * A G_SLICE the user set is left alone.
 * Upstream: GLib 2.76 made GSlice a wrapper of malloc() (GNOME/glib#1079).
 * Remove when: GLib ≥ 2.76 (Debian 13). */
static void
restart_without_gslice (char **argv)
{
  g_autofree char *program = NULL;
  const char *preload = g_getenv ("LD_PRELOAD");

  if (glib_check_version (2, 76, 0) == NULL || g_getenv ("G_SLICE") != NULL)
    return;
  /* Under valgrind (which GSlice detects and bypasses by itself), an exec would leave it. */
  if (preload != NULL && strstr (preload, "vgpreload") != NULL)
    return;
  /* The file itself, not /proc/self/exe: the process's name (ps, top, pkill) is the name of
   * the file exec'd. */
  program = g_file_read_link ("/proc/self/exe", NULL);
  if (program == NULL || !g_setenv ("G_SLICE", "always-malloc", FALSE))
    return;
  execv (program, argv);
  /* Not restarted (the file replaced meanwhile): GSlice it is, and the variable is not
   * passed on. */
  g_unsetenv ("G_SLICE");
}

/* The `--list-…` options: print and leave. Returns TRUE if one was given. */
static gboolean
run_list_option (PscConfig *config)
{
  if (config->list_presets) {
    g_auto (GStrv) names = psc_config_list_presets ();
    for (guint i = 0; names[i] != NULL; i++) {
      g_autofree char *description = psc_config_preset_get (names[i], "description", NULL);
      g_print ("%-12s %s\n", names[i], description ? description : "");
    }
    return TRUE;
  }
  if (config->list_devices) {
    psc_source_print_devices ();
    return TRUE;
  }
  if (config->list_encoders) {
    psc_encoder_print_list (config);
    return TRUE;
  }
  return FALSE;
}

/* --hash-password[=NAME[:ROLE]]: one line of standard input (not echoed on a terminal),
 * hashed, printed as a line for --users. */
static PscExitCode
run_hash_password (const char *name_role)
{
  g_auto (GStrv) parts = g_strsplit (name_role != NULL ? name_role : "user", ":", 2);
  const char *role_name = parts[1] != NULL ? parts[1] : "viewer";
  char password[1024];
  struct termios saved, quiet;
  gboolean tty = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
  g_autofree char *hash = NULL;
  g_autoptr (GError) error = NULL;
  PscAuthRole role;
  gsize n;

  if (!psc_auth_role_from_string (role_name, &role)) {
    g_printerr ("periscope: --hash-password: unknown role \"%s\": use viewer, operator or "
        "admin\n", role_name);
    return PSC_EXIT_USAGE;
  }
  if (tty) {
    quiet = saved;
    quiet.c_lflag &= ~ECHO;
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    g_printerr ("Password for %s: ", parts[0]);
  }
  if (fgets (password, sizeof password, stdin) == NULL)
    password[0] = '\0';
  if (tty) {
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
    g_printerr ("\n");
  }
  n = strcspn (password, "\r\n");
  password[n] = '\0';
  if (n == 0) {
    g_printerr ("periscope: --hash-password: no password on standard input\n");
    return PSC_EXIT_USAGE;
  }
  hash = psc_auth_hash_password (password, &error);
  explicit_bzero (password, sizeof password);
  if (hash == NULL) {
    g_printerr ("periscope: %s\n", error->message);
    return PSC_EXIT_UNAVAILABLE;
  }
  g_print ("%s:%s:%s\n", parts[0], hash, role_name);
  return PSC_EXIT_OK;
}

/* An error quotes what it was given: a description with the camera's password, maybe. */
static void
print_error (const GError *error, const char *then)
{
  g_autofree char *message = psc_redact_credentials (error->message);

  g_printerr ("periscope: %s%s\n", message, then);
}

int
main (int argc, char **argv)
{
  g_autoptr (PscConfig) config = NULL;
  g_autoptr (PscDaemon) daemon = NULL;
  g_autoptr (GError) error = NULL;
  PscExitCode code;
  guint trim;

  restart_without_gslice (argv);
  config = psc_config_new ();
  setvbuf (stdout, NULL, _IOLBF, 0);
  mallopt (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);

  if (!psc_config_parse (config, &argc, &argv, &error)) {
    print_error (error, "\nTry periscope --help");
    return PSC_EXIT_USAGE;
  }
  if (run_list_option (config))
    return PSC_EXIT_OK;
  if (config->hash_password)
    return run_hash_password (config->hash_password_for);

  daemon = psc_daemon_new (config);
  if (!psc_daemon_start (daemon, &error)) {
    print_error (error, "");
    return psc_exit_code_for_error (error);
  }
  trim = g_timeout_add_seconds_full (G_PRIORITY_LOW, TRIM_INTERVAL_S, trim_memory, NULL,
      NULL);
  code = psc_daemon_run (daemon);
  g_source_remove (trim);
  g_clear_object (&daemon);     /* the viewers, the server, the pipeline: all released */
  g_print ("periscope: stopped\n");
  return code;
}
