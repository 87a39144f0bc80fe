/* periscope — video codecs a stream can be encoded in
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-codec.h"

typedef struct {
  const char *name;
  const char *media_type;
} PscCodecInfo;

static const PscCodecInfo codec_info[PSC_CODEC_COUNT] = {
  [PSC_CODEC_H264] = { "h264", "video/x-h264" },
  [PSC_CODEC_VP8] = { "vp8", "video/x-vp8" },
};

gboolean
psc_codec_from_string (const char *name, PscCodec *codec)
{
  g_return_val_if_fail (codec != NULL, FALSE);

  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (name, "h.264") == 0 || g_ascii_strcasecmp (name, "avc") == 0)
    name = "h264";
  for (guint i = 0; i < PSC_CODEC_COUNT; i++) {
    if (g_ascii_strcasecmp (name, codec_info[i].name) == 0) {
      *codec = (PscCodec) i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
psc_codec_to_string (PscCodec codec)
{
  g_return_val_if_fail (codec < PSC_CODEC_COUNT, NULL);
  return codec_info[codec].name;
}

const char *
psc_codec_media_type (PscCodec codec)
{
  g_return_val_if_fail (codec < PSC_CODEC_COUNT, NULL);
  return codec_info[codec].media_type;
}

PscCodecSet
psc_codec_set_from_strv (const char *const *names)
{
  PscCodecSet set = 0;
  PscCodec codec;

  for (guint i = 0; names != NULL && names[i] != NULL; i++) {
    if (psc_codec_from_string (names[i], &codec))
      set |= PSC_CODEC_SET_OF (codec);
  }
  return set;
}

char *
psc_codec_set_to_string (PscCodecSet set)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < PSC_CODEC_COUNT; i++) {
    if ((set & PSC_CODEC_SET_OF (i)) == 0)
      continue;
    if (text->len > 0)
      g_string_append_c (text, ',');
    g_string_append (text, codec_info[i].name);
  }
  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : g_strdup ("none");
}

gboolean
psc_codec_choose (PscCodec preferred, const PscCodecSet *client, PscCodecSet available,
    PscCodec *chosen)
{
  g_return_val_if_fail (preferred < PSC_CODEC_COUNT && chosen != NULL, FALSE);

  if (client == NULL) {
    if ((available & PSC_CODEC_SET_OF (preferred)) == 0)
      return FALSE;
    *chosen = preferred;
    return TRUE;
  }
  if ((*client & available & PSC_CODEC_SET_OF (preferred)) != 0) {
    *chosen = preferred;
    return TRUE;
  }
  for (guint i = 0; i < PSC_CODEC_COUNT; i++) {
    if ((*client & available & PSC_CODEC_SET_OF (i)) != 0) {
      *chosen = (PscCodec) i;
      return TRUE;
    }
  }
  return FALSE;
}
