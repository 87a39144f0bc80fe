/* periscope — gst-launch descriptions given by users and presets
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-launch.h"
#include "psc-config.h"

#include <string.h>

/* gst-launch-1.0 allows caps only between elements, but "v4l2src ! video/x-raw,width=1280"
 * is what people write for a source (and "x264enc ! video/x-h264,profile=…" for an
 * encoder). When the last segment is caps, it becomes a capsfilter. Returns NULL otherwise. */
static char *
rewrite_trailing_caps (const char *description)
{
  const char *bang = strrchr (description, '!');
  g_autofree char *tail = NULL;
  g_autofree char *head = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autofree char *caps_text = NULL;
  g_autoptr (GString) escaped = g_string_new (NULL);

  if (bang == NULL)
    return NULL;
  tail = g_strstrip (g_strdup (bang + 1));
  if (strchr (tail, '/') == NULL || strchr (tail, ' ') != NULL)
    return NULL;
  caps = gst_caps_from_string (tail);
  if (caps == NULL)
    return NULL;
  caps_text = gst_caps_to_string (caps);
  for (const char *c = caps_text; *c != '\0'; c++) {
    if (*c == '"' || *c == '\\')
      g_string_append_c (escaped, '\\');
    g_string_append_c (escaped, *c);
  }
  head = g_strndup (description, bang - description);
  return g_strdup_printf ("%s ! capsfilter caps=\"%s\"", head, escaped->str);
}

/* Parses @text (@description as the user wrote it, or what periscope made of it) into a bin,
 * with its unlinked pads ghosted if @ghost. */
static GstElement *
parse (const char *what, const char *description, const char *text, gboolean ghost,
    GError **error)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GstParseContext) context = gst_parse_context_new ();
  GstElement *bin;

  bin = gst_parse_bin_from_description_full (text, ghost, context, GST_PARSE_FLAG_FATAL_ERRORS,
      &parse_error);
  if (bin == NULL || parse_error != NULL) {
    g_auto (GStrv) missing = gst_parse_context_get_missing_elements (context);
    g_autofree char *hint = NULL;

    if (missing != NULL && missing[0] != NULL) {
      g_autofree char *names = g_strjoinv (", ", missing);
      hint = g_strdup_printf (" (not installed here: %s; gst-inspect-1.0 lists what is)", names);
    }
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "could not parse %s \"%s\": %s%s", what, description,
        parse_error ? parse_error->message : "unknown error", hint ? hint : "");
    if (bin != NULL)
      gst_object_unref (gst_object_ref_sink (bin));
    return NULL;
  }
  return bin;
}

GstElement *
psc_launch_parse_bin (const char *what, const char *description, GError **error)
{
  g_autofree char *rewritten = NULL;

  g_return_val_if_fail (what != NULL && description != NULL, NULL);

  rewritten = rewrite_trailing_caps (description);
  return parse (what, description, rewritten ? rewritten : description, TRUE, error);
}

/* Whether every kind of buffer @description's last element may put out is H.264, as a caps
 * query answers it before anything starts (pads answer with their templates, narrowed by
 * what they are linked to: a capsfilter, a depayloader, a parser). A last element whose
 * output pad comes only later (decodebin, a demuxer, rtspsrc) cannot say: not H.264. */
static gboolean
delivers_h264 (const char *description)
{
  g_autofree char *text = g_strdup_printf ("%s ! identity name=" PSC_LAUNCH_SOURCE_PACE,
      description);
  g_autoptr (GstElement) bin = NULL;
  g_autoptr (GstElement) probe = NULL;
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) output = NULL;
  g_autoptr (GstCaps) caps = NULL;

  bin = parse ("--source", description, text, FALSE, NULL);
  if (bin == NULL)
    return FALSE;
  gst_object_ref_sink (bin);
  probe = gst_bin_get_by_name (GST_BIN (bin), PSC_LAUNCH_SOURCE_PACE);
  sink = probe ? gst_element_get_static_pad (probe, "sink") : NULL;
  output = sink ? gst_pad_get_peer (sink) : NULL;
  if (output == NULL)
    return FALSE;
  caps = gst_pad_query_caps (output, NULL);
  if (caps == NULL || gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return FALSE;
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    if (!gst_structure_has_name (gst_caps_get_structure (caps, i), "video/x-h264"))
      return FALSE;
  }
  return TRUE;
}

GstElement *
psc_launch_parse_source (const char *description, gboolean *h264, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GstElement) pace = NULL;
  g_autoptr (GstPad) output = NULL;
  gboolean passthrough;
  GstElement *bin;

  g_return_val_if_fail (description != NULL, NULL);

  /* The parser links "… ! videoconvert" when the last element's pad appears, as
   * gst-launch-1.0 does (delayed linking); a pad that is not video stays unlinked. Nothing is
   * ghosted but the output: a pad linked later (an element after a demuxer) is unlinked at
   * parse time, and ghosting it would take it from the link that is to come. H.264 goes on
   * as byte-stream access units with SPS/PPS in band before every IDR (config-interval=-1),
   * what the encoders' bins give (psc_encoding_build_bin()), so a viewer that joins at any
   * IDR can decode it. */
  passthrough = delivers_h264 (description);
  if (passthrough)
    text = g_strdup_printf ("%s ! h264parse name=" PSC_LAUNCH_SOURCE_CONVERT
        " config-interval=-1 ! capsfilter caps=\"video/x-h264,stream-format=byte-stream,"
        "alignment=au\" ! clocksync name=" PSC_LAUNCH_SOURCE_PACE " sync=true", description);
  else
    text = g_strdup_printf ("%s ! videoconvert name=" PSC_LAUNCH_SOURCE_CONVERT
        " ! clocksync name=" PSC_LAUNCH_SOURCE_PACE " sync=true", description);
  bin = parse ("--source", description, text, FALSE, error);
  if (bin == NULL)
    return NULL;
  pace = gst_bin_get_by_name (GST_BIN (bin), PSC_LAUNCH_SOURCE_PACE);
  output = pace ? gst_element_get_static_pad (pace, "src") : NULL;
  if (output == NULL || gst_pad_is_linked (output)) {
    g_set_error (error, PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_USAGE,
        "could not use --source \"%s\": it must end where video comes out (an element "
        "named " PSC_LAUNCH_SOURCE_PACE " is periscope's own)", description);
    gst_object_unref (gst_object_ref_sink (bin));
    return NULL;
  }
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", output));
  if (h264 != NULL)
    *h264 = passthrough;
  return bin;
}

static gboolean
klass_has_word (GstElement *element, const char *klass_word)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  const char *klass;

  if (factory == NULL)
    return FALSE;
  klass = gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_KLASS);
  return klass != NULL && strstr (klass, klass_word) != NULL;
}

GstElement *
psc_launch_find_element (GstBin *bin, const char *klass_word)
{
  g_autoptr (GstIterator) it = NULL;
  GValue item = G_VALUE_INIT;
  GstElement *found = NULL;
  gboolean done = FALSE;

  g_return_val_if_fail (GST_IS_BIN (bin) && klass_word != NULL, NULL);

  it = gst_bin_iterate_sorted (bin);
  while (!done) {
    switch (gst_iterator_next (it, &item)) {
      case GST_ITERATOR_OK: {
        GstElement *element = g_value_get_object (&item);
        if (found == NULL && klass_has_word (element, klass_word))
          found = gst_object_ref (element);
        else if (found == NULL && GST_IS_BIN (element))
          found = psc_launch_find_element (GST_BIN (element), klass_word);
        g_value_reset (&item);
        break;
      }
      case GST_ITERATOR_RESYNC:
        g_clear_object (&found);
        gst_iterator_resync (it);
        break;
      default:
        done = TRUE;
        break;
    }
  }
  g_value_unset (&item);
  return found;
}
