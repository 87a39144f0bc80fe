/* periscope unit tests — credentials redacted from source descriptions, URLs and messages
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib.h>

#include "psc-redact.h"

static void
test_redact (void)
{
  const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "rtspsrc location=rtsp://admin:hunter2@10.0.0.7:554/live ! rtph264depay",
      "rtspsrc location=rtsp://admin:***@10.0.0.7:554/live ! rtph264depay" },
    { "rtspsrc location=\"rtsp://admin:p@ss:w@cam/x\"",
      "rtspsrc location=\"rtsp://admin:***@cam/x\"" },
    { "rtspsrc location=rtsp://cam/x user-id=admin user-pw=hunter2 latency=0",
      "rtspsrc location=rtsp://cam/x user-id=admin user-pw=*** latency=0" },
    { "souphttpsrc location=http://cam/mjpg proxy-pw=\"two words\" ! jpegdec",
      "souphttpsrc location=http://cam/mjpg proxy-pw=\"***\" ! jpegdec" },
    { "srtsrc uri=\"srt://cam:7001?mode=caller&passphrase=0123456789&latency=80\"",
      "srtsrc uri=\"srt://cam:7001?mode=caller&passphrase=***&latency=80\"" },
    { "PASSWORD=x,TOKEN='y'", "PASSWORD=***,TOKEN='***'" },
    { "turn://periscope:s3cret@127.0.0.1:3478", "turn://periscope:***@127.0.0.1:3478" },
    /* A user name alone, and what is no secret, stay. */
    { "rtsp://viewer@cam/x", "rtsp://viewer@cam/x" },
    { "v4l2src device=/dev/video0 ! image/jpeg,width=1280 ! jpegdec",
      "v4l2src device=/dev/video0 ! image/jpeg,width=1280 ! jpegdec" },
    { "rtspsrc0: Could not open resource for reading (rtsp://u:p@h/x)",
      "rtspsrc0: Could not open resource for reading (rtsp://u:***@h/x)" },
    { "keyframe-period=60 speed-preset=ultrafast", "keyframe-period=60 speed-preset=ultrafast" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *redacted = psc_redact_credentials (cases[i].in);
    g_autofree char *again = psc_redact_credentials (redacted);

    g_assert_cmpstr (redacted, ==, cases[i].out);
    g_assert_cmpstr (again, ==, cases[i].out);
  }
  g_assert_null (psc_redact_credentials (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/redact/credentials", test_redact);
  return g_test_run ();
}
