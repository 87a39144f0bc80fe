/* periscope — fuzz target: a viewer's SDP answer, parsed and checked against our offer
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What a WebSocket viewer's `answer` message carries (psc_sdp_parse(), then
 * psc_sdp_check_answer() before webrtcbin sees it), checked against one offer parsed once,
 * in the shape webrtcbin 1.22 offers a viewer of periscope's H.264 stream (one sendonly
 * video m-line, RTX, an SSRC group).
 */
#include <gst/gst.h>
#include "psc-fuzz.h"
#include "psc-sdp.h"

static const char offer_text[] =
    "v=0\r\n"
    "o=- 6181468428563349712 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=group:BUNDLE video0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=ice-ufrag:LXLUmjVe8pSKkrkKtwWwpRYbCWvUDM5p\r\n"
    "a=ice-pwd:ZdZkEbEbH4cKUVmHrc9yUkbGcMNrLjm5\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=sendonly\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=42c01f;level-asymmetry-allowed=1\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=ssrc-group:FID 3484078952 3954327221\r\n"
    "a=ssrc:3484078952 msid:user1441093356@host-b0f4d0b0 webrtctransceiver0\r\n"
    "a=ssrc:3484078952 cname:user1441093356@host-b0f4d0b0\r\n"
    "a=ssrc:3954327221 msid:user1441093356@host-b0f4d0b0 webrtctransceiver0\r\n"
    "a=ssrc:3954327221 cname:user1441093356@host-b0f4d0b0\r\n"
    "a=mid:video0\r\n"
    "a=fingerprint:sha-256 5B:0C:3F:0A:6E:25:15:0E:B9:92:9F:87:34:A7:14:CC:06:0F:3B:E1:80:"
    "39:A5:81:2D:F0:1F:29:E1:53:E9:C1\r\n";

static GstSDPMessage *offer;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  gst_init (NULL, NULL);
  offer = psc_sdp_parse (offer_text, sizeof offer_text - 1, "the offer", &error);
  g_assert_no_error (error);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstSDPMessage) answer = psc_sdp_parse ((const char *) data, size, "the answer",
      &error);

  if (answer == NULL) {
    psc_fuzz_assert_error (error, PSC_SDP_ERROR);
    return 0;
  }
  if (!psc_sdp_check_answer (offer, answer, &error))
    psc_fuzz_assert_error (error, PSC_SDP_ERROR);
  else
    g_assert_no_error (error);
  return 0;
}
