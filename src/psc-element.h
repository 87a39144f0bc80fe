/* periscope — building pipelines: making and linking elements, failures as GErrors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

/**
 * SECTION:psc-element
 * @title: psc-element
 * @short_description: building pipelines: making and linking elements, failures as GErrors
 *
 * The one failure policy for building pipelines: every step that can fail returns a GError
 * in GStreamer's own domains, and the caller refuses what it was building (a viewer, an
 * encoder) with that message. Nothing aborts the daemon, nothing carries on half-built. Any
 * thread that may build elements; the version check reads the running GStreamer.
 */

G_BEGIN_DECLS

/**
 * psc_element_make:
 * @factory: an element factory name, e.g. "webrtcbin"
 * @name: (nullable): the element's name; %NULL lets GStreamer pick a unique one
 * @error: GST_CORE_ERROR_MISSING_PLUGIN naming @factory and the Debian packages that bring
 *   GStreamer's plugins
 *
 * gst_element_factory_make() with a GError that tells the operator what to install.
 *
 * Returns: (transfer floating): the element, or %NULL with @error set.
 */
GstElement * psc_element_make (const char *factory, const char *name, GError **error);

/**
 * psc_element_link:
 * @src: an element with a source pad
 * @sink: an element with a sink pad, in the same bin as @src
 * @error: GST_CORE_ERROR_NEGOTIATION naming both elements
 *
 * gst_element_link() with a GError.
 *
 * Returns: %TRUE if linked.
 */
gboolean     psc_element_link (GstElement *src, GstElement *sink, GError **error);

/**
 * psc_element_link_pads:
 * @src: a source pad
 * @sink: a sink pad
 * @error: GST_CORE_ERROR_NEGOTIATION naming both pads and the #GstPadLinkReturn
 *
 * gst_pad_link() with a GError.
 *
 * Returns: %TRUE if linked.
 */
gboolean     psc_element_link_pads (GstPad *src, GstPad *sink, GError **error);

/**
 * psc_element_add_chain:
 * @bin: the bin to add to
 * @previous: (inout) (nullable): the chain's last element so far, %NULL before the first;
 *   set to @element when it is added and linked
 * @element: (transfer floating): the element to add and link after *@previous; a %NULL
 *   @element (a failed psc_element_make()) fails at once, keeping the error already set
 * @error: as psc_element_link()
 *
 * Adds @element to @bin and links *@previous to it: one step of building
 * `a ! b ! c` by hand. On failure @element stays in @bin (freed with it).
 *
 * Returns: %TRUE if added and linked.
 */
gboolean     psc_element_add_chain (GstBin *bin, GstElement **previous, GstElement *element,
    GError **error);

/**
 * psc_element_ghost_chain:
 * @bin: a bin
 * @first: the first element of a chain in @bin (one with a "sink" pad)
 * @last: the chain's last element (one with a "src" pad)
 *
 * Ghosts @first's sink pad and @last's src pad as @bin's "sink" and "src": the ends of a
 * chain built with psc_element_add_chain(), by name, where gst_parse_bin_from_description()
 * would ghost whichever pads are unlinked at parse time.
 */
void         psc_element_ghost_chain (GstElement *bin, GstElement *first, GstElement *last);

/**
 * psc_element_remove:
 * @bin: the bin holding @element (the running pipeline)
 * @element: an element to take out of it for good
 *
 * Sets @element to NULL (psc_element_stop(): even when a child of it failed to start) and
 * removes it from @bin, its state locked first and left locked:
 * otherwise the pipeline finishing an asynchronous state change (a sink prerolling somewhere,
 * a source that prerolls) — which may be iterating its children already — could bring
 * @element back up, during or after its removal, and it would go on running outside the
 * pipeline (webrtcbin's transports, a camera left open) or be disposed while PLAYING. The
 * caller must hold a reference of its own if it uses @element afterwards. Main thread.
 */
void         psc_element_remove (GstBin *bin, GstElement *element);

/**
 * psc_element_stop:
 * @element: a pipeline (or any element) to bring down
 *
 * Sets @element to NULL, and makes sure it gets there. A bin going down sets each child to
 * each state on the way (gstbin.c, gst_bin_change_state_func()), so a child left below the
 * bin's state — a source bin whose own start failed (a camera not there), added to the
 * running pipeline and not yet removed — is asked to go *up* to PAUSED, fails again, and
 * the whole bin stays PLAYING: its camera open, and a "dispose ... in PLAYING" CRITICAL when
 * it is freed. On such a failure each direct child is stopped the same way on its own (a bin
 * holding such a child is in the same trap), its state locked meanwhile so the bin's change
 * skips it, and then @element. Main thread.
 */
void         psc_element_stop (GstElement *element);

/**
 * psc_element_gst_older_than:
 * @major: major version
 * @minor: minor version
 * @micro: micro version
 *
 * Whether the GStreamer library running now (gst_version(), not the headers built against)
 * is older than @major.@minor.@micro: gates a workaround of a GStreamer bug fixed in that
 * release (docs/architecture.md, "Workarounds").
 *
 * Returns: %TRUE if older.
 */
gboolean     psc_element_gst_older_than (guint major, guint minor, guint micro);

G_END_DECLS
