/* periscope — the latency stamp: the capture time, drawn into the frame as a bar code
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The benchmark's glass-to-glass probe (docs/performance.md): the daemon draws the wall-clock
 * capture time into each frame, a browser on the same host reads it off the frame it renders
 * and compares it with its own clock. Bit layout and check value are shared with
 * bench/pages/stamp.js.
 */
#include "psc-stamp.h"

#define TIME_BITS 48
#define CHECK_BITS 16
#define LUMA_ONE 235
#define LUMA_ZERO 16
#define LUMA_THRESHOLD 126
#define CHROMA_NEUTRAL 128

G_STATIC_ASSERT (TIME_BITS + CHECK_BITS == PSC_STAMP_CELLS);

guint
psc_stamp_cell_size (guint width)
{
  guint cell = (width / PSC_STAMP_CELLS) & ~1u;

  return cell >= 2 ? cell : 0;
}

/* CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xffff) of the 6 bytes of the time,
 * most significant first: an all-black or all-white row does not pass. */
static guint16
stamp_check (guint64 time48)
{
  guint16 crc = 0xffff;

  for (int shift = TIME_BITS - 8; shift >= 0; shift -= 8) {
    crc ^= (guint16) (((time48 >> shift) & 0xff) << 8);
    for (int bit = 0; bit < 8; bit++)
      crc = (crc & 0x8000) ? (guint16) ((crc << 1) ^ 0x1021) : (guint16) (crc << 1);
  }
  return crc;
}

static gboolean
frame_is_stampable (const GstVideoFrame *frame, guint *cell)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;

  if (!GST_VIDEO_FORMAT_INFO_IS_YUV (finfo) || GST_VIDEO_FORMAT_INFO_IS_TILED (finfo) ||
      GST_VIDEO_FORMAT_INFO_IS_COMPLEX (finfo) || GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo) < 3)
    return FALSE;
  for (guint c = 0; c < 3; c++)
    if (GST_VIDEO_FORMAT_INFO_DEPTH (finfo, c) != 8)
      return FALSE;
  *cell = psc_stamp_cell_size ((guint) GST_VIDEO_FRAME_WIDTH (frame));
  return *cell > 0 && (guint) GST_VIDEO_FRAME_HEIGHT (frame) >= *cell;
}

/* Fills pixels [x0, x1) × [0, height) of the full-resolution frame, in component @c. */
static void
fill_component (GstVideoFrame *frame, guint c, guint x0, guint x1, guint height, guint8 value)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  guint8 *data = GST_VIDEO_FRAME_COMP_DATA (frame, c);
  gint stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
  gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
  guint cx0 = GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, c, x0);
  guint cx1 = GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, c, x1);
  guint rows = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, c, height);

  for (guint y = 0; y < rows; y++) {
    guint8 *row = data + (gsize) y * stride;
    for (guint x = cx0; x < cx1; x++)
      row[(gsize) x * pstride] = value;
  }
}

gboolean
psc_stamp_write (GstVideoFrame *frame, gint64 wall_us)
{
  guint64 time48 = (guint64) wall_us & ((G_GUINT64_CONSTANT (1) << TIME_BITS) - 1);
  guint64 code = (time48 << CHECK_BITS) | stamp_check (time48);
  guint cell;

  g_return_val_if_fail (frame != NULL, FALSE);

  if (!frame_is_stampable (frame, &cell))
    return FALSE;
  for (guint i = 0; i < PSC_STAMP_CELLS; i++) {
    gboolean one = (code >> (PSC_STAMP_CELLS - 1 - i)) & 1;
    fill_component (frame, 0, i * cell, (i + 1) * cell, cell, one ? LUMA_ONE : LUMA_ZERO);
  }
  fill_component (frame, 1, 0, PSC_STAMP_CELLS * cell, cell, CHROMA_NEUTRAL);
  fill_component (frame, 2, 0, PSC_STAMP_CELLS * cell, cell, CHROMA_NEUTRAL);
  return TRUE;
}

gboolean
psc_stamp_read (const GstVideoFrame *frame, gint64 *wall_us)
{
  const guint8 *data;
  gint stride, pstride;
  guint64 code = 0, time48;
  guint cell;

  g_return_val_if_fail (frame != NULL && wall_us != NULL, FALSE);

  if (!frame_is_stampable (frame, &cell))
    return FALSE;
  data = GST_VIDEO_FRAME_COMP_DATA (frame, 0);
  stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, 0);
  pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  for (guint i = 0; i < PSC_STAMP_CELLS; i++) {
    /* The middle half of the cell: its edges blur into the neighbours when coded. */
    guint x0 = i * cell + cell / 4, x1 = i * cell + (3 * cell + 3) / 4;
    guint y0 = cell / 4, y1 = (3 * cell + 3) / 4;
    guint sum = 0, n = 0;

    for (guint y = y0; y < y1; y++)
      for (guint x = x0; x < x1; x++, n++)
        sum += data[(gsize) y * stride + (gsize) x * pstride];
    code = (code << 1) | (sum > LUMA_THRESHOLD * n);
  }
  time48 = code >> CHECK_BITS;
  if ((guint16) (code & 0xffff) != stamp_check (time48))
    return FALSE;
  *wall_us = (gint64) time48;
  return TRUE;
}

typedef struct {
  GstVideoInfo info;
  gboolean have_info;
} StampProbe;

/* Streaming thread. */
static GstPadProbeReturn
on_stamp_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  StampProbe *probe = user_data;
  g_autoptr (GstElement) element = NULL;
  g_autoptr (GstClock) clock = NULL;
  g_autoptr (GstEvent) segment_event = NULL;
  GstVideoFrame frame;
  GstBuffer *buffer;
  gint64 wall_us = g_get_real_time ();

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      probe->have_info = gst_video_info_from_caps (&probe->info, caps);
    }
    return GST_PAD_PROBE_OK;
  }
  if (!probe->have_info)
    return GST_PAD_PROBE_OK;

  buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  element = gst_pad_get_parent_element (pad);
  clock = element ? gst_element_get_clock (element) : NULL;
  segment_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (clock != NULL && segment_event != NULL && GST_BUFFER_PTS_IS_VALID (buffer)) {
    const GstSegment *segment;
    GstClockTime running, captured, now;

    gst_event_parse_segment (segment_event, &segment);
    running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
    now = gst_clock_get_time (clock);
    if (GST_CLOCK_TIME_IS_VALID (running)) {
      captured = running + gst_element_get_base_time (element);
      if (captured <= now)
        wall_us -= (gint64) ((now - captured) / GST_USECOND);
    }
  }

  buffer = gst_buffer_make_writable (buffer);
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  if (gst_video_frame_map (&frame, &probe->info, buffer, GST_MAP_WRITE)) {
    psc_stamp_write (&frame, wall_us);
    gst_video_frame_unmap (&frame);
  }
  return GST_PAD_PROBE_OK;
}

gulong
psc_stamp_add_probe (GstPad *pad)
{
  g_return_val_if_fail (GST_IS_PAD (pad), 0);

  return gst_pad_add_probe (pad,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_stamp_probe,
      g_new0 (StampProbe, 1), g_free);
}
