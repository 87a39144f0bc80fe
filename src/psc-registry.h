/* periscope — the streams a daemon serves, and the viewer limit over all of them
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "psc-stream.h"

/**
 * SECTION:psc-registry
 * @title: psc-registry
 * @short_description: the streams a daemon serves, and the viewer limit over all of them
 *
 * #PscRegistry holds the daemon's streams by id; every module that serves viewers (signalling,
 * WHEP, the REST API, metrics) finds its streams there, and checks --max-viewers there, once for
 * every kind of viewer. Main thread only.
 */

G_BEGIN_DECLS

/**
 * PSC_REGISTRY_ERROR:
 *
 * The error domain of the registry: a stream that does not exist, the viewer limit. Codes are #PscRegistryError.
 */
#define PSC_REGISTRY_ERROR (psc_registry_error_quark ())

/**
 * psc_registry_error_quark:
 *
 * The quark behind #PSC_REGISTRY_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_registry_error_quark (void);

/**
 * PscRegistryError:
 * @PSC_REGISTRY_ERROR_NO_STREAM: no stream has the id asked for
 * @PSC_REGISTRY_ERROR_VIEWER_LIMIT: the viewer limit (--max-viewers) is reached
 * @PSC_REGISTRY_ERROR_ADDRESS_LIMIT: the viewers of one remote address are at their limit
 *   (--max-viewers-per-address)
 *
 * The codes of #PSC_REGISTRY_ERROR.
 */
typedef enum {
  PSC_REGISTRY_ERROR_NO_STREAM,
  PSC_REGISTRY_ERROR_VIEWER_LIMIT,
  PSC_REGISTRY_ERROR_ADDRESS_LIMIT,
} PscRegistryError;

/**
 * PSC_TYPE_REGISTRY:
 *
 * The #GType of #PscRegistry.
 */
#define PSC_TYPE_REGISTRY (psc_registry_get_type ())

/**
 * PscRegistry:
 *
 * The streams of a daemon (psc_registry_new()); an opaque GObject, main thread only.
 *
 * Its one signal, `stream-added` (@registry, the #PscStream just added), is emitted on the main
 * context by psc_registry_add_stream(); signalling makes the stream's room then.
 */
G_DECLARE_FINAL_TYPE (PscRegistry, psc_registry, PSC, REGISTRY, GObject)

/**
 * psc_registry_new:
 * @max_viewers: viewers at most over every stream, WebSocket and WHEP together; 0: no limit
 *
 * The registry owns the streams of a daemon. Everything that serves streams to viewers
 * (WebSocket signalling, WHEP, the REST API, metrics) is given the registry and finds its
 * streams there: adding a camera is adding a stream here. Main thread only.
 *
 * Returns: (transfer full): an empty registry.
 */
PscRegistry * psc_registry_new (guint max_viewers);

/**
 * psc_registry_add_stream:
 * @registry: the registry
 * @stream: a stream whose id no stream in @registry has (a reference is taken)
 *
 * Adds @stream and emits the `stream-added` signal (#PscRegistry). The first stream added is the default
 * one (`/ws` without a room).
 */
void          psc_registry_add_stream (PscRegistry *registry, PscStream *stream);

/**
 * psc_registry_lookup:
 * @registry: the registry
 * @id: (nullable): a stream id
 *
 * Finds a stream by id (also its room's name).
 *
 * Returns: (transfer none) (nullable): the stream with @id, or %NULL (also for a %NULL @id).
 */
PscStream *   psc_registry_lookup (PscRegistry *registry, const char *id);

/**
 * psc_registry_lookup_checked:
 * @registry: the registry
 * @id: a stream id
 * @error: PSC_REGISTRY_ERROR_NO_STREAM saying which id
 *
 * psc_registry_lookup() with the error a client is told.
 *
 * Returns: (transfer none) (nullable): the stream with @id, or %NULL with @error set.
 */
PscStream *   psc_registry_lookup_checked (PscRegistry *registry, const char *id,
    GError **error);

/**
 * psc_registry_get_streams:
 * @registry: the registry
 *
 * For listings (the REST API, metrics); do not change the array.
 *
 * Returns: (transfer none) (element-type PscStream): the streams in the order added.
 */
GPtrArray *   psc_registry_get_streams (PscRegistry *registry);

/**
 * psc_registry_get_default_stream:
 * @registry: the registry
 *
 * The stream of `/ws` without a room, and of psc_signalling_get_default_room().
 *
 * Returns: (transfer none) (nullable): the first stream added, or %NULL while there is none.
 */
PscStream *   psc_registry_get_default_stream (PscRegistry *registry);

/**
 * psc_registry_count_viewers:
 * @registry: the registry
 *
 * The count psc_registry_check_viewer_limit() compares with the limit.
 *
 * Returns: the seats taken (psc_registry_take_seat()) over every stream, WebSocket and WHEP
 *   viewers alike: those connecting and watching. A viewer that has left is not counted while
 *   its branch is still being detached (up to 5 s, webrtcbin's queued operations first): a
 *   page reloaded at the limit gets the seat it just gave back; the descriptors that
 *   teardown still holds are in the file-descriptor check.
 */
guint         psc_registry_count_viewers (PscRegistry *registry);

/**
 * psc_registry_check_viewer_limit:
 * @registry: the registry
 * @error: PSC_REGISTRY_ERROR_VIEWER_LIMIT when one more viewer would exceed the limit, when
 *   the branches still attached to the streams (viewers watching, and those of viewers who
 *   left, still being torn down) are twice the limit, or when one more would bring the
 *   process's open file descriptors within a quarter of its limit
 *
 * The one check of --max-viewers, for every kind of viewer: call it before starting one.
 *
 * Returns: %TRUE if one more viewer may start.
 */
gboolean      psc_registry_check_viewer_limit (PscRegistry *registry, GError **error);

/**
 * psc_registry_set_max_per_address:
 * @registry: the registry
 * @max_per_address: viewers at most per remote address; 0: no limit
 *
 * A new registry has no limit per address (the daemon sets --max-viewers-per-address).
 * Seats already taken stay.
 */
void          psc_registry_set_max_per_address (PscRegistry *registry, guint max_per_address);

/**
 * psc_registry_take_seat:
 * @registry: the registry
 * @address: (nullable): the viewer's remote IP address, as text; %NULL: not counted per
 *   address (a viewer made inside the process)
 * @error: PSC_REGISTRY_ERROR_VIEWER_LIMIT (psc_registry_check_viewer_limit()), or
 *   PSC_REGISTRY_ERROR_ADDRESS_LIMIT when @address has its most viewers already; the message
 *   names no address (it is shown to the client)
 *
 * The one check before a viewer starts, WebSocket and WHEP alike: the limits over all and
 * per address. On success the viewer holds a seat of @address until
 * psc_registry_release_seat().
 *
 * Returns: %TRUE if the viewer may start.
 */
gboolean      psc_registry_take_seat (PscRegistry *registry, const char *address,
    GError **error);

/**
 * psc_registry_release_seat:
 * @registry: the registry
 * @address: (nullable): as given to a successful psc_registry_take_seat()
 *
 * The viewer has ended: its address may take another seat.
 */
void          psc_registry_release_seat (PscRegistry *registry, const char *address);

/**
 * psc_registry_get_seats_refused:
 * @registry: the registry
 * @refused: (out caller-allocates) (array fixed-size=2): viewers refused by
 *   psc_registry_take_seat() since the start, by why: [0] the limit over all
 *   (VIEWER_LIMIT), [1] the limit per address (ADDRESS_LIMIT)
 *
 * For /metrics (`periscope_viewers_refused_total`).
 */
void          psc_registry_get_seats_refused (PscRegistry *registry, guint64 refused[2]);

G_END_DECLS
