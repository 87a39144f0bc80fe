/* periscope — WHEP (draft-ietf-wish-whep): any standard player pulls a stream over HTTP
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-registry.h"
#include "psc-viewer.h"

/**
 * SECTION:psc-whep
 * @title: psc-whep
 * @short_description: WHEP (draft-ietf-wish-whep): any standard player pulls a stream over HTTP
 *
 * #PscWhep serves the WHEP endpoint: a player POSTs its SDP offer and gets an answer with
 * every candidate (a #PscViewer in the answerer role), trickles more candidates with PATCH and
 * ends the session with DELETE. Errors become HTTP statuses in psc_whep_http_status(). Main
 * context only.
 */

G_BEGIN_DECLS

/**
 * PSC_TYPE_WHEP:
 *
 * The #GType of #PscWhep.
 */
#define PSC_TYPE_WHEP (psc_whep_get_type ())

/**
 * PscWhep:
 *
 * The WHEP endpoint and its sessions (psc_whep_new()); an opaque GObject, main context only.
 */
G_DECLARE_FINAL_TYPE (PscWhep, psc_whep, PSC, WHEP, GObject)

/**
 * PSC_WHEP_MAX_OFFER:
 *
 * Largest SDP offer accepted, in bytes (413 beyond, refused from its Content-Length by
 * #PscConnections).
 */
#define PSC_WHEP_MAX_OFFER (64 * 1024)

/**
 * psc_whep_http_status:
 * @error: an error of any layer: PSC_SDP_ERROR, PSC_VIEWER_ERROR, PSC_REGISTRY_ERROR
 *
 * The one translation of errors into WHEP's HTTP statuses (docs/protocol.md, "WHEP"): 400 for
 * SDP that is not SDP, has no usable video or is refused by webrtcbin; 406 for no codec in
 * common; 404 for an unknown stream; 503 for the viewer limit, 429 for the limit of the
 * client's address (psc_registry_take_seat()); 409 for a call out of order; 500 for anything
 * unforeseen.
 *
 * Returns: the status to answer with.
 */
guint     psc_whep_http_status (const GError *error);

/**
 * psc_whep_new:
 * @registry: the streams, and the viewer limit shared with WebSocket viewers (a reference
 *   is taken)
 * @options: settings for the viewers (ICE, timeout); copied
 *
 * An endpoint with no session; psc_whep_add_handlers() serves it. Main context only.
 *
 * Returns: (transfer full): the WHEP endpoint.
 */
PscWhep * psc_whep_new (PscRegistry *registry, const PscViewerOptions *options);

/**
 * psc_whep_add_handlers:
 * @whep: the WHEP endpoint
 * @server: the #SoupServer to add the handlers to (under `/whep`)
 *
 * Serves (CORS, for a page on another origin, is #PscServer's: psc_server_set_origin_policy()):
 * - `POST /whep/{stream}` (application/sdp offer) → `201 Created`, the answer with every
 *   candidate, `Location` of the session resource, `ETag`, and a `Link: <…>; rel="ice-server"`
 *   per STUN/TURN server. 404 unknown stream, 415 not application/sdp, 413 too large,
 *   400 not SDP / no usable video m-line, 406 no codec in common, 409 stream not live (with
 *   Retry-After), 503 viewer limit reached, 429 the client's address has its most viewers
 *   (both with Retry-After). Each with a one-line text body saying why. The session's
 *   viewer holds a seat of the client's address (psc_registry_take_seat()) until it ends.
 * - `PATCH /whep/{stream}/{session}` (application/trickle-ice-sdpfrag, RFC 8840) → 204;
 *   an ICE restart (new ufrag) is 422; `If-Match` other than the ETag is 412.
 * - `DELETE /whep/{stream}/{session}` → 200, the session ends.
 * - `OPTIONS` → 204 with `Accept-Post: application/sdp` and the ICE servers' `Link`s (a
 *   browser's CORS preflight is answered by #PscServer before it comes here).
 */
void      psc_whep_add_handlers (PscWhep *whep, SoupServer *server);

/**
 * psc_whep_close_all:
 * @whep: the WHEP endpoint
 *
 * Ends every session (shutdown): each viewer is stopped and its resource forgotten; the
 * players are not told (a later PATCH or DELETE gets 404).
 */
void      psc_whep_close_all (PscWhep *whep);

/**
 * psc_whep_get_session_count:
 * @whep: the WHEP endpoint
 *
 * For /metrics.
 *
 * Returns: WHEP sessions now.
 */
guint     psc_whep_get_session_count (PscWhep *whep);

/**
 * psc_whep_list_viewers:
 * @whep: the WHEP endpoint
 * @stream_id: (nullable): only this stream's sessions; %NULL for every stream
 *
 * For the REST API's listing of a stream's viewers.
 *
 * Returns: (transfer full) (element-type PscViewer): the WHEP sessions' viewers, oldest
 *   first. A viewer's peer id is the session's public id (`whep-` and 16 hex digits), not
 *   its resource id: that one is a capability (128 random bits; whoever knows it may PATCH
 *   and DELETE the session) and is only ever in the POST's `Location`.
 */
GPtrArray * psc_whep_list_viewers (PscWhep *whep, const char *stream_id);

G_END_DECLS
