// SPDX-License-Identifier: LGPL-2.1-or-later
// periscope benchmark — the reader of the latency stamp, run inside the viewer page.
//
// bench/run.mjs adds this file to every page it opens (playwright addInitScript), whoever
// serves the page (periscope's own viewer, the Janus page). For each frame the page's
// <video> presents, requestVideoFrameCallback gives the time the frame is expected on
// screen; the frame's top row carries its capture time, drawn by the sender
// (src/psc-stamp.c: 64 square cells of width/64 rounded down to even pixels, black = 0,
// white = 1; 48 bits of microseconds since the Unix epoch modulo 2^48, then a
// CRC-16/CCITT-FALSE of those 6 bytes). Both clocks are this host's wall clock.
//
// Results accumulate in window.benchStamp:
//   firstFrameMs   performance.now() time of the first frame expected on screen (ms since
//                  navigation started)
//   frames         frames presented; stamped: of which with a valid stamp
//   samples        [{ latencyMs, receiveMs }] per stamped frame: capture → expected on
//                  screen, and capture → last packet received (WebRTC's receiveTime)
(() => {
  const CELLS = 64;
  const TIME_BITS = 48;
  const WRAP = 2 ** TIME_BITS;
  const state = { firstFrameMs: null, frames: 0, stamped: 0, samples: [], width: 0 };
  window.benchStamp = state;

  function crc16(time48) {
    let crc = 0xffff;
    for (let shift = TIME_BITS - 8; shift >= 0; shift -= 8) {
      crc ^= (Math.floor(time48 / 2 ** shift) & 0xff) << 8;
      for (let bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      }
    }
    return crc;
  }

  let canvas = null;
  let context = null;

  // The stamp of the frame now in @video, in µs modulo 2^48, or null.
  function readStamp(video) {
    const width = video.videoWidth;
    const cell = Math.floor(width / CELLS) & ~1;
    if (cell < 2) return null;
    if (!canvas || canvas.width !== width || canvas.height !== cell) {
      canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = cell;
      context = canvas.getContext('2d', { willReadFrequently: true });
    }
    context.drawImage(video, 0, 0, width, cell, 0, 0, width, cell);
    const pixels = context.getImageData(0, 0, width, cell).data;
    const bits = [];
    for (let i = 0; i < CELLS; i++) {
      // The middle half of the cell, as psc_stamp_read() does.
      let sum = 0;
      let n = 0;
      for (let y = Math.floor(cell / 4); y < Math.floor((3 * cell + 3) / 4); y++) {
        for (let x = i * cell + Math.floor(cell / 4); x < i * cell + Math.floor((3 * cell + 3) / 4); x++) {
          const p = (y * width + x) * 4;
          sum += 0.299 * pixels[p] + 0.587 * pixels[p + 1] + 0.114 * pixels[p + 2];
          n++;
        }
      }
      bits.push(sum > 128 * n ? 1 : 0);
    }
    let time48 = 0;
    for (let i = 0; i < TIME_BITS; i++) time48 = time48 * 2 + bits[i];
    let check = 0;
    for (let i = TIME_BITS; i < CELLS; i++) check = check * 2 + bits[i];
    return check === crc16(time48) ? time48 : null;
  }

  // Milliseconds from @stamp48 to the wall-clock time of performance.now() value @t.
  function since(stamp48, t) {
    const now48 = ((performance.timeOrigin + t) * 1000) % WRAP;
    let delta = (now48 - stamp48 + WRAP) % WRAP;
    if (delta > WRAP / 2) delta -= WRAP;
    return delta / 1000;
  }

  function onFrame(video, now, meta) {
    if (state.firstFrameMs === null) state.firstFrameMs = meta.expectedDisplayTime;
    state.frames++;
    state.width = video.videoWidth;
    const stamp = readStamp(video);
    if (stamp !== null) {
      state.stamped++;
      state.samples.push({
        latencyMs: since(stamp, meta.expectedDisplayTime),
        receiveMs: meta.receiveTime !== undefined ? since(stamp, meta.receiveTime) : null,
      });
    }
    video.requestVideoFrameCallback((t, m) => onFrame(video, t, m));
  }

  // The page may create its <video> late: watch for it.
  function attach() {
    const video = document.querySelector('video');
    if (!video) return false;
    video.requestVideoFrameCallback((t, m) => onFrame(video, t, m));
    return true;
  }
  if (!attach()) {
    const observer = new MutationObserver(() => { if (attach()) observer.disconnect(); });
    observer.observe(document, { childList: true, subtree: true });
  }
})();
