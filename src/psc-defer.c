/* periscope — handing work from GStreamer's threads to the main context
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-defer.h"

void
psc_defer (GMainContext *context, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_attach (source, context);
  g_source_unref (source);
}
