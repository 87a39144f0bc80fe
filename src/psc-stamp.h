/* periscope — the latency stamp: the capture time, drawn into the frame as a bar code
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

/**
 * SECTION:psc-stamp
 * @title: psc-stamp
 * @short_description: the latency stamp: the capture time, drawn into the frame as a bar code
 *
 * With --latency-stamp, every captured frame carries its wall-clock capture time as a row of
 * black and white cells that survives encoding; the benchmark's page reads it back and
 * subtracts it from the time it displays the frame (bench/, docs/performance.md). The probe runs
 * on the capture's streaming thread; the rest is pure and runs anywhere.
 */

G_BEGIN_DECLS

/**
 * PSC_STAMP_CELLS:
 *
 * Cells in the bar code's one row: 48 bits of time, then 16 check bits.
 */
#define PSC_STAMP_CELLS 64

/**
 * psc_stamp_cell_size:
 * @width: the frame width, pixels
 *
 * The side of one square cell, in pixels: the frame's width over #PSC_STAMP_CELLS, rounded
 * down to an even number (20 at 1280×720), so the row spans the frame and survives 4:2:0
 * chroma subsampling and a 2 Mbit/s encode. Readers compute it the same way.
 *
 * Returns: pixels, or 0 if the frame is narrower than 128 pixels (too narrow to stamp).
 */
guint    psc_stamp_cell_size (guint width);

/**
 * psc_stamp_write:
 * @frame: a mapped, writable frame of an 8-bit YUV format (planar, semi-planar or packed)
 * @wall_us: the time to write, microseconds since the Unix epoch (g_get_real_time())
 *
 * Draws the stamp across the top of @frame: one row of #PSC_STAMP_CELLS cells, each black
 * (luma 16) for a 0 bit or white (luma 235) for a 1, with neutral chroma. The first 48 cells
 * hold @wall_us modulo 2^48, most significant bit first (it wraps every 8.9 years; a reader
 * takes the value nearest its own clock); the last 16 hold a check value, so a frame that
 * was not stamped, or whose stamp the encoder smeared, is rejected rather than misread. The
 * layout is what bench/pages/stamp.js reads back in a browser.
 *
 * Returns: %FALSE (leaving @frame untouched) for a format that is not 8-bit YUV or a frame
 *   too narrow (see psc_stamp_cell_size()).
 */
gboolean psc_stamp_write (GstVideoFrame *frame, gint64 wall_us);

/**
 * psc_stamp_read:
 * @frame: a mapped frame of an 8-bit YUV format
 * @wall_us: (out): the stamp's time, microseconds modulo 2^48
 *
 * Reads back what psc_stamp_write() drew, from the middle of each cell (thresholding luma
 * at 126), so it survives lossy coding.
 *
 * Returns: %TRUE if a stamp with a valid check value was found.
 */
gboolean psc_stamp_read (const GstVideoFrame *frame, gint64 *wall_us);

/**
 * psc_stamp_add_probe:
 * @pad: a pad that carries raw video (periscope: videorate's sink, right after capture and
 *   scaling)
 *
 * Stamps every buffer crossing @pad with its capture time on the wall clock: the buffer's
 * running time, plus the element's base time, is where the pipeline clock stood at capture
 * (for a live source), and the distance from there to the clock's present is taken off
 * g_get_real_time(). So the time spent in the source and in the scaler counts as latency, as
 * it should. A buffer that is not writable is copied first (one frame copy, only in this
 * benchmark mode).
 *
 * Returns: the probe id.
 */
gulong   psc_stamp_add_probe (GstPad *pad);

G_END_DECLS
