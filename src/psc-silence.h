/* periscope — when a connected viewer counts as silent: no RTCP for too long
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-silence
 * @title: psc-silence
 * @short_description: when a connected viewer counts as silent: no RTCP for too long
 *
 * A connected viewer whose RTCP stops (its network or player is gone) is ended
 * (PSC_VIEWER_ERROR_SILENT); a pause of the daemon itself is not held against it. Pure
 * bookkeeping, like psc-keyframe: the caller passes the monotonic clock in, holds its own lock
 * around every call and owns the timer, so the rule can be driven by hand in
 * tests/unit/test-silence.c without waiting ten seconds.
 */

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
 * @watch: (out caller-allocates): the watch
 * @silence_us: silence that ends a viewer, µs (> 0)
 * @period_us: the period of the caller's check timer, µs (> 0)
 * @now_us: the monotonic clock now, µs: the window starts here
 *
 * Starts the window (when the viewer connects).
 */
void     psc_silence_watch_init (PscSilenceWatch *watch, gint64 silence_us, gint64 period_us,
    gint64 now_us);

/**
 * psc_silence_watch_heard:
 * @watch: the watch
 * @now_us: the monotonic clock when RTCP arrived, µs
 *
 * RTCP arrived from the viewer: the window starts again at @now_us (never earlier than it
 * already did).
 */
void     psc_silence_watch_heard (PscSilenceWatch *watch, gint64 now_us);

/**
 * psc_silence_watch_check:
 * @watch: the watch
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
