/* periscope unit tests: a viewer's codec, from the preference order, what the viewer decodes
 * and the encoders the stream has
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-codec.h"

#define H264 PSC_CODEC_SET_OF (PSC_CODEC_H264)
#define VP8 PSC_CODEC_SET_OF (PSC_CODEC_VP8)
#define NONE ((PscCodecSet) 0)
#define UNSET ((PscCodec) 99)

/* A row: --codec × what the client listed (NULL: nothing) × the stream's encoders → the
 * viewer's codec, or UNSET for a refusal. */
typedef struct {
  PscCodec preferred;
  const char *client;
  PscCodecSet available;
  PscCodec expected;
} Case;

static const Case cases[] = {
  /* The client said nothing: the --codec codec, as before clients could say. */
  { PSC_CODEC_H264, NULL, H264 | VP8, PSC_CODEC_H264 },
  { PSC_CODEC_VP8, NULL, H264 | VP8, PSC_CODEC_VP8 },
  { PSC_CODEC_VP8, NULL, VP8, PSC_CODEC_VP8 },
  { PSC_CODEC_H264, NULL, VP8, UNSET },
  /* Both in common: the --codec one wins whatever the client's order. */
  { PSC_CODEC_H264, "vp8,h264", H264 | VP8, PSC_CODEC_H264 },
  { PSC_CODEC_H264, "h264,vp8", H264 | VP8, PSC_CODEC_H264 },
  { PSC_CODEC_VP8, "h264,vp8", H264 | VP8, PSC_CODEC_VP8 },
  /* The --codec codec not decoded (Firefox without OpenH264): the next one in order. */
  { PSC_CODEC_H264, "vp8", H264 | VP8, PSC_CODEC_VP8 },
  { PSC_CODEC_H264, "vp9,av1,VP8", H264 | VP8, PSC_CODEC_VP8 },
  { PSC_CODEC_VP8, "h264", H264 | VP8, PSC_CODEC_H264 },
  { PSC_CODEC_VP8, "H.264", H264 | VP8, PSC_CODEC_H264 },
  /* The --codec codec decoded but without an encoder: the other one. */
  { PSC_CODEC_H264, "h264,vp8", VP8, PSC_CODEC_VP8 },
  /* Nothing in common: refused. */
  { PSC_CODEC_H264, "vp8", H264, UNSET },
  { PSC_CODEC_H264, "av1,vp9", H264 | VP8, UNSET },
  { PSC_CODEC_H264, "", H264 | VP8, UNSET },
  { PSC_CODEC_VP8, "h264", VP8, UNSET },
  { PSC_CODEC_H264, "h264,vp8", NONE, UNSET },
};

static void
test_choose (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Case *c = &cases[i];
    g_auto (GStrv) names = c->client != NULL ? g_strsplit (c->client, ",", -1) : NULL;
    PscCodecSet client = psc_codec_set_from_strv ((const char *const *) names);
    PscCodec chosen = UNSET;
    gboolean found = psc_codec_choose (c->preferred, c->client != NULL ? &client : NULL,
        c->available, &chosen);

    g_test_message ("case %u: --codec %s, client %s, encoders 0x%x", i,
        psc_codec_to_string (c->preferred), c->client != NULL ? c->client : "(nothing)",
        c->available);
    g_assert_cmpint (found, ==, c->expected != UNSET);
    g_assert_cmpint (chosen, ==, c->expected);
  }
}

static void
test_set_from_strv (void)
{
  const char *both[] = { "vp9", "VP8", "", "h264", "vp8", NULL };
  const char *none[] = { "av1", "h265", NULL };
  const char *empty[] = { NULL };
  g_autofree char *text = NULL;
  g_autofree char *nothing = NULL;

  g_assert_cmpuint (psc_codec_set_from_strv (both), ==, H264 | VP8);
  g_assert_cmpuint (psc_codec_set_from_strv (none), ==, NONE);
  g_assert_cmpuint (psc_codec_set_from_strv (empty), ==, NONE);
  g_assert_cmpuint (psc_codec_set_from_strv (NULL), ==, NONE);
  text = psc_codec_set_to_string (H264 | VP8);
  g_assert_cmpstr (text, ==, "h264,vp8");
  nothing = psc_codec_set_to_string (NONE);
  g_assert_cmpstr (nothing, ==, "none");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/codec/choose", test_choose);
  g_test_add_func ("/codec/set-from-strv", test_set_from_strv);
  return g_test_run ();
}
