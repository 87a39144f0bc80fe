/* periscope browser tests — an IP camera the browser tests point the daemon at: the
 * integration tests' RTSP server (psc-test-rtsp.c) as a program of its own
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Prints `rtsp-camera: URL` once it serves. SIGUSR1 takes the camera away as one that
 * reboots (`rtsp-camera: stopped`), SIGUSR2 brings it back on the same URL
 * (`rtsp-camera: started`); SIGTERM or SIGINT end it. Each line is printed once the change
 * is done, so the test that sent the signal can wait for it.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <stdio.h>

#include "psc-test-rtsp.h"

typedef struct {
  PscTestRtspCamera *camera;
  GMainLoop *loop;
} Helper;

static gboolean
on_stop (gpointer data)
{
  Helper *helper = data;

  psc_test_rtsp_camera_stop (helper->camera);
  g_print ("rtsp-camera: stopped\n");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_start (gpointer data)
{
  Helper *helper = data;

  psc_test_rtsp_camera_start (helper->camera);
  g_print ("rtsp-camera: started\n");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer data)
{
  Helper *helper = data;

  g_main_loop_quit (helper->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  Helper helper;

  gst_init (&argc, &argv);
  /* A pipe to the test: each line must reach it when printed. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  helper.loop = g_main_loop_new (NULL, FALSE);
  helper.camera = psc_test_rtsp_camera_new (30);   /* an IDR every second at 30 fps */
  g_unix_signal_add (SIGUSR1, on_stop, &helper);
  g_unix_signal_add (SIGUSR2, on_start, &helper);
  g_unix_signal_add (SIGTERM, on_quit, &helper);
  g_unix_signal_add (SIGINT, on_quit, &helper);
  g_print ("rtsp-camera: %s\n", psc_test_rtsp_camera_get_url (helper.camera));

  g_main_loop_run (helper.loop);

  psc_test_rtsp_camera_free (helper.camera);
  g_main_loop_unref (helper.loop);
  return 0;
}
