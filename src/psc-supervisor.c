/* periscope — the source supervisor: a stream's state, and when to try its source again
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-supervisor.h"

void
psc_supervisor_init (PscSupervisor *supervisor)
{
  g_return_if_fail (supervisor != NULL);

  *supervisor = (PscSupervisor) { .state = PSC_STREAM_STARTING };
}

gboolean
psc_supervisor_live (PscSupervisor *supervisor)
{
  gboolean changed;

  g_return_val_if_fail (supervisor != NULL, FALSE);

  changed = supervisor->state != PSC_STREAM_LIVE;
  supervisor->state = PSC_STREAM_LIVE;
  supervisor->failures = 0;
  supervisor->retry_at = 0;
  return changed;
}

guint64
psc_supervisor_failed (PscSupervisor *supervisor, guint64 now)
{
  guint64 delay = PSC_SUPERVISOR_FIRST_DELAY_NS;

  g_return_val_if_fail (supervisor != NULL, PSC_SUPERVISOR_MAX_DELAY_NS);

  if (supervisor->state != PSC_STREAM_OFFLINE)
    supervisor->outages++;
  supervisor->state = PSC_STREAM_OFFLINE;
  /* Doubled once per failure before this one; capped before it can overflow. */
  for (guint i = 0; i < supervisor->failures && delay < PSC_SUPERVISOR_MAX_DELAY_NS; i++)
    delay *= 2;
  delay = MIN (delay, PSC_SUPERVISOR_MAX_DELAY_NS);
  supervisor->failures++;
  supervisor->retry_at = now + delay;
  return delay;
}

gboolean
psc_supervisor_retry_due (const PscSupervisor *supervisor, guint64 now)
{
  g_return_val_if_fail (supervisor != NULL, FALSE);

  return supervisor->state == PSC_STREAM_OFFLINE && now >= supervisor->retry_at;
}

const char *
psc_supervisor_state_to_string (PscStreamState state)
{
  switch (state) {
    case PSC_STREAM_STARTING:
      return "starting";
    case PSC_STREAM_LIVE:
      return "live";
    case PSC_STREAM_OFFLINE:
      return "offline";
    default:
      return "unknown";
  }
}
