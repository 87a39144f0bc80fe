/* periscope unit tests: when a viewer counts as silent, the clock driven by hand
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-silence.h"

#define S G_USEC_PER_SEC
#define SILENCE (10 * S)
#define PERIOD (2 * S)

/* Checks every period from @from to @to (µs, inclusive); returns the time of the first
 * check that finds the viewer silent, or -1. */
static gint64
run_timer (PscSilenceWatch *watch, gint64 from, gint64 to)
{
  for (gint64 t = from; t <= to; t += PERIOD) {
    if (psc_silence_watch_check (watch, t))
      return t;
  }
  return -1;
}

static void
test_silent (void)
{
  PscSilenceWatch watch;

  /* A viewer that never sends RTCP is silent at the first check 10 s after the start. */
  psc_silence_watch_init (&watch, SILENCE, PERIOD, 100 * S);
  g_assert_cmpint (run_timer (&watch, 102 * S, 130 * S), ==, 110 * S);

  /* RTCP every second keeps it alive; when it stops, 10 s later it is silent. */
  psc_silence_watch_init (&watch, SILENCE, PERIOD, 0);
  for (gint64 t = S; t <= 60 * S; t += S) {
    psc_silence_watch_heard (&watch, t);
    if (t % PERIOD == 0)
      g_assert_false (psc_silence_watch_check (&watch, t));
  }
  g_assert_cmpint (run_timer (&watch, 62 * S, 100 * S), ==, 70 * S);
}

/* SIGSTOP for 30 s, then SIGCONT: the timer's next run is 30 s late. The viewer is not
 * blamed for the daemon's pause; the window starts again, and a viewer that is really gone
 * is still found, 10 s later. */
static void
test_paused (void)
{
  PscSilenceWatch watch;

  psc_silence_watch_init (&watch, SILENCE, PERIOD, 0);
  for (gint64 t = S; t <= 20 * S; t += S) {
    psc_silence_watch_heard (&watch, t);
    if (t % PERIOD == 0)
      g_assert_false (psc_silence_watch_check (&watch, t));
  }
  /* Paused from 20 s to 50 s. */
  g_assert_false (psc_silence_watch_check (&watch, 50 * S + 300));
  /* Its RTCP comes again after the pause: fine for ever. */
  for (gint64 t = 51 * S; t <= 80 * S; t += S) {
    psc_silence_watch_heard (&watch, t);
    if (t % PERIOD == 0)
      g_assert_false (psc_silence_watch_check (&watch, t));
  }

  /* Paused again, and this time the viewer is gone too: silent 10 s after the resume. */
  g_assert_false (psc_silence_watch_check (&watch, 200 * S));
  g_assert_cmpint (run_timer (&watch, 202 * S, 240 * S), ==, 210 * S);

  /* A timer merely a little late (a busy main loop) does not restart the window. */
  psc_silence_watch_init (&watch, SILENCE, PERIOD, 0);
  g_assert_false (psc_silence_watch_check (&watch, 3 * S));
  g_assert_false (psc_silence_watch_check (&watch, 7 * S));
  g_assert_true (psc_silence_watch_check (&watch, 11 * S));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/silence/silent", test_silent);
  g_test_add_func ("/silence/paused", test_paused);
  return g_test_run ();
}
