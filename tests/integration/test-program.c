/* periscope integration tests: the periscope program itself, started as a user starts it —
 * on GLib < 2.76 it runs with GSlice off (main.c, restart_without_gslice()), as the same
 * process, and a G_SLICE the user set is left alone (the other tests run with
 * G_SLICE=always-malloc set, tests/meson.build, and never take that path); stopped at once,
 * it goes down cleanly.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "psc-test-client.h"

/* The program under test: PSC_PROGRAM, set by meson. */
static const char *
program_path (void)
{
  const char *path = g_getenv ("PSC_PROGRAM");

  g_assert_nonnull (path);
  return path;
}

/* In the child, before exec: it goes when this test program goes, a failed assertion's abort
 * included (kept across its own restart: PR_SET_PDEATHSIG survives execve()). */
static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

typedef struct {
  GSubprocess *process;
  GDataInputStream *out;
  char *state;                  /* its STATE_DIRECTORY, removed by stop_program() */
} Started;

/* Starts periscope on 127.0.0.1, port 0, the test pattern, with G_SLICE set to @g_slice
 * (NULL: unset), and reads its output until it says where it listens. */
static Started
start_program (const char *g_slice)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GError) error = NULL;
  Started started = { .state = g_dir_make_tmp ("psc-program-XXXXXX", &error) };
  gint64 deadline = g_get_monotonic_time () + 30 * psc_test_time_factor () * G_USEC_PER_SEC;

  g_assert_no_error (error);
  if (g_slice != NULL)
    g_subprocess_launcher_setenv (launcher, "G_SLICE", g_slice, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "G_SLICE");
  g_subprocess_launcher_setenv (launcher, "STATE_DIRECTORY", started.state, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  started.process = g_subprocess_launcher_spawn (launcher, &error, program_path (),
      "--bind", "127.0.0.1", "--port", "0", "--preset", "test", "--ice-address", "127.0.0.1",
      NULL);
  g_assert_no_error (error);
  started.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (started.process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (started.out), FALSE);
  while (g_get_monotonic_time () < deadline) {
    g_autofree char *line = g_data_input_stream_read_line_utf8 (started.out, NULL, NULL,
        &error);
    g_assert_no_error (error);
    g_assert_nonnull (line);    /* the program ended before it listened */
    g_test_message ("periscope said: %s", line);
    if (g_str_has_prefix (line, "periscope: open http://127.0.0.1:"))
      return started;
  }
  g_assert_not_reached ();
}

/* Removes @dir (owned) and the files in it (the rooms database). */
static void
remove_state (char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
  g_free (dir);
}

/* SIGTERM, its output read to the end (a sanitizer's report at exit must not fill the pipe
 * and hold the process up), and it went down by itself, not by a signal: stopped within a
 * second of starting, it crashed at exit while its DTLS certificate was still being made
 * (psc_viewer_prepare()). */
static void
stop_program (Started *started)
{
  g_autoptr (GBytes) rest = NULL;
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (started->process, SIGTERM);
  g_clear_object (&started->out);
  g_subprocess_communicate (started->process, NULL, NULL, &rest, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_subprocess_get_if_signaled (started->process));
  g_clear_object (&started->process);
  remove_state (g_steal_pointer (&started->state));
}

/* G_SLICE in the environment of the running process (/proc/PID/environ), or NULL. */
static char *
running_g_slice (GSubprocess *process)
{
  const char *id = g_subprocess_get_identifier (process);
  g_autofree char *path = g_strdup_printf ("/proc/%s/environ", id);
  g_autofree char *environ_text = NULL;
  gsize length;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (id);
  g_assert_true (g_file_get_contents (path, &environ_text, &length, &error));
  g_assert_no_error (error);
  for (gsize at = 0; at < length; at += strlen (environ_text + at) + 1) {
    if (g_str_has_prefix (environ_text + at, "G_SLICE="))
      return g_strdup (environ_text + at + strlen ("G_SLICE="));
  }
  return NULL;
}

/* Started with no G_SLICE, the process that listens — the very one started, same PID — runs
 * with G_SLICE=always-malloc on GLib < 2.76 (GLib reads it before main(), so the daemon
 * started itself again). */
static void
test_gslice_off (void)
{
  Started started = start_program (NULL);
  g_autofree char *g_slice = running_g_slice (started.process);

  g_autofree char *comm_path = g_strdup_printf ("/proc/%s/comm",
      g_subprocess_get_identifier (started.process));
  g_autofree char *comm = NULL;

  if (glib_check_version (2, 76, 0) != NULL)
    g_assert_cmpstr (g_slice, ==, "always-malloc");
  else
    g_assert_null (g_slice);
  /* Still called periscope (ps, top, pkill): restarted from its file, not /proc/self/exe. */
  g_assert_true (g_file_get_contents (comm_path, &comm, NULL, NULL));
  g_assert_cmpstr (g_strchomp (comm), ==, "periscope");
  stop_program (&started);
}

/* A G_SLICE the user gave is theirs, even empty (GSlice on). */
static void
test_user_gslice_kept (void)
{
  Started started = start_program ("");
  g_autofree char *g_slice = running_g_slice (started.process);

  g_assert_cmpstr (g_slice, ==, "");
  stop_program (&started);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/program/gslice-off", test_gslice_off);
  g_test_add_func ("/integration/program/user-gslice-kept", test_user_gslice_kept);
  return g_test_run ();
}
