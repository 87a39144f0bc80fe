// SPDX-License-Identifier: LGPL-2.1-or-later
// What periscope's pages share about WebRTC: the codecs this browser decodes (for the
// `codecs` query parameter, docs/protocol.md "Codecs"), the signalling URL, remote ICE
// candidates added whatever mid they name, and the reconnection backoff.
// Imported by viewer.js (the viewer page) and room.js (the call page).

export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 5000;

// H.264 profiles a constrained-baseline stream (what periscope encodes) conforms to: Baseline
// (0x42, whatever the constraint flags), Main (0x4d) and High (0x64), which decode every
// constrained-baseline stream (ITU-T H.264 A.2.1.1, A.2.2, A.2.4).
const H264_PROFILES = new Set([0x42, 0x4d, 0x64]);

function decodesOurH264(fmtp) {
  const params = Object.fromEntries((fmtp || '').split(';').map((kv) => {
    const [k, v] = kv.trim().split('=');
    return [k.toLowerCase(), (v || '').trim()];
  }));
  const plid = params['profile-level-id'];
  return params['packetization-mode'] === '1' && /^[0-9a-f]{6}$/i.test(plid || '') &&
      H264_PROFILES.has(parseInt(plid.slice(0, 2), 16));
}

// The codecs periscope sends that this browser decodes, in the browser's order, as the
// `codecs` query parameter's value; null if the browser cannot tell (the server then
// offers its default codec). Firefox without OpenH264 lists no H264 here; Chromium
// builds without H.264 neither.
export function decodableCodecs() {
  if (typeof RTCRtpReceiver === 'undefined' || !RTCRtpReceiver.getCapabilities) return null;
  const caps = RTCRtpReceiver.getCapabilities('video');
  if (!caps || !Array.isArray(caps.codecs)) return null;
  const names = [];
  const h264 = [];
  for (const c of caps.codecs) {
    const mime = (c.mimeType || '').toLowerCase();
    const name = mime === 'video/vp8' ? 'vp8'
      : mime === 'video/h264' && decodesOurH264(c.sdpFmtpLine) ? 'h264' : null;
    if (name && !names.includes(name)) names.push(name);
    // Each H.264 decoder's profile-level-id too, for a camera's H.264 passed through in
    // its own profile (docs/protocol.md, "Codecs").
    const plid = mime === 'video/h264' && /packetization-mode=1/.test(c.sdpFmtpLine || '') &&
        /profile-level-id=([0-9a-f]{6})/i.exec(c.sdpFmtpLine || '');
    const entry = plid && 'h264:' + plid[1].toLowerCase();
    if (entry && !h264.includes(entry)) h264.push(entry);
  }
  return names.concat(h264);
}

// The WebSocket URL of @room (null: the default stream's) on this page's server, with
// @params (an object; null and undefined values left out) and the codecs this browser
// decodes in the query: the server knows them before it makes the camera's offer, no
// message and no round trip more (docs/protocol.md, "Codecs").
export function signallingUrl(room, params = {}) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Percent-encoded (a space is %20, not URLSearchParams' "+", which RFC 3986 queries
  // keep as a plus); commas in the codec list stay commas: the server splits the value.
  const query = Object.entries(params).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  const codecs = decodableCodecs();
  if (codecs) query.push('codecs=' + codecs.join(','));
  const q = query.join('&');
  return `${proto}//${location.host}/ws` + (room ? '/' + encodeURIComponent(room) : '') +
      (q ? '?' + q : '');
}

// The a=mid values of an SDP description.
export function sdpMids(sdp) {
  return Array.from((sdp || '').matchAll(/^a=mid:(\S+)/gm), (m) => m[1]);
}

// Adds remote candidate @c (RTCIceCandidateInit) to @pc, whose remote description has the
// mids @remoteMids. Chromium rejects a candidate whose sdpMid is not a mid of the remote
// SDP (say "0" while the offer says a=mid:video0); the m-line index places it just as
// well, so it falls back to that. A bad candidate is logged, not thrown: others may work.
export function addRemoteCandidate(pc, c, remoteMids) {
  let init = c;
  if (c.sdpMid != null && c.sdpMLineIndex != null && !remoteMids.includes(String(c.sdpMid))) {
    init = { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex };
  }
  return pc.addIceCandidate(init).catch((e) => console.warn('periscope: bad remote candidate', c, e));
}

// A candidate of ours as the protocol's `candidate` field, or null for none to send
// (null = end of gathering, '' = end of a generation: the server needs neither).
export function candidateInit(ev) {
  if (!ev.candidate || !ev.candidate.candidate) return null;
  const c = ev.candidate;
  return { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid };
}

// A signalling WebSocket to @url whose events reach @handlers only while @current() holds
// (the page's session has not moved on, so late events of a dead socket cannot touch the
// next one): message(data) (async; its rejection goes to failed(error)), closed(opened,
// event), and error(opened) if given. @opened: whether the socket had opened.
export function openSignalling(url, current, handlers) {
  const ws = new WebSocket(url);
  let opened = false;
  ws.onopen = () => { opened = true; };
  ws.onmessage = (ev) => {
    if (!current()) return;
    handlers.message(ev.data).catch((e) => {
      if (current()) handlers.failed(e);
    });
  };
  ws.onclose = (ev) => {
    if (current()) handlers.closed(opened, ev);
  };
  ws.onerror = () => {
    if (current() && handlers.error) handlers.error(opened);
  };
  return ws;
}

// Calls show(seconds left, at least 1) now and every 250 ms until @until (Date.now() time,
// ms); returns the interval's id for clearInterval().
export function countdown(until, show) {
  const tick = () => show(Math.max(1, Math.ceil((until - Date.now()) / 1000)));
  tick();
  return setInterval(tick, 250);
}

// Doubling reconnection delays from BACKOFF_MIN_MS to BACKOFF_MAX_MS: next() gives the
// delay to wait now, reset() starts again from the minimum (once connected).
export class Backoff {
  constructor() { this.delay = BACKOFF_MIN_MS; }
  next() {
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, BACKOFF_MAX_MS);
    return d;
  }
  reset() { this.delay = BACKOFF_MIN_MS; }
}
