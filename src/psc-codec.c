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
