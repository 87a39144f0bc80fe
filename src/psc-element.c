/* periscope — building pipelines: making and linking elements, failures as GErrors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-element.h"

GstElement *
psc_element_make (const char *factory, const char *name, GError **error)
{
  GstElement *element;

  g_return_val_if_fail (factory != NULL, NULL);

  element = gst_element_factory_make (factory, name);
  if (element == NULL)
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "GStreamer element %s is missing: install gstreamer1.0-plugins-base, -good and -bad "
        "(gst-inspect-1.0 %s says whether it is there)", factory, factory);
  return element;
}

gboolean
psc_element_link (GstElement *src, GstElement *sink, GError **error)
{
  g_return_val_if_fail (GST_IS_ELEMENT (src) && GST_IS_ELEMENT (sink), FALSE);

  if (gst_element_link (src, sink))
    return TRUE;
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
      "cannot link %s to %s: their pads are not compatible", GST_ELEMENT_NAME (src),
      GST_ELEMENT_NAME (sink));
  return FALSE;
}

gboolean
psc_element_link_pads (GstPad *src, GstPad *sink, GError **error)
{
  GstPadLinkReturn ret;

  g_return_val_if_fail (GST_IS_PAD (src) && GST_IS_PAD (sink), FALSE);

  ret = gst_pad_link (src, sink);
  if (ret == GST_PAD_LINK_OK)
    return TRUE;
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
      "cannot link %s:%s to %s:%s: %s", GST_DEBUG_PAD_NAME (src), GST_DEBUG_PAD_NAME (sink),
      gst_pad_link_get_name (ret));
  return FALSE;
}

gboolean
psc_element_add_chain (GstBin *bin, GstElement **previous, GstElement *element, GError **error)
{
  g_return_val_if_fail (GST_IS_BIN (bin) && previous != NULL, FALSE);

  if (element == NULL)
    return FALSE;
  gst_bin_add (bin, element);
  if (*previous != NULL && !psc_element_link (*previous, element, error))
    return FALSE;
  *previous = element;
  return TRUE;
}

void
psc_element_ghost_chain (GstElement *bin, GstElement *first, GstElement *last)
{
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) src = NULL;

  g_return_if_fail (GST_IS_BIN (bin) && GST_IS_ELEMENT (first) && GST_IS_ELEMENT (last));

  sink = gst_element_get_static_pad (first, "sink");
  src = gst_element_get_static_pad (last, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", sink));
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", src));
}

void
psc_element_remove (GstBin *bin, GstElement *element)
{
  g_return_if_fail (GST_IS_BIN (bin) && GST_IS_ELEMENT (element));

  /* Left locked: a state change of @bin already iterating its children may still reach
   * @element after it is out, and must find it locked. */
  gst_element_set_locked_state (element, TRUE);
  psc_element_stop (element);
  gst_bin_remove (bin, element);
}

/* Each direct child of @bin, with a reference, in a new array (a resync starts it again). */
static GPtrArray *
list_children (GstBin *bin)
{
  GPtrArray *children = g_ptr_array_new_with_free_func (gst_object_unref);
  GstIterator *iterator = gst_bin_iterate_elements (bin);
  GValue item = G_VALUE_INIT;
  gboolean done = FALSE;

  while (!done) {
    switch (gst_iterator_next (iterator, &item)) {
      case GST_ITERATOR_OK:
        g_ptr_array_add (children, g_value_dup_object (&item));
        g_value_reset (&item);
        break;
      case GST_ITERATOR_RESYNC:
        g_ptr_array_set_size (children, 0);
        gst_iterator_resync (iterator);
        break;
      default:
        done = TRUE;
        break;
    }
  }
  g_value_unset (&item);
  gst_iterator_free (iterator);
  return children;
}

void
psc_element_stop (GstElement *element)
{
  g_autoptr (GPtrArray) children = NULL;
  g_autoptr (GPtrArray) locked = NULL;

  g_return_if_fail (GST_IS_ELEMENT (element));

  if (gst_element_set_state (element, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE ||
      !GST_IS_BIN (element))
    return;
  GST_INFO_OBJECT (element, "a child failed on the way to NULL: each set to NULL on its own");
  children = list_children (GST_BIN (element));
  locked = g_ptr_array_new ();
  for (guint i = 0; i < children->len; i++) {
    GstElement *child = g_ptr_array_index (children, i);

    if (!gst_element_is_locked_state (child)) {
      gst_element_set_locked_state (child, TRUE);
      g_ptr_array_add (locked, child);
    }
    /* A bin whose own child failed is in the same trap: the same way down. */
    psc_element_stop (child);
  }
  if (gst_element_set_state (element, GST_STATE_NULL) == GST_STATE_CHANGE_FAILURE)
    GST_WARNING_OBJECT (element, "still not in NULL with every child in NULL");
  for (guint i = 0; i < locked->len; i++)
    gst_element_set_locked_state (g_ptr_array_index (locked, i), FALSE);
}

gboolean
psc_element_gst_older_than (guint major, guint minor, guint micro)
{
  guint running[4];

  gst_version (&running[0], &running[1], &running[2], &running[3]);
  if (running[0] != major)
    return running[0] < major;
  if (running[1] != minor)
    return running[1] < minor;
  return running[2] < micro;
}
