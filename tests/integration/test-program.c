/* periscope integration tests: the periscope program itself, started as a user starts it —
 * on GLib < 2.76 it runs with GSlice off (main.c, restart_without_gslice()), as the same
 * process, and a G_SLICE the user set is left alone (the other tests run with
 * G_SLICE=always-malloc set, tests/meson.build, and never take that path); stopped at once,
 * it goes down cleanly; a room's chats outlive it, stopped or killed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "psc-test-fixture.h"

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
  char *url;                    /* http://127.0.0.1:PORT, where it listens */
} Started;

/* Starts periscope on 127.0.0.1, port 0, the test pattern, with G_SLICE set to @g_slice
 * (NULL: unset) and its state in @state (owned; NULL: a new directory), and reads its output
 * until it says where it listens. */
/* @extra: (nullable): more arguments for the command line, NULL-terminated. */
static Started
start_program_with (const char *g_slice, char *state, const char *const *extra)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GError) error = NULL;
  Started started = { .state = state ? state : g_dir_make_tmp ("psc-program-XXXXXX", &error) };
  gint64 deadline = g_get_monotonic_time () + 30 * psc_test_time_factor () * G_USEC_PER_SEC;

  g_assert_no_error (error);
  if (g_slice != NULL)
    g_subprocess_launcher_setenv (launcher, "G_SLICE", g_slice, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "G_SLICE");
  g_subprocess_launcher_setenv (launcher, "STATE_DIRECTORY", started.state, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  {
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    const char *const base[] = { program_path (), "--bind", "127.0.0.1", "--port", "0",
      "--preset", "test", "--ice-address", "127.0.0.1" };
    for (guint i = 0; i < G_N_ELEMENTS (base); i++)
      g_ptr_array_add (argv, (gpointer) base[i]);
    for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
      g_ptr_array_add (argv, (gpointer) extra[i]);
    g_ptr_array_add (argv, NULL);
    started.process = g_subprocess_launcher_spawnv (launcher,
        (const char *const *) argv->pdata, &error);
  }
  g_assert_no_error (error);
  started.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (started.process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (started.out), FALSE);
  while (g_get_monotonic_time () < deadline) {
    g_autofree char *line = g_data_input_stream_read_line_utf8 (started.out, NULL, NULL,
        &error);
    g_assert_no_error (error);
    g_assert_nonnull (line);    /* the program ended before it listened */
    g_test_message ("periscope said: %s", line);
    if (g_str_has_prefix (line, "periscope: open http://127.0.0.1:")) {
      started.url = g_strdup (line + strlen ("periscope: open "));
      if (g_str_has_suffix (started.url, "/"))
        started.url[strlen (started.url) - 1] = '\0';
      return started;
    }
  }
  g_assert_not_reached ();
}

/* The program with the test's arguments only, on @state (nullable: a new directory). */
static Started
start_program_in (const char *g_slice, char *state)
{
  return start_program_with (g_slice, state, NULL);
}

static Started
start_program (const char *g_slice)
{
  return start_program_in (g_slice, NULL);
}

/* Sends @signal (SIGTERM: asked to stop; SIGKILL: a crash) and waits for the end; the state
 * directory is kept, and returned (owned). */
static char *
end_program (Started *started, int signal)
{
  g_autoptr (GBytes) rest = NULL;
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (started->process, signal);
  g_clear_object (&started->out);
  g_subprocess_communicate (started->process, NULL, NULL, &rest, NULL, &error);
  g_assert_no_error (error);
  if (signal == SIGTERM && !g_subprocess_get_successful (started->process))
    g_test_message ("periscope did not exit 0; its last words: %.*s",
        (int) MIN (g_bytes_get_size (rest), 4096), (const char *) g_bytes_get_data (rest, NULL));
  if (signal == SIGTERM)
    g_assert_false (g_subprocess_get_if_signaled (started->process));
  g_clear_object (&started->process);
  g_clear_pointer (&started->url, g_free);
  return g_steal_pointer (&started->state);
}

/* SIGTERM, its output read to the end (a sanitizer's report at exit must not fill the pipe
 * and hold the process up), and it went down by itself, not by a signal: stopped within a
 * second of starting, it crashed at exit while its DTLS certificate was still being made
 * (psc_viewer_prepare()). */
static void
stop_program (Started *started)
{
  g_autofree char *state = end_program (started, SIGTERM);

  psc_test_remove_dir (state);
}

/* @method @path on the running program, with a JSON @body (nullable); the answer's body
 * as text, its status in @status. */
static char *
request (Started *started, const char *method, const char *path, const char *body,
    guint *status)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (started->url, path, NULL);
  g_autoptr (SoupMessage) message = soup_message_new (method, uri);
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (message);
  if (body != NULL) {
    g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
    soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  }
  answer = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (message);
  return g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
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

/* The texts of the chats GET /api/rooms/@id/chats lists, in order, joined by ",". */
static char *
stored_chats (Started *started, const char *id)
{
  g_autofree char *path = g_strdup_printf ("/api/rooms/%s/chats", id);
  guint status;
  g_autofree char *body = request (started, "GET", path, NULL, &status);
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  JsonArray *chats;

  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  root = json_from_string (body, &error);
  g_assert_no_error (error);
  chats = json_object_get_array_member (json_node_get_object (root), "chats");
  for (guint i = 0; i < json_array_get_length (chats); i++)
    g_ptr_array_add (texts, (gpointer) json_object_get_string_member (
            json_array_get_object_element (chats, i), "text"));
  g_ptr_array_add (texts, NULL);
  return g_strjoinv (",", (char **) texts->pdata);
}

/* Issue 14: a room's chats survive the daemon — stopped, and killed (a crash) right after it
 * answered a save: what it said it stored is there when the program starts again on the same
 * data directory (WAL, docs/protocol.md "The store"). */
static void
test_history_survives (void)
{
  Started started = start_program ("always-malloc");
  guint status;
  g_autofree char *created = request (&started, "POST", "/api/rooms",
      "{\"title\":\"Kept\"}", &status);
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *id = NULL;
  g_autofree char *chats_path = NULL;
  g_autofree char *room_path = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *texts = NULL;
  g_autofree char *room = NULL;

  g_assert_cmpuint (status, ==, SOUP_STATUS_CREATED);
  root = json_from_string (created, NULL);
  g_assert_nonnull (root);
  id = g_strdup (json_object_get_string_member (json_node_get_object (root), "id"));
  chats_path = g_strdup_printf ("/api/rooms/%s/chats", id);
  room_path = g_strdup_printf ("/api/rooms/%s", id);

  saved = request (&started, "PUT", chats_path,
      "{\"chats\":[{\"text\":\"first\",\"name\":\"Alice\"},{\"text\":\"second\"}]}",
      &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  /* A crash right after the answer. */
  started = start_program_in ("always-malloc", end_program (&started, SIGKILL));
  texts = stored_chats (&started, id);
  g_assert_cmpstr (texts, ==, "first,second");
  g_clear_pointer (&saved, g_free);
  saved = request (&started, "PUT", chats_path, "{\"chats\":[{\"text\":\"third\"}]}",
      &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  /* Asked to stop. */
  started = start_program_in ("always-malloc", end_program (&started, SIGTERM));
  g_clear_pointer (&texts, g_free);
  texts = stored_chats (&started, id);
  g_assert_cmpstr (texts, ==, "first,second,third");
  room = request (&started, "GET", room_path, NULL, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (strstr (room, "\"Kept\""));
  /* Started again with a smaller retention: the oldest goes at once. */
  {
    const char *const keep_two[] = { "--chat-max-per-room", "2", NULL };
    started = start_program_with ("always-malloc", end_program (&started, SIGTERM), keep_two);
  }
  g_clear_pointer (&texts, g_free);
  texts = stored_chats (&started, id);
  g_assert_cmpstr (texts, ==, "second,third");
  stop_program (&started);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/program/gslice-off", test_gslice_off);
  g_test_add_func ("/integration/program/user-gslice-kept", test_user_gslice_kept);
  g_test_add_func ("/integration/program/history-survives", test_history_survives);
  return g_test_run ();
}
