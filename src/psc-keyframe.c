/* periscope — keyframe policy: when a request for a keyframe reaches the encoder
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-keyframe.h"

void
psc_keyframe_policy_init (PscKeyframePolicy *policy)
{
  g_return_if_fail (policy != NULL);

  *policy = (PscKeyframePolicy) { 0 };
}

PscKeyframeDecision
psc_keyframe_policy_request (PscKeyframePolicy *policy, guint64 now_ns,
    PscKeyframeReason reason, guint64 *delay_ns)
{
  g_return_val_if_fail (policy != NULL, PSC_KEYFRAME_COALESCE);

  if (delay_ns != NULL)
    *delay_ns = 0;
  if ((policy->pending && now_ns - policy->forced_at < PSC_KEYFRAME_PENDING_NS) ||
      policy->deferred) {
    policy->coalesced++;
    return PSC_KEYFRAME_COALESCE;
  }
  if (policy->forced && now_ns - policy->forced_at < PSC_KEYFRAME_MIN_GAP_NS) {
    policy->deferred = TRUE;
    policy->deferred_reason = reason;
    if (delay_ns != NULL)
      *delay_ns = PSC_KEYFRAME_MIN_GAP_NS - (now_ns - policy->forced_at);
    return PSC_KEYFRAME_DEFER;
  }
  policy->pending = TRUE;
  policy->forced = TRUE;
  policy->forced_at = now_ns;
  if (reason == PSC_KEYFRAME_JOIN)
    policy->forced_join++;
  else
    policy->forced_pli++;
  return PSC_KEYFRAME_FORWARD;
}

PscKeyframeDecision
psc_keyframe_policy_deferred_due (PscKeyframePolicy *policy, guint64 now_ns,
    guint64 *delay_ns)
{
  g_return_val_if_fail (policy != NULL && policy->deferred, PSC_KEYFRAME_COALESCE);

  policy->deferred = FALSE;
  return psc_keyframe_policy_request (policy, now_ns, policy->deferred_reason, delay_ns);
}

void
psc_keyframe_policy_keyframe_seen (PscKeyframePolicy *policy)
{
  g_return_if_fail (policy != NULL);

  policy->pending = FALSE;
}

gboolean
psc_keyframe_viewer_gap_pass (guint64 *last_ns, guint64 now_ns)
{
  g_return_val_if_fail (last_ns != NULL, TRUE);

  if (*last_ns != 0 && now_ns - *last_ns < PSC_KEYFRAME_VIEWER_GAP_NS)
    return FALSE;
  *last_ns = now_ns;
  return TRUE;
}
