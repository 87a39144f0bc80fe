/* periscope — the source supervisor: a stream's state, and when to try its source again
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * SECTION:psc-supervisor
 * @short_description: a stream's source state (starting, live, offline) and the retry backoff
 *
 * Pure bookkeeping, like psc-keyframe: the caller passes the clock in, holds its own lock and
 * owns the timer and the pipeline (psc-stream.c swaps the source for the no-signal slate and
 * back). Nothing here reads a clock or touches GStreamer, so the rules can be driven by hand in
 * tests/unit/test-supervisor.c. Any thread, under the caller's lock.
 */

/**
 * PscStreamState:
 * @PSC_STREAM_STARTING: the source has not delivered its first frame yet
 * @PSC_STREAM_LIVE: frames come from the source
 * @PSC_STREAM_OFFLINE: the source failed or ended; viewers see the "no signal" slate while
 *   a fresh source is tried again after a backoff
 *
 * What a stream's source is doing. `starting → live ⇄ offline`, and `starting → offline`
 * for a source that fails at start-up.
 */
typedef enum {
  PSC_STREAM_STARTING,
  PSC_STREAM_LIVE,
  PSC_STREAM_OFFLINE,
} PscStreamState;

/**
 * PSC_SUPERVISOR_FIRST_DELAY_NS:
 *
 * The wait before the first retry after an outage (ns); each failed retry doubles it.
 */
#define PSC_SUPERVISOR_FIRST_DELAY_NS (G_GUINT64_CONSTANT (1000000000))

/**
 * PSC_SUPERVISOR_MAX_DELAY_NS:
 *
 * The longest wait between two retries (ns).
 */
#define PSC_SUPERVISOR_MAX_DELAY_NS (G_GUINT64_CONSTANT (30000000000))

/**
 * PscSupervisor:
 * @state: the state now
 * @outages: times the stream went offline (a retry that fails again is the same outage)
 * @failures: failed attempts since the source was last live (0: none)
 * @retry_at: when the next attempt is due (ns, the caller's clock), if offline
 *
 * A stream's source supervision. Plain data: copy it, compare it.
 */
typedef struct {
  PscStreamState state;
  guint outages;
  guint failures;
  guint64 retry_at;
} PscSupervisor;

/**
 * psc_supervisor_init:
 * @supervisor: (out caller-allocates): to set up, #PSC_STREAM_STARTING
 *
 * Sets up a stream's supervision before its source starts: #PSC_STREAM_STARTING, no outage.
 */
void         psc_supervisor_init (PscSupervisor *supervisor);

/**
 * psc_supervisor_live:
 * @supervisor: the supervisor
 *
 * The source delivered a frame: the stream is #PSC_STREAM_LIVE, and the next outage starts
 * its backoff at #PSC_SUPERVISOR_FIRST_DELAY_NS again.
 *
 * Returns: %TRUE if the state changed (tell the viewers, ask the encoders for a keyframe).
 */
gboolean     psc_supervisor_live (PscSupervisor *supervisor);

/**
 * psc_supervisor_failed:
 * @supervisor: the supervisor
 * @now: the caller's monotonic clock, ns
 *
 * The source failed (an error, its end, or no frame in time), at start-up, while live or on
 * a retry: the stream is #PSC_STREAM_OFFLINE. Coming from live or starting, that is a new
 * outage; on a retry, the same one. The wait before the next attempt is 1 s, doubled on each
 * failure in a row, at most #PSC_SUPERVISOR_MAX_DELAY_NS: 1, 2, 4, 8, 16, 30, 30 … s.
 *
 * Returns: the wait before the next attempt, ns (also in @supervisor->retry_at, from @now).
 */
guint64      psc_supervisor_failed (PscSupervisor *supervisor, guint64 now);

/**
 * psc_supervisor_retry_due:
 * @supervisor: the supervisor
 * @now: the caller's monotonic clock, ns
 *
 * Whether the retry timer that fired may build a fresh source now.
 *
 * Returns: %TRUE if the stream is offline and its next attempt is due at @now.
 */
gboolean     psc_supervisor_retry_due (const PscSupervisor *supervisor, guint64 now);

/**
 * psc_supervisor_state_to_string:
 * @state: a state
 *
 * The name of @state in logs and the `stream_state` message.
 *
 * Returns: (transfer none): "starting", "live" or "offline".
 */
const char * psc_supervisor_state_to_string (PscStreamState state);

G_END_DECLS
