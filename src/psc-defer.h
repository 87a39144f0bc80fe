/* periscope — handing work from GStreamer's threads to the main context
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-defer
 * @title: psc-defer
 * @short_description: handing work from GStreamer's threads to the main context
 *
 * The one way periscope moves work off a streaming or webrtcbin thread: an idle source on
 * the main context that owns the state. Callable from any thread.
 */

G_BEGIN_DECLS

/**
 * psc_defer:
 * @context: the main context that owns the state @func touches
 * @func: runs once on @context (its return value is ignored)
 * @data: for @func
 * @destroy: (nullable): frees @data after @func ran, or if the source is destroyed unrun
 *
 * Queues @func as an idle source on @context; any thread. Never g_main_context_invoke():
 * that runs the callback on the calling thread whenever the context happens to be free to
 * acquire — a webrtcbin or streaming thread touching libsoup and the registry of viewers.
 * Nor inline from a pad probe, where releasing the probed pad would pull the rug from under
 * GStreamer.
 */
void psc_defer (GMainContext *context, GSourceFunc func, gpointer data, GDestroyNotify destroy);

G_END_DECLS
