/* periscope — when a connected viewer counts as silent: no RTCP for too long
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure bookkeeping, like psc-keyframe: the caller passes the monotonic clock in, holds its
 * own lock around every call and owns the timer, so the rule can be driven by hand in
 * tests/unit/test-silence.c without waiting ten seconds.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PscSilenceWatch:
 * @silence_us: how long without RTCP makes a viewer silent, µs
 * @period_us: how often the caller's timer checks, µs
 * @last_heard_us: monotonic µs of the last RTCP, or of the last restart of the window
 * @last_check_us: monotonic µs of the last check
 *
 * One viewer's RTCP silence window.
 */
typedef struct {
  gint64 silence_us;
  gint64 period_us;
  gint64 last_heard_us;
  gint64 last_check_us;
} PscSilenceWatch;

/**
 * psc_silence_watch_init:
 * @silence_us: silence that ends a viewer, µs (> 0)
 * @period_us: the period of the caller's check timer, µs (> 0)
 * @now_us: the monotonic clock now, µs: the window starts here
 */
void     psc_silence_watch_init (PscSilenceWatch *watch, gint64 silence_us, gint64 period_us,
    gint64 now_us);

/**
 * psc_silence_watch_heard:
 * @now_us: the monotonic clock when RTCP arrived, µs
 */
void     psc_silence_watch_heard (PscSilenceWatch *watch, gint64 now_us);

/**
 * psc_silence_watch_check:
 * @now_us: the monotonic clock now, µs
 *
 * The timer's check. Silence is measured against the timer's own runs: when this check
 * comes more than two periods after the previous one, the timer itself ran late — the whole
 * process was paused (SIGSTOP, a suspended VM, a debugger) or starved of CPU — and nobody
 * could have heard the viewer's RTCP meanwhile; the window starts again now instead of
 * blaming the viewer for the daemon's own pause (after SIGSTOP/SIGCONT 8 of 10 viewers were
 * dropped this way).
 *
 * Returns: %TRUE if the viewer has been silent for @silence_us of checked time.
 */
gboolean psc_silence_watch_check (PscSilenceWatch *watch, gint64 now_us);

G_END_DECLS
