/* periscope tests — an IP camera: an RTSP server (gst-rtsp-server) on 127.0.0.1 serving H.264
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-test-rtsp.h"

#include <gst/rtsp-server/rtsp-server.h>

#define CAMERA_LAUNCH "( videotestsrc is-live=true pattern=ball background-color=0xffc0c0c0 ! " \
  "video/x-raw,width=320,height=240,framerate=30/1 ! " \
  "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%u ! " \
  "video/x-h264,profile=constrained-baseline ! " \
  "rtph264pay name=pay0 pt=96 config-interval=-1 )"

struct _PscTestRtspCamera {
  GMainContext *context;        /* the server's, run by @thread */
  GMainLoop *loop;
  GThread *thread;
  GstRTSPServer *server;        /* while started */
  guint source;                 /* the listening socket's source on @context */
  int port;
  char *url;
  guint key_int_max;
};

static gpointer
run (gpointer data)
{
  PscTestRtspCamera *camera = data;

  g_main_context_push_thread_default (camera->context);
  g_main_loop_run (camera->loop);
  g_main_context_pop_thread_default (camera->context);
  return NULL;
}

typedef struct {
  PscTestRtspCamera *camera;
  gboolean start;
  GMutex lock;
  GCond cond;
  gboolean done;
} Call;

static GstRTSPFilterResult
remove_client (GstRTSPServer *server, GstRTSPClient *client, gpointer user_data)
{
  return GST_RTSP_FILTER_REMOVE;
}

/* Not NULL: with no function, gst_rtsp_session_pool_filter() removes nothing and returns
 * every session with a reference (its documentation, rtsp-session-pool.c). */
static GstRTSPFilterResult
remove_session (GstRTSPSessionPool *pool, GstRTSPSession *session, gpointer user_data)
{
  return GST_RTSP_FILTER_REMOVE;
}

/* The server's thread: starts or stops listening. */
static gboolean
on_call (gpointer data)
{
  Call *call = data;
  PscTestRtspCamera *camera = call->camera;

  if (call->start) {
    g_autoptr (GstRTSPMediaFactory) factory = gst_rtsp_media_factory_new ();
    g_autoptr (GstRTSPMountPoints) mounts = NULL;
    g_autofree char *service = g_strdup_printf ("%d", camera->port);
    g_autofree char *launch = g_strdup_printf (CAMERA_LAUNCH, camera->key_int_max);

    camera->server = gst_rtsp_server_new ();
    gst_rtsp_server_set_address (camera->server, "127.0.0.1");
    gst_rtsp_server_set_service (camera->server, service);
    gst_rtsp_media_factory_set_launch (factory, launch);
    gst_rtsp_media_factory_set_shared (factory, TRUE);
    mounts = gst_rtsp_server_get_mount_points (camera->server);
    gst_rtsp_mount_points_add_factory (mounts, "/camera", g_object_ref (factory));
    camera->source = gst_rtsp_server_attach (camera->server, camera->context);
    if (camera->source != 0)
      camera->port = gst_rtsp_server_get_bound_port (camera->server);
  } else if (camera->server != NULL) {
    g_autoptr (GstRTSPSessionPool) pool = gst_rtsp_server_get_session_pool (camera->server);

    gst_rtsp_server_client_filter (camera->server, remove_client, NULL);
    gst_rtsp_session_pool_filter (pool, remove_session, NULL);
    g_source_destroy (g_main_context_find_source_by_id (camera->context, camera->source));
    camera->source = 0;
    g_clear_object (&camera->server);
  }
  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

/* Runs on_call() on the server's thread and waits for it. */
static void
call_on_server (PscTestRtspCamera *camera, gboolean start)
{
  Call call = { .camera = camera, .start = start };

  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_main_context_invoke (camera->context, on_call, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
}

PscTestRtspCamera *
psc_test_rtsp_camera_new (guint key_int_max)
{
  PscTestRtspCamera *camera = g_new0 (PscTestRtspCamera, 1);

  camera->key_int_max = key_int_max;
  camera->context = g_main_context_new ();
  camera->loop = g_main_loop_new (camera->context, FALSE);
  camera->thread = g_thread_new ("rtsp-camera", run, camera);
  camera->port = 0;             /* the system picks one; kept across stop and start */
  call_on_server (camera, TRUE);
  g_assert_cmpuint (camera->source, !=, 0);
  camera->url = g_strdup_printf ("rtsp://127.0.0.1:%d/camera", camera->port);
  return camera;
}

const char *
psc_test_rtsp_camera_get_url (PscTestRtspCamera *camera)
{
  return camera->url;
}

void
psc_test_rtsp_camera_stop (PscTestRtspCamera *camera)
{
  call_on_server (camera, FALSE);
}

void
psc_test_rtsp_camera_start (PscTestRtspCamera *camera)
{
  call_on_server (camera, TRUE);
  g_assert_cmpuint (camera->source, !=, 0);
}

void
psc_test_rtsp_camera_free (PscTestRtspCamera *camera)
{
  if (camera == NULL)
    return;
  psc_test_rtsp_camera_stop (camera);
  g_main_loop_quit (camera->loop);
  g_thread_join (camera->thread);
  g_main_loop_unref (camera->loop);
  g_main_context_unref (camera->context);
  g_free (camera->url);
  g_free (camera);
}
