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
 * PscMetricsFunc:
 * @out: the text so far, to append families to (HELP, TYPE and samples)
 * @user_data: as given to psc_metrics_add_handler()
 *
 * Families a layer above this one renders itself (the HTTP server's refusals): called at the
 * end of each scrape, main context.
 */
typedef void (*PscMetricsFunc) (GString *out, gpointer user_data);

/**
 * psc_metrics_add_handler:
 * @server: the #SoupServer to add the handler to
 * @registry: a reference is taken
 * @signalling: a reference is taken
 * @whep: (nullable): a reference is taken
 * @more: (nullable) (scope notified): appends more families to each scrape
 * @more_data: for @more; must outlive @server's handlers
 *
 * Serves psc_metrics_render(), then what @more appends, at `GET /metrics`
 * (text/plain; version=0.0.4).
 */
void   psc_metrics_add_handler (SoupServer *server, PscRegistry *registry,
    PscSignalling *signalling, PscWhep *whep, PscMetricsFunc more, gpointer more_data);

G_END_DECLS
