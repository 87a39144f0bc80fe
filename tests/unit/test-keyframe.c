/* periscope unit tests: the keyframe policy, with the clock driven by hand
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-keyframe.h"

#define MS (G_GUINT64_CONSTANT (1000000))
/* Any start will do but 0, which the viewer gap takes for "never". */
#define T0 (10000 * MS)

static void
test_first_forwarded (void)
{
  PscKeyframePolicy policy;
  guint64 delay = 42;

  psc_keyframe_policy_init (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0, PSC_KEYFRAME_JOIN, &delay), ==,
      PSC_KEYFRAME_FORWARD);
  g_assert_cmpuint (delay, ==, 0);
  g_assert_cmpuint (policy.forced_join, ==, 1);

  /* On a clock that has only just started too. */
  psc_keyframe_policy_init (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, 100 * MS, PSC_KEYFRAME_PLI, &delay),
      ==, PSC_KEYFRAME_FORWARD);
  g_assert_cmpuint (policy.forced_pli, ==, 1);
}

static void
test_pending_coalesces (void)
{
  PscKeyframePolicy policy;

  psc_keyframe_policy_init (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0, PSC_KEYFRAME_JOIN, NULL), ==,
      PSC_KEYFRAME_FORWARD);
  /* No keyframe yet: everything within the second is covered by the first request. */
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 1, PSC_KEYFRAME_PLI, NULL), ==,
      PSC_KEYFRAME_COALESCE);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 500 * MS, PSC_KEYFRAME_PLI,
          NULL), ==, PSC_KEYFRAME_COALESCE);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 1000 * MS - 1, PSC_KEYFRAME_JOIN,
          NULL), ==, PSC_KEYFRAME_COALESCE);
  g_assert_cmpuint (policy.coalesced, ==, 3);
  g_assert_cmpuint (policy.forced_join, ==, 1);
  g_assert_cmpuint (policy.forced_pli, ==, 0);
}

static void
test_stale_pending_forwarded (void)
{
  PscKeyframePolicy policy;

  psc_keyframe_policy_init (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0, PSC_KEYFRAME_PLI, NULL), ==,
      PSC_KEYFRAME_FORWARD);
  /* A second and no keyframe: that request was lost (an encoder restarting, say), ask again. */
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 1000 * MS, PSC_KEYFRAME_PLI,
          NULL), ==, PSC_KEYFRAME_FORWARD);
  g_assert_cmpuint (policy.forced_pli, ==, 2);
  g_assert_cmpuint (policy.coalesced, ==, 0);
  /* And the new request is pending in turn, from its own time. */
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 1999 * MS, PSC_KEYFRAME_PLI,
          NULL), ==, PSC_KEYFRAME_COALESCE);
}

static void
test_gap_defers (void)
{
  PscKeyframePolicy policy;
  guint64 delay = 0;

  psc_keyframe_policy_init (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0, PSC_KEYFRAME_JOIN, NULL), ==,
      PSC_KEYFRAME_FORWARD);
  psc_keyframe_policy_keyframe_seen (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 50 * MS, PSC_KEYFRAME_PLI,
          &delay), ==, PSC_KEYFRAME_DEFER);
  g_assert_cmpuint (delay, ==, 150 * MS);
  /* Deferring is not forcing: no counter moves until it goes. */
  g_assert_cmpuint (policy.forced_pli, ==, 0);
  g_assert_cmpuint (policy.coalesced, ==, 0);

  g_assert_cmpint (psc_keyframe_policy_deferred_due (&policy, T0 + 200 * MS, &delay), ==,
      PSC_KEYFRAME_FORWARD);
  g_assert_cmpuint (delay, ==, 0);
  /* It went for the reason it was deferred with. */
  g_assert_cmpuint (policy.forced_pli, ==, 1);
  g_assert_cmpuint (policy.forced_join, ==, 1);

  /* The gap counts from that one now: just short of it, still deferred. */
  psc_keyframe_policy_keyframe_seen (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 400 * MS - 1, PSC_KEYFRAME_JOIN,
          &delay), ==, PSC_KEYFRAME_DEFER);
  g_assert_cmpuint (delay, ==, 1);
}

static void
test_deferred_coalesces (void)
{
  PscKeyframePolicy policy;
  guint64 delay = 0;

  psc_keyframe_policy_init (&policy);
  psc_keyframe_policy_request (&policy, T0, PSC_KEYFRAME_JOIN, NULL);
  psc_keyframe_policy_keyframe_seen (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 100 * MS, PSC_KEYFRAME_PLI,
          &delay), ==, PSC_KEYFRAME_DEFER);
  /* One deferred request covers the others: the caller has one timer, not one each. */
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 150 * MS, PSC_KEYFRAME_PLI,
          &delay), ==, PSC_KEYFRAME_COALESCE);
  g_assert_cmpuint (delay, ==, 0);
  /* Even past the gap, as long as the caller's timer has not fired. */
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 300 * MS, PSC_KEYFRAME_JOIN,
          NULL), ==, PSC_KEYFRAME_COALESCE);
  g_assert_cmpuint (policy.coalesced, ==, 2);
  g_assert_cmpint (psc_keyframe_policy_deferred_due (&policy, T0 + 301 * MS, NULL), ==,
      PSC_KEYFRAME_FORWARD);
  g_assert_cmpuint (policy.forced_pli, ==, 1);
}

static void
test_keyframe_seen (void)
{
  PscKeyframePolicy policy;

  psc_keyframe_policy_init (&policy);
  psc_keyframe_policy_request (&policy, T0, PSC_KEYFRAME_JOIN, NULL);
  /* Not seen yet: covered by the pending request. */
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 300 * MS, PSC_KEYFRAME_PLI,
          NULL), ==, PSC_KEYFRAME_COALESCE);
  /* Seen: the next request asks for a keyframe of its own. */
  psc_keyframe_policy_keyframe_seen (&policy);
  g_assert_cmpint (psc_keyframe_policy_request (&policy, T0 + 301 * MS, PSC_KEYFRAME_PLI,
          NULL), ==, PSC_KEYFRAME_FORWARD);
  g_assert_cmpuint (policy.forced_pli, ==, 1);
}

static void
test_viewer_gap (void)
{
  guint64 last = 0;

  g_assert_true (psc_keyframe_viewer_gap_pass (&last, T0));
  g_assert_cmpuint (last, ==, T0);
  g_assert_false (psc_keyframe_viewer_gap_pass (&last, T0 + 1));
  g_assert_false (psc_keyframe_viewer_gap_pass (&last, T0 + 1000 * MS - 1));
  /* Dropped requests do not move the gap: a request every 600 ms gets one through every
   * 1.2 s, not none. */
  g_assert_cmpuint (last, ==, T0);
  g_assert_true (psc_keyframe_viewer_gap_pass (&last, T0 + 1000 * MS));
  g_assert_cmpuint (last, ==, T0 + 1000 * MS);
  g_assert_false (psc_keyframe_viewer_gap_pass (&last, T0 + 1600 * MS));
  g_assert_true (psc_keyframe_viewer_gap_pass (&last, T0 + 2200 * MS));

  /* A viewer's first request passes, however young the clock. */
  last = 0;
  g_assert_true (psc_keyframe_viewer_gap_pass (&last, 500 * MS));
}

static void
test_counters (void)
{
  PscKeyframePolicy policy;
  guint64 t = T0;

  psc_keyframe_policy_init (&policy);
  g_assert_cmpuint (policy.forced_join, ==, 0);
  g_assert_cmpuint (policy.forced_pli, ==, 0);
  g_assert_cmpuint (policy.coalesced, ==, 0);
  /* Three rounds of: a join forwarded, two PLIs coalesced, the keyframe, a PLI forwarded
   * after the gap. */
  for (guint round = 0; round < 3; round++) {
    g_assert_cmpint (psc_keyframe_policy_request (&policy, t, PSC_KEYFRAME_JOIN, NULL), ==,
        PSC_KEYFRAME_FORWARD);
    psc_keyframe_policy_request (&policy, t + 10 * MS, PSC_KEYFRAME_PLI, NULL);
    psc_keyframe_policy_request (&policy, t + 20 * MS, PSC_KEYFRAME_PLI, NULL);
    psc_keyframe_policy_keyframe_seen (&policy);
    g_assert_cmpint (psc_keyframe_policy_request (&policy, t + 250 * MS, PSC_KEYFRAME_PLI,
            NULL), ==, PSC_KEYFRAME_FORWARD);
    psc_keyframe_policy_keyframe_seen (&policy);
    t += 500 * MS;
  }
  g_assert_cmpuint (policy.forced_join, ==, 3);
  g_assert_cmpuint (policy.forced_pli, ==, 3);
  g_assert_cmpuint (policy.coalesced, ==, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/keyframe/first-forwarded", test_first_forwarded);
  g_test_add_func ("/keyframe/pending-coalesces", test_pending_coalesces);
  g_test_add_func ("/keyframe/stale-pending-forwarded", test_stale_pending_forwarded);
  g_test_add_func ("/keyframe/gap-defers", test_gap_defers);
  g_test_add_func ("/keyframe/deferred-coalesces", test_deferred_coalesces);
  g_test_add_func ("/keyframe/keyframe-seen", test_keyframe_seen);
  g_test_add_func ("/keyframe/viewer-gap", test_viewer_gap);
  g_test_add_func ("/keyframe/counters", test_counters);
  return g_test_run ();
}
