/* periscope — /metrics in the Prometheus text exposition format
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-registry.h"
#include "psc-signalling.h"
#include "psc-whep.h"

/**
 * SECTION:psc-metrics
 * @title: psc-metrics
 * @short_description: /metrics in the Prometheus text exposition format
 *
 * Counters and gauges of the streams, encoders, viewers, signalling, WHEP and HTTP
 * connections, rendered on request for Prometheus. Main context only; it reads what the other
 * modules count, and changes nothing. docs/protocol.md lists the families.
 */

G_BEGIN_DECLS

/**
 * psc_metrics_render:
 * @registry: the streams
 * @signalling: the WebSocket session counters
 * @whep: (nullable): for the WHEP session gauge
 * @started_at: when the process started, µs since the Unix epoch
 *
 * Renders the metrics in the Prometheus text exposition format 0.0.4: a HELP and TYPE line
 * per family, `_total` counters, units in the names (`_bytes`, `_seconds`), label values
 * escaped. See docs/protocol.md for the list.
 *
 * Returns: (transfer full): the text.
 */
char * psc_metrics_render (PscRegistry *registry, PscSignalling *signalling, PscWhep *whep,
    gint64 started_at);

/**
 * psc_metrics_add_handler:
 * @server: the #SoupServer to add the handler to
 * @registry: a reference is taken
 * @signalling: a reference is taken
 * @whep: (nullable): a reference is taken
 *
 * Serves psc_metrics_render() at `GET /metrics` (text/plain; version=0.0.4).
 */
void   psc_metrics_add_handler (SoupServer *server, PscRegistry *registry,
    PscSignalling *signalling, PscWhep *whep);

G_END_DECLS
