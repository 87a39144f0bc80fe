/* periscope — the streams a daemon serves, and the viewer limit over all of them
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "psc-stream.h"

G_BEGIN_DECLS

#define PSC_REGISTRY_ERROR (psc_registry_error_quark ())
GQuark psc_registry_error_quark (void);

/**
 * PscRegistryError:
 * @PSC_REGISTRY_ERROR_NO_STREAM: no stream has the id asked for
 * @PSC_REGISTRY_ERROR_VIEWER_LIMIT: the viewer limit (--max-viewers) is reached
 */
typedef enum {
  PSC_REGISTRY_ERROR_NO_STREAM,
  PSC_REGISTRY_ERROR_VIEWER_LIMIT,
} PscRegistryError;

#define PSC_TYPE_REGISTRY (psc_registry_get_type ())
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
 * Adds @stream and emits #PscRegistry::stream-added. The first stream added is the default
 * one (`/ws` without a room).
 */
void          psc_registry_add_stream (PscRegistry *registry, PscStream *stream);

/**
 * psc_registry_lookup:
 * @registry: the registry
 * @id: a stream id
 *
 * Returns: (transfer none) (nullable): the stream with @id, or %NULL.
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
 * Returns: (transfer none) (element-type PscStream): the streams in the order added.
 */
GPtrArray *   psc_registry_get_streams (PscRegistry *registry);

/**
 * psc_registry_get_default_stream:
 * Returns: (transfer none) (nullable): the first stream added, or %NULL while there is none.
 */
PscStream *   psc_registry_get_default_stream (PscRegistry *registry);

/**
 * psc_registry_count_viewers:
 * Returns: the viewers of every stream now, WebSocket and WHEP alike: the branches attached
 *   to the streams (#PscStreamStats.viewers).
 */
guint         psc_registry_count_viewers (PscRegistry *registry);

/**
 * psc_registry_check_viewer_limit:
 * @registry: the registry
 * @error: PSC_REGISTRY_ERROR_VIEWER_LIMIT when one more viewer would exceed the limit
 *
 * The one check of --max-viewers, for every kind of viewer: call it before starting one.
 *
 * Returns: %TRUE if one more viewer may start.
 */
gboolean      psc_registry_check_viewer_limit (PscRegistry *registry, GError **error);

G_END_DECLS
