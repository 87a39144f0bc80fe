/* periscope benchmark — the RTP feeder for Janus: periscope's own capture and encoders,
 * sent as plain RTP to loopback ports
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The comparison with Janus (docs/performance.md) must differ only in what carries the
 * video to the viewers. So Janus's streaming plugin is fed by this program, which builds the
 * very PscStream the daemon builds — same source, same --latency-stamp, same encoder
 * choice and settings, same shared payloader — and attaches, in place of webrtcbin viewers,
 * one `queue ! udpsink` per codec to 127.0.0.1. bench/run.mjs starts it.
 *
 * Usage: psc-bench-feed [--h264-port PORT [--h264-rtcp-port PORT]]
 *                       [--vp8-port PORT [--vp8-rtcp-port PORT]] [periscope's options…]
 * With an RTCP port (Janus's `videortcpport`), it sends an empty receiver report there every
 * second from a socket of its own, so Janus knows where to forward its viewers' PLIs and
 * FIRs, and forces a keyframe for each, as periscope does for its own viewers: a viewer that
 * joins Janus gets a keyframe when its browser asks (Janus's `videobufferkf` would replay an
 * old one, which the live frames do not follow).
 * It prints "psc-bench-feed: ready" once every branch is attached, and runs until SIGINT or
 * SIGTERM.
 */
#include <gio/gio.h>
#include <glib-unix.h>
#include <gst/rtp/rtp.h>
#include <stdio.h>
#include <string.h>
#include "psc-config.h"
#include "psc-encoder.h"
#include "psc-payloader.h"
#include "psc-source.h"
#include "psc-stream.h"

#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69

/* Takes "--h264-port N", "--h264-rtcp-port N" and the VP8 ones (or "=N") out of argv,
 * leaving periscope's options for psc_config_parse(). Returns FALSE on a malformed port. */
static gboolean
take_ports (int *argc, char **argv, int ports[PSC_CODEC_COUNT], int rtcp_ports[PSC_CODEC_COUNT])
{
  int out = 1;

  for (int i = 1; i < *argc; i++) {
    gboolean taken = FALSE;
    for (guint f = 0; f < 2 * PSC_CODEC_COUNT && !taken; f++) {
      guint c = f % PSC_CODEC_COUNT;
      gboolean rtcp = f >= PSC_CODEC_COUNT;
      g_autofree char *flag = g_strdup_printf ("--%s-%sport", psc_codec_to_string (c),
          rtcp ? "rtcp-" : "");
      const char *value = NULL;
      gsize len = strlen (flag);
      gint64 port;

      if (g_str_equal (argv[i], flag) && i + 1 < *argc)
        value = argv[++i];
      else if (strncmp (argv[i], flag, len) == 0 && argv[i][len] == '=')
        value = argv[i] + len + 1;
      else
        continue;
      if (!g_ascii_string_to_signed (value, 10, 1, 65535, &port, NULL))
        return FALSE;
      (rtcp ? rtcp_ports : ports)[c] = (int) port;
      taken = TRUE;
    }
    if (!taken)
      argv[out++] = argv[i];
  }
  *argc = out;
  argv[out] = NULL;
  return TRUE;
}

/* `queue ! udpsink`, fed by the encoder's shared payloader: the very RTP a WebSocket viewer's
 * webrtcbin gets. */
static GstElement *
make_rtp_branch (int port)
{
  GstElement *branch = gst_bin_new (NULL);
  GstElement *queue = gst_element_factory_make ("queue", NULL);
  GstElement *sink = gst_element_factory_make ("udpsink", NULL);
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (queue, "sink");

  /* Leaky: a stalled socket never backs up into the shared encoder. */
  g_object_set (queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
      (guint64) 500 * GST_MSECOND, "leaky", 2, NULL);
  g_object_set (sink, "host", "127.0.0.1", "port", port, "sync", FALSE, "async", FALSE,
      NULL);
  gst_bin_add_many (GST_BIN (branch), queue, sink, NULL);
  gst_element_link (queue, sink);
  gst_element_add_pad (branch, gst_ghost_pad_new ("sink", queue_sink));
  return branch;
}

/* The RTCP side of one codec's feed to Janus. */
typedef struct {
  PscStream *stream;
  PscCodec codec;
  GSocket *socket;
  GSocketAddress *janus;
} RtcpLink;

static gboolean
send_receiver_report (gpointer user_data)
{
  RtcpLink *link = user_data;
  /* RFC 3550 §6.4.2: V=2, RC=0, PT=201 (RR), length 1 (words - 1), the sender's SSRC. */
  static const guint8 report[8] = { 0x80, 201, 0, 1, 'p', 's', 'c', 'f' };

  g_socket_send_to (link->socket, link->janus, (const char *) report, sizeof report, NULL,
      NULL);
  return G_SOURCE_CONTINUE;
}

/* PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1) from Janus: a keyframe, through the same
 * coalescing as periscope's own viewers' requests. */
static gboolean
on_rtcp (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  RtcpLink *link = user_data;
  guint8 data[1500];
  gssize size = g_socket_receive (socket, (char *) data, sizeof data, NULL, NULL);
  g_autoptr (GstBuffer) buffer = NULL;
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket packet;
  gboolean wanted = FALSE;

  if (size <= 0)
    return G_SOURCE_CONTINUE;
  buffer = gst_buffer_new_memdup (data, (gsize) size);
  if (!gst_rtcp_buffer_validate_reduced (buffer) ||
      !gst_rtcp_buffer_map (buffer, GST_MAP_READ, &rtcp))
    return G_SOURCE_CONTINUE;
  for (gboolean more = gst_rtcp_buffer_get_first_packet (&rtcp, &packet); more;
       more = gst_rtcp_packet_move_to_next (&packet)) {
    if (gst_rtcp_packet_get_type (&packet) == GST_RTCP_TYPE_PSFB) {
      GstRTCPFBType type = gst_rtcp_packet_fb_get_type (&packet);
      wanted |= type == GST_RTCP_PSFB_TYPE_PLI || type == GST_RTCP_PSFB_TYPE_FIR;
    }
  }
  gst_rtcp_buffer_unmap (&rtcp);
  if (wanted)
    psc_stream_request_keyframe (link->stream, link->codec, PSC_KEYFRAME_PLI);
  return G_SOURCE_CONTINUE;
}

static gboolean
start_rtcp_link (PscStream *stream, PscCodec codec, int janus_port, GError **error)
{
  RtcpLink *link = g_new0 (RtcpLink, 1);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) local = g_inet_socket_address_new (loopback, 0);
  GSource *source;

  link->stream = stream;
  link->codec = codec;
  link->janus = g_inet_socket_address_new (loopback, (guint16) janus_port);
  link->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, error);
  if (link->socket == NULL || !g_socket_bind (link->socket, local, FALSE, error))
    return FALSE;       /* the process ends: nothing to free */
  g_socket_set_blocking (link->socket, FALSE);
  source = g_socket_create_source (link->socket, G_IO_IN, NULL);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) on_rtcp, link, NULL);
  g_source_attach (source, NULL);
  g_source_unref (source);
  send_receiver_report (link);
  g_timeout_add_seconds (1, send_receiver_report, link);
  return TRUE;
}

static gboolean
on_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
on_stream_error (PscStream *stream, GError *error, gpointer loop)
{
  g_printerr ("psc-bench-feed: %s\n", error->message);
  g_main_loop_quit (loop);
}

int
main (int argc, char **argv)
{
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (PscSourceChoice) source = NULL;
  g_autoptr (PscStream) stream = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  PscEncoderChoice *encoders[PSC_CODEC_COUNT] = { NULL };
  int ports[PSC_CODEC_COUNT] = { 0 };
  int rtcp_ports[PSC_CODEC_COUNT] = { 0 };
  PscCodec codec;
  int status = 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (!take_ports (&argc, argv, ports, rtcp_ports)) {
    g_printerr ("psc-bench-feed: a port is 1 to 65535\n");
    return EXIT_USAGE;
  }
  if (!psc_config_parse (config, &argc, &argv, &error)) {
    g_printerr ("psc-bench-feed: %s\n", error->message);
    return EXIT_USAGE;
  }
  source = psc_source_select (config, &error);
  if (source == NULL ||
      !psc_encoder_select_all (config, NULL, NULL, encoders, &codec, &error) ||
      (stream = psc_stream_new ("feed", source, encoders, codec, config, &error)) == NULL ||
      !psc_stream_start (stream, 10000, &error)) {
    g_printerr ("psc-bench-feed: %s\n", error->message);
    status = EXIT_UNAVAILABLE;
    goto out;
  }
  g_signal_connect (stream, "error", G_CALLBACK (on_stream_error), loop);
  for (guint c = 0; c < PSC_CODEC_COUNT; c++) {
    GstElement *branch;

    if (ports[c] == 0)
      continue;
    branch = make_rtp_branch (ports[c]);
    if (!psc_stream_attach (stream, branch, c, TRUE, &error)) {
      g_printerr ("psc-bench-feed: %s: %s\n", psc_codec_to_string (c), error->message);
      gst_object_unref (gst_object_ref_sink (branch));
      status = EXIT_UNAVAILABLE;
      goto out;
    }
    g_print ("psc-bench-feed: %s (%s) to rtp://127.0.0.1:%d, payload type %d\n",
        psc_codec_to_string (c), psc_stream_get_encoder (stream, c)->factory, ports[c],
        PSC_PAYLOADER_DEFAULT_PT);
    if (rtcp_ports[c] != 0) {
      if (!start_rtcp_link (stream, c, rtcp_ports[c], &error)) {
        g_printerr ("psc-bench-feed: RTCP: %s\n", error->message);
        status = EXIT_UNAVAILABLE;
        goto out;
      }
      g_print ("psc-bench-feed: %s keyframes on PLI/FIR from rtcp://127.0.0.1:%d\n",
          psc_codec_to_string (c), rtcp_ports[c]);
    }
  }
  g_print ("psc-bench-feed: ready\n");
  g_unix_signal_add (SIGINT, on_quit, loop);
  g_unix_signal_add (SIGTERM, on_quit, loop);
  g_main_loop_run (loop);
  psc_stream_stop (stream);

out:
  for (guint c = 0; c < PSC_CODEC_COUNT; c++)
    g_clear_pointer (&encoders[c], psc_encoder_choice_free);
  return status;
}
