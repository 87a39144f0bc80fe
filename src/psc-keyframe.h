/* periscope — keyframe policy: when a request for a keyframe reaches the encoder
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-keyframe
 * @title: psc-keyframe
 * @short_description: keyframe policy: when a request for a keyframe reaches the encoder
 *
 * Coalesces and spaces keyframe requests (a viewer joining, PLI/FIR from its RTCP), so a burst
 * from many viewers costs one keyframe, and one viewer in a loop cannot spend everyone's
 * bitrate on them. Pure bookkeeping: the caller passes the clock in, holds its own lock around
 * every call, and owns the timer and the GstForceKeyUnit events. Nothing here reads a clock,
 * attaches a source or takes a lock, so the rules can be driven by hand in
 * tests/unit/test-keyframe.c. Used by #PscStream and #PscEncoding, from any thread.
 */

G_BEGIN_DECLS

/**
 * PscKeyframeReason:
 * @PSC_KEYFRAME_JOIN: a viewer's WebRTC session just connected
 * @PSC_KEYFRAME_PLI: a viewer asked (RTCP PLI or FIR, RFC 4585 §6.3.1, RFC 5104 §4.3.1),
 *   reaching the encoder as an upstream GstForceKeyUnit event from rtpsession
 *
 * Why a keyframe is asked for; each is counted apart (#PscKeyframePolicy).
 */
typedef enum {
  PSC_KEYFRAME_JOIN,
  PSC_KEYFRAME_PLI,
} PscKeyframeReason;

/**
 * PSC_KEYFRAME_PENDING_NS:
 *
 * A forced request this young (ns) that has not produced a keyframe yet covers new ones.
 */
#define PSC_KEYFRAME_PENDING_NS (G_GUINT64_CONSTANT (1000000000))

/**
 * PSC_KEYFRAME_MIN_GAP_NS:
 *
 * Forced keyframes are at least this far apart (ns); a later request waits for the gap.
 */
#define PSC_KEYFRAME_MIN_GAP_NS (G_GUINT64_CONSTANT (200000000))

/**
 * PSC_KEYFRAME_VIEWER_GAP_NS:
 *
 * One viewer's requests are at least this far apart (ns); the ones in between are dropped.
 */
#define PSC_KEYFRAME_VIEWER_GAP_NS (G_GUINT64_CONSTANT (1000000000))

/**
 * PscKeyframeDecision:
 * @PSC_KEYFRAME_FORWARD: send the request on to the encoder now
 * @PSC_KEYFRAME_COALESCE: drop it: a request already pending, or deferred, covers it
 * @PSC_KEYFRAME_DEFER: drop it for now; call psc_keyframe_policy_deferred_due() after the
 *   delay returned with it
 *
 * What psc_keyframe_policy_request() decides for a request.
 */
typedef enum {
  PSC_KEYFRAME_FORWARD,
  PSC_KEYFRAME_COALESCE,
  PSC_KEYFRAME_DEFER,
} PscKeyframeDecision;

/**
 * PscKeyframePolicy:
 * @forced_join: requests forwarded because a viewer connected
 * @forced_pli: requests forwarded because of a PLI/FIR
 * @coalesced: requests folded into one already pending or deferred
 *
 * One encoder's keyframe state. Zero-initialise it (or use psc_keyframe_policy_init()); the
 * counters only ever grow. The other fields are private.
 */
typedef struct {
  guint64 forced_join;
  guint64 forced_pli;
  guint64 coalesced;

  /*< private >*/
  gboolean pending;             /* forwarded, and no keyframe seen since */
  gboolean forced;              /* forced_at is set */
  gboolean deferred;            /* a request waits for the gap */
  guint64 forced_at;            /* ns, the caller's clock: the last forwarded request */
  PscKeyframeReason deferred_reason;
} PscKeyframePolicy;

/**
 * psc_keyframe_policy_init:
 * @policy: (out caller-allocates): the policy
 *
 * Nothing requested yet, counters at zero.
 */
void                psc_keyframe_policy_init (PscKeyframePolicy *policy);

/**
 * psc_keyframe_policy_request:
 * @policy: the policy
 * @now_ns: the time now, ns, on a monotonic clock (the same for every call)
 * @reason: why the keyframe is asked for
 * @delay_ns: (out) (optional): with %PSC_KEYFRAME_DEFER, how long the caller waits before
 *   calling psc_keyframe_policy_deferred_due(), ns; 0 otherwise
 *
 * Decides what to do with a keyframe request and books it. A request is coalesced into one
 * forwarded less than #PSC_KEYFRAME_PENDING_NS ago that has not produced a keyframe yet
 * (psc_keyframe_policy_keyframe_seen()), or into one already deferred. Otherwise it is
 * forwarded, unless the last forwarded one is less than #PSC_KEYFRAME_MIN_GAP_NS old: then
 * it is deferred until the gap has passed. Fifty viewers sending PLI at once cost one
 * keyframe; an encoder is never asked for two within 200 ms.
 *
 * Returns: the decision.
 */
PscKeyframeDecision psc_keyframe_policy_request (PscKeyframePolicy *policy, guint64 now_ns,
    PscKeyframeReason reason, guint64 *delay_ns);

/**
 * psc_keyframe_policy_deferred_due:
 * @policy: the policy, after psc_keyframe_policy_request() returned %PSC_KEYFRAME_DEFER
 * @now_ns: the time now, ns
 * @delay_ns: (out) (optional): as for psc_keyframe_policy_request()
 *
 * The deferred request's delay has passed (the caller's timer fired): decides it again, as
 * a new request for the same reason. It may still be coalesced, into a keyframe requested
 * meanwhile that has not come yet.
 *
 * Returns: the decision.
 */
PscKeyframeDecision psc_keyframe_policy_deferred_due (PscKeyframePolicy *policy,
    guint64 now_ns, guint64 *delay_ns);

/**
 * psc_keyframe_policy_keyframe_seen:
 * @policy: the policy
 *
 * A keyframe left the encoder: the pending request, if any, is served, and the next one is
 * not coalesced into it.
 */
void                psc_keyframe_policy_keyframe_seen (PscKeyframePolicy *policy);

/**
 * psc_keyframe_viewer_gap_pass:
 * @last_ns: (inout): when this viewer's last request passed, ns; 0 before the first
 * @now_ns: the time now, ns, on a monotonic clock that is never 0
 *
 * One viewer asking for keyframes in a loop (a PLI storm, a broken client) gets at most one
 * request per #PSC_KEYFRAME_VIEWER_GAP_NS through, so it cannot spend everyone's bitrate on
 * keyframes; the encoder's policy then applies to what passes. A dropped request does not
 * move the gap.
 *
 * Returns: %TRUE if the request passes (and *@last_ns is now @now_ns).
 */
gboolean            psc_keyframe_viewer_gap_pass (guint64 *last_ns, guint64 now_ns);

G_END_DECLS
