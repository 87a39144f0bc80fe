/* periscope tests — an IP camera: an RTSP server (gst-rtsp-server) on 127.0.0.1 serving H.264
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PscTestRtspCamera PscTestRtspCamera;

/**
 * psc_test_rtsp_camera_new:
 *
 * Starts an RTSP server on 127.0.0.1 (a port the system picks) on a thread and main context
 * of its own — so it answers while the test's thread blocks, e.g. in psc_stream_start() —
 * serving `/camera`: a live 320×240 test pattern at 30 fps (a ball on light grey, so a
 * viewer tells it from the black "no signal" slate), H.264 (x264, constrained
 * baseline, an IDR at least every @key_int_max frames, and when an RTCP PLI/FIR asks),
 * RTP payload type 96, one media shared by all clients (a new client starts mid-GOP, as
 * with a real camera). The test fails if it cannot start.
 *
 * Returns: (transfer full): the camera, running.
 */
PscTestRtspCamera * psc_test_rtsp_camera_new (guint key_int_max);

/**
 * psc_test_rtsp_camera_get_url:
 * Returns: (transfer none): `rtsp://127.0.0.1:PORT/camera`.
 */
const char *        psc_test_rtsp_camera_get_url (PscTestRtspCamera *camera);

/**
 * psc_test_rtsp_camera_stop:
 *
 * The camera goes away, as one that reboots: every session is closed and the port stops
 * listening. psc_test_rtsp_camera_start() brings it back on the same URL.
 */
void                psc_test_rtsp_camera_stop (PscTestRtspCamera *camera);

/**
 * psc_test_rtsp_camera_start:
 *
 * Listens again on the camera's port after psc_test_rtsp_camera_stop().
 */
void                psc_test_rtsp_camera_start (PscTestRtspCamera *camera);

void                psc_test_rtsp_camera_free (PscTestRtspCamera *camera);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscTestRtspCamera, psc_test_rtsp_camera_free)

G_END_DECLS
