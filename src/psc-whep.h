/* periscope — WHEP (draft-ietf-wish-whep): any standard player pulls a stream over HTTP
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-registry.h"
#include "psc-viewer.h"

G_BEGIN_DECLS

#define PSC_TYPE_WHEP (psc_whep_get_type ())
G_DECLARE_FINAL_TYPE (PscWhep, psc_whep, PSC, WHEP, GObject)

/**
 * PSC_WHEP_MAX_OFFER:
 *
 * Largest SDP offer accepted, in bytes (413 beyond).
 */
#define PSC_WHEP_MAX_OFFER (64 * 1024)

/**
 * psc_whep_http_status:
 * @error: an error of any layer: PSC_SDP_ERROR, PSC_VIEWER_ERROR, PSC_REGISTRY_ERROR
 *
 * The one translation of errors into WHEP's HTTP statuses (docs/protocol.md, "WHEP"): 400 for
 * SDP that is not SDP, has no usable video or is refused by webrtcbin; 406 for no codec in
 * common; 404 for an unknown stream; 503 for the viewer limit; 409 for a call out of order;
 * 500 for anything unforeseen.
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
 * Returns: (transfer full): the WHEP endpoint.
 */
PscWhep * psc_whep_new (PscRegistry *registry, const PscViewerOptions *options);

/**
 * psc_whep_add_handlers:
 *
 * Serves, with CORS headers so a player on another origin may call it:
 * - `POST /whep/{stream}` (application/sdp offer) → `201 Created`, the answer with every
 *   candidate, `Location` of the session resource, `ETag`, and a `Link: <…>; rel="ice-server"`
 *   per STUN/TURN server. 404 unknown stream, 415 not application/sdp, 413 too large,
 *   400 not SDP / no usable video m-line, 406 no codec in common, 409 stream not live (with
 *   Retry-After), 503 viewer limit reached. Each with a one-line text body saying why.
 * - `PATCH /whep/{stream}/{session}` (application/trickle-ice-sdpfrag, RFC 8840) → 204;
 *   an ICE restart (new ufrag) is 422; `If-Match` other than the ETag is 412.
 * - `DELETE /whep/{stream}/{session}` → 200, the session ends.
 * - `OPTIONS` → 204 with `Accept-Post: application/sdp` (CORS preflight).
 */
void      psc_whep_add_handlers (PscWhep *whep, SoupServer *server);

/**
 * psc_whep_close_all:
 *
 * Ends every session (shutdown).
 */
void      psc_whep_close_all (PscWhep *whep);

/**
 * psc_whep_get_session_count:
 * Returns: WHEP sessions now.
 */
guint     psc_whep_get_session_count (PscWhep *whep);

/**
 * psc_whep_list_sessions:
 * @whep: the WHEP endpoint
 * @stream_id: (nullable): only this stream's sessions
 *
 * Returns: (transfer full) (element-type PscViewer): the WHEP sessions' viewers (a viewer's
 *   peer id is its session id), oldest first.
 */
GPtrArray * psc_whep_list_viewers (PscWhep *whep, const char *stream_id);

G_END_DECLS
