/* periscope — /metrics in the Prometheus text exposition format
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-metrics.h"

#include <string.h>

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static char *
escape_label (const char *value)
{
  GString *out = g_string_new (NULL);

  for (const char *c = value; *c != '\0'; c++) {
    if (*c == '\\' || *c == '"')
      g_string_append_c (out, '\\');
    if (*c == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *c);
  }
  return g_string_free (out, FALSE);
}

static void
family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef struct {
  const char *name;
  const char *type;
  const char *help;
  const char *extra_label;      /* nullable: a second label, name=value */
  gsize offset;                 /* of a guint64 (or guint) in PscStreamStats */
  gboolean is_uint;
} StreamMetric;

char *
psc_metrics_render (PscRegistry *registry, PscSignalling *signalling, PscWhep *whep,
    gint64 started_at)
{
  static const StreamMetric stream_metrics[] = {
    { "periscope_viewers", "gauge", "Viewers of the stream now.", NULL,
      G_STRUCT_OFFSET (PscStreamStats, viewers), TRUE },
    { "periscope_frames_encoded_total", "counter", "Frames the stream's encoder produced.",
      NULL, G_STRUCT_OFFSET (PscStreamStats, frames), FALSE },
    { "periscope_keyframes_total", "counter", "Keyframes the stream's encoder produced.",
      NULL, G_STRUCT_OFFSET (PscStreamStats, keyframes), FALSE },
    { "periscope_rtp_sent_packets_total", "counter",
      "RTP packets sent to the stream's viewers, all viewers together.", NULL,
      G_STRUCT_OFFSET (PscStreamStats, rtp_packets_sent), FALSE },
    { "periscope_rtp_sent_bytes_total", "counter",
      "RTP bytes (before SRTP) sent to the stream's viewers, all viewers together.", NULL,
      G_STRUCT_OFFSET (PscStreamStats, rtp_bytes_sent), FALSE },
    { "periscope_stream_outages_total", "counter",
      "Times the stream's source failed or ended and the stream went offline (the slate, "
      "and retries).", NULL, G_STRUCT_OFFSET (PscStreamStats, outages), FALSE },
    { "periscope_keyframe_requests_coalesced_total", "counter",
      "Keyframe requests folded into one already pending.", NULL,
      G_STRUCT_OFFSET (PscStreamStats, keyframe_requests_coalesced), FALSE },
  };
  GString *out = g_string_new (NULL);
  GPtrArray *streams = psc_registry_get_streams (registry);
  guint64 seats_refused[2];
  PscSignallingCounters counters;

  family (out, "periscope_stream_up", "gauge",
      "1 while the stream is healthy (live, or idle with its capture released), 0 when "
      "it is offline (its source failed or ended) or has failed.");
  for (guint i = 0; i < streams->len; i++) {
    PscStream *stream = g_ptr_array_index (streams, i);
    const PscStreamInfo *info = psc_stream_get_info (stream);
    g_autofree char *id = escape_label (info->id);
    g_autofree char *encoder = escape_label (info->encoder);
    g_string_append_printf (out, "periscope_stream_up{stream=\"%s\",codec=\"%s\","
        "encoder=\"%s\",hardware=\"%s\"} %d\n", id, psc_codec_to_string (info->codec), encoder,
        info->hardware ? "true" : "false", psc_stream_is_playing (stream) ? 1 : 0);
  }
  family (out, "periscope_stream_capturing", "gauge",
      "1 while the stream captures frames, 0 while its capture is released (nobody watching).");
  for (guint i = 0; i < streams->len; i++) {
    PscStream *stream = g_ptr_array_index (streams, i);
    g_autofree char *id = escape_label (psc_stream_get_id (stream));
    g_string_append_printf (out, "periscope_stream_capturing{stream=\"%s\"} %d\n", id,
        psc_stream_is_capturing (stream) ? 1 : 0);
  }

  for (guint m = 0; m < G_N_ELEMENTS (stream_metrics); m++) {
    family (out, stream_metrics[m].name, stream_metrics[m].type, stream_metrics[m].help);
    for (guint i = 0; i < streams->len; i++) {
      PscStream *stream = g_ptr_array_index (streams, i);
      g_autofree char *id = escape_label (psc_stream_get_id (stream));
      PscStreamStats stats;
      const char *base;
      guint64 value;

      psc_stream_get_stats (stream, &stats);
      base = (const char *) &stats + stream_metrics[m].offset;
      value = stream_metrics[m].is_uint ? *(const guint *) base : *(const guint64 *) base;
      g_string_append_printf (out, "%s{stream=\"%s\"} %" G_GUINT64_FORMAT "\n",
          stream_metrics[m].name, id, value);
    }
  }

  family (out, "periscope_keyframes_forced_total", "counter",
      "Keyframes periscope asked the encoder for, by reason: a viewer connected (join) or "
      "asked (pli, RTCP PLI/FIR).");
  for (guint i = 0; i < streams->len; i++) {
    PscStream *stream = g_ptr_array_index (streams, i);
    g_autofree char *id = escape_label (psc_stream_get_id (stream));
    PscStreamStats stats;
    psc_stream_get_stats (stream, &stats);
    g_string_append_printf (out, "periscope_keyframes_forced_total{stream=\"%s\",reason=\"join\"} "
        "%" G_GUINT64_FORMAT "\n", id, stats.keyframes_forced_join);
    g_string_append_printf (out, "periscope_keyframes_forced_total{stream=\"%s\",reason=\"pli\"} "
        "%" G_GUINT64_FORMAT "\n", id, stats.keyframes_forced_pli);
  }

  psc_signalling_get_counters (signalling, &counters);
  family (out, "periscope_websocket_sessions", "gauge", "WebSocket signalling sessions now.");
  g_string_append_printf (out, "periscope_websocket_sessions %u\n",
      counters.websocket_sessions);
  family (out, "periscope_websocket_sessions_accepted_total", "counter",
      "WebSocket signalling sessions accepted since start.");
  g_string_append_printf (out, "periscope_websocket_sessions_accepted_total %" G_GUINT64_FORMAT "\n",
      counters.websocket_sessions_total);
  family (out, "periscope_whep_sessions", "gauge", "WHEP sessions now.");
  g_string_append_printf (out, "periscope_whep_sessions %u\n",
      whep ? psc_whep_get_session_count (whep) : 0);
  family (out, "periscope_errors_total", "counter",
      "Errors, by kind: error messages sent to peers (protocol), viewer sessions that failed "
      "(viewer), peers refused or closed for their limits (refused).");
  g_string_append_printf (out, "periscope_errors_total{kind=\"protocol\"} %" G_GUINT64_FORMAT
      "\nperiscope_errors_total{kind=\"viewer\"} %" G_GUINT64_FORMAT
      "\nperiscope_errors_total{kind=\"refused\"} %" G_GUINT64_FORMAT "\n",
      counters.protocol_errors_total, counters.viewers_failed_total, counters.refused_total);
  psc_registry_get_seats_refused (registry, seats_refused);
  family (out, "periscope_viewers_refused_total", "counter",
      "Viewers refused a seat, WebSocket and WHEP alike, by why: --max-viewers reached "
      "(limit), their address at --max-viewers-per-address (address).");
  g_string_append_printf (out, "periscope_viewers_refused_total{reason=\"limit\"} %"
      G_GUINT64_FORMAT "\nperiscope_viewers_refused_total{reason=\"address\"} %"
      G_GUINT64_FORMAT "\n", seats_refused[0], seats_refused[1]);

  family (out, "process_start_time_seconds", "gauge",
      "Start time of the process since the Unix epoch, in seconds.");
  g_string_append_printf (out, "process_start_time_seconds %.3f\n",
      started_at / (double) G_USEC_PER_SEC);
  family (out, "periscope_uptime_seconds", "gauge", "Seconds since periscope started.");
  g_string_append_printf (out, "periscope_uptime_seconds %.3f\n",
      (g_get_real_time () - started_at) / (double) G_USEC_PER_SEC);
  return g_string_free (out, FALSE);
}

typedef struct {
  PscRegistry *registry;
  PscSignalling *signalling;
  PscWhep *whep;
  gint64 started_at;
  PscMetricsFunc more;
  gpointer more_data;
} Handler;

static void
handler_free (Handler *handler)
{
  g_object_unref (handler->registry);
  g_object_unref (handler->signalling);
  g_clear_object (&handler->whep);
  g_free (handler);
}

static void
on_metrics (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  Handler *handler = user_data;
  char *text;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET) {
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    return;
  }
  text = psc_metrics_render (handler->registry, handler->signalling, handler->whep,
      handler->started_at);
  if (handler->more != NULL) {
    GString *out = g_string_new (text);
    g_free (text);
    handler->more (out, handler->more_data);
    text = g_string_free (out, FALSE);
  }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
      SOUP_MEMORY_TAKE, text, strlen (text));
}

void
psc_metrics_add_handler (SoupServer *server, PscRegistry *registry, PscSignalling *signalling,
    PscWhep *whep, PscMetricsFunc more, gpointer more_data)
{
  Handler *handler = g_new0 (Handler, 1);

  handler->registry = g_object_ref (registry);
  handler->signalling = g_object_ref (signalling);
  handler->whep = whep ? g_object_ref (whep) : NULL;
  handler->started_at = g_get_real_time ();
  handler->more = more;
  handler->more_data = more_data;
  soup_server_add_handler (server, "/metrics", on_metrics, handler,
      (GDestroyNotify) handler_free);
}
