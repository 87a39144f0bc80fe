/* periscope — fuzz target: a WHEP player's SDP offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What POST /whep/{stream} does with its body before webrtcbin sees it: psc_sdp_parse(),
 * psc_sdp_choose_codec() for the streams periscope can have (both codecs; VP8 only; H.264
 * passed through from a High-profile camera), then psc_sdp_check_offer().
 */
#include <gst/gst.h>
#include "psc-fuzz.h"
#include "psc-sdp.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  gst_init (NULL, NULL);
  return 0;
}

static void
choose (const GstSDPMessage *offer, gboolean h264, gboolean vp8, const char *plid)
{
  gboolean available[PSC_CODEC_COUNT] = { 0 };
  PscSdpCodecChoice choice;
  g_autoptr (GError) error = NULL;

  available[PSC_CODEC_H264] = h264;
  available[PSC_CODEC_VP8] = vp8;
  if (psc_sdp_choose_codec (offer, available, plid, &choice, &error)) {
    g_assert_no_error (error);
    g_assert_true (choice.codec < PSC_CODEC_COUNT && available[choice.codec]);
    g_assert_cmpuint (choice.payload_type, <=, 127);
    g_assert_true (choice.codec != PSC_CODEC_H264 ||
        psc_sdp_h264_profile_decodes (choice.profile_level_id, plid));
    psc_sdp_codec_choice_clear (&choice);
  } else {
    psc_fuzz_assert_error (error, PSC_SDP_ERROR);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstSDPMessage) offer = psc_sdp_parse ((const char *) data, size, "the body",
      &error);

  if (offer == NULL) {
    psc_fuzz_assert_error (error, PSC_SDP_ERROR);
    return 0;
  }
  choose (offer, TRUE, TRUE, NULL);
  choose (offer, FALSE, TRUE, NULL);
  choose (offer, TRUE, FALSE, "640028");
  if (!psc_sdp_check_offer (offer, &error))
    psc_fuzz_assert_error (error, PSC_SDP_ERROR);
  return 0;
}
