/* periscope unit tests: the source supervisor, with the clock driven by hand
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-supervisor.h"

#define S (G_GUINT64_CONSTANT (1000000000))
#define T0 (1000 * S)

/* 1, 2, 4, 8, 16, then 30 s for good: one outage however many retries fail. */
static void
test_backoff (void)
{
  static const guint64 expected[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
  PscSupervisor supervisor;
  guint64 now = T0;

  psc_supervisor_init (&supervisor);
  g_assert_cmpint (supervisor.state, ==, PSC_STREAM_STARTING);
  g_assert_true (psc_supervisor_live (&supervisor));
  g_assert_false (psc_supervisor_live (&supervisor));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    guint64 delay = psc_supervisor_failed (&supervisor, now);
    g_assert_cmpuint (delay, ==, expected[i] * S);
    g_assert_cmpint (supervisor.state, ==, PSC_STREAM_OFFLINE);
    g_assert_false (psc_supervisor_retry_due (&supervisor, now + delay - 1));
    g_assert_true (psc_supervisor_retry_due (&supervisor, now + delay));
    now += delay;
  }
  g_assert_cmpuint (supervisor.outages, ==, 1);
  /* However long it stays away, the wait does not grow past the ceiling or overflow. */
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (psc_supervisor_failed (&supervisor, now), ==, 30 * S);
  g_assert_cmpuint (supervisor.outages, ==, 1);
}

/* Back live, the next outage is a new one and starts from 1 s again. */
static void
test_reset_after_live (void)
{
  PscSupervisor supervisor;

  psc_supervisor_init (&supervisor);
  g_assert_cmpuint (psc_supervisor_failed (&supervisor, T0), ==, 1 * S);
  g_assert_cmpuint (psc_supervisor_failed (&supervisor, T0 + S), ==, 2 * S);
  g_assert_cmpuint (psc_supervisor_failed (&supervisor, T0 + 3 * S), ==, 4 * S);
  g_assert_true (psc_supervisor_live (&supervisor));
  g_assert_cmpint (supervisor.state, ==, PSC_STREAM_LIVE);
  g_assert_false (psc_supervisor_retry_due (&supervisor, T0 + 100 * S));
  g_assert_cmpuint (psc_supervisor_failed (&supervisor, T0 + 100 * S), ==, 1 * S);
  g_assert_cmpuint (supervisor.outages, ==, 2);
}

/* A source that fails at start-up is an outage from "starting". */
static void
test_start_failure (void)
{
  PscSupervisor supervisor;

  psc_supervisor_init (&supervisor);
  g_assert_false (psc_supervisor_retry_due (&supervisor, T0));
  psc_supervisor_failed (&supervisor, T0);
  g_assert_cmpint (supervisor.state, ==, PSC_STREAM_OFFLINE);
  g_assert_cmpuint (supervisor.outages, ==, 1);
  g_assert_cmpstr (psc_supervisor_state_to_string (supervisor.state), ==, "offline");
  g_assert_cmpstr (psc_supervisor_state_to_string (PSC_STREAM_LIVE), ==, "live");
  g_assert_cmpstr (psc_supervisor_state_to_string (PSC_STREAM_STARTING), ==, "starting");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/supervisor/backoff", test_backoff);
  g_test_add_func ("/supervisor/reset-after-live", test_reset_after_live);
  g_test_add_func ("/supervisor/start-failure", test_start_failure);
  return g_test_run ();
}
