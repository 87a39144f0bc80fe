/* periscope — when a connected viewer counts as silent: no RTCP for too long
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-silence.h"

void
psc_silence_watch_init (PscSilenceWatch *watch, gint64 silence_us, gint64 period_us,
    gint64 now_us)
{
  g_return_if_fail (watch != NULL && silence_us > 0 && period_us > 0);

  watch->silence_us = silence_us;
  watch->period_us = period_us;
  watch->last_heard_us = now_us;
  watch->last_check_us = now_us;
}

void
psc_silence_watch_heard (PscSilenceWatch *watch, gint64 now_us)
{
  g_return_if_fail (watch != NULL);

  watch->last_heard_us = MAX (watch->last_heard_us, now_us);
}

gboolean
psc_silence_watch_check (PscSilenceWatch *watch, gint64 now_us)
{
  gint64 since_check;

  g_return_val_if_fail (watch != NULL, FALSE);

  since_check = now_us - watch->last_check_us;
  watch->last_check_us = now_us;
  if (since_check > 2 * watch->period_us) {
    watch->last_heard_us = now_us;
    return FALSE;
  }
  return now_us - watch->last_heard_us >= watch->silence_us;
}
