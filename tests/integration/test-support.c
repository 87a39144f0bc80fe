/* periscope integration tests: the test support itself — a failed wait fails its test and
 * ends it, without taking the program down; a wait sees what another thread changed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-test-client.h"

static gboolean
never (gpointer data)
{
  return FALSE;
}

static void
wait_for_nothing (gboolean *went_on)
{
  PSC_TEST_WAIT_UNTIL (never, NULL, 1, "what never comes");
  *went_on = TRUE;
}

/* In a subprocess (a failed test ends its program there, as it would without --keep-going):
 * the failed wait must mark its test failed and return from the function that waited. */
static void
test_failed_wait (void)
{
  if (g_test_subprocess ()) {
    gboolean went_on = FALSE;

    wait_for_nothing (&went_on);
    g_print ("went on: %s; failed: %s\n", went_on ? "yes" : "no",
        g_test_failed () ? "yes" : "no");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stdout ("*went on: no; failed: yes*");
}

static gpointer
set_flag_later (gpointer flag)
{
  g_usleep (100 * 1000);
  g_atomic_int_set ((gint *) flag, TRUE);
  return NULL;
}

static gboolean
flag_set (gpointer flag)
{
  return g_atomic_int_get ((gint *) flag);
}

/* A flag set by another thread, which does not wake the main context, is seen all the same
 * and well before the timeout. */
static void
test_wait_sees_other_thread (void)
{
  gint flag = FALSE;
  g_autoptr (GThread) thread = g_thread_new ("set-flag-later", set_flag_later, &flag);
  gint64 start = g_get_monotonic_time ();

  g_assert_true (psc_test_iterate_until (flag_set, &flag, 5, "the other thread"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_thread_join (g_steal_pointer (&thread));
  g_assert_false (g_test_failed ());
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/support/failed-wait", test_failed_wait);
  g_test_add_func ("/integration/support/wait-sees-other-thread", test_wait_sees_other_thread);

  return g_test_run ();
}
