// SPDX-License-Identifier: LGPL-2.1-or-later
// periscope viewer.
//
// The daemon is the WebRTC offerer: we open a WebSocket, it tells us our
// peer id, then sends an SDP offer from the camera peer; we answer and
// trickle ICE candidates both ways. Anything going wrong (socket closed, ICE
// failed, camera gone) tears everything down and starts again after a
// backoff, so a restarted daemon is picked up without a page reload.
import {
  addRemoteCandidate, countdown, openSignalling, sdpMids, signallingUrl,
} from './webrtc-common.js';

(() => {
  'use strict';

  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 5000;
  const CONNECT_TIMEOUT_MS = 20000;  // socket → offer, and offer → connected
  const DISCONNECT_GRACE_MS = 5000;  // 'disconnected' may recover by itself
  const STATS_INTERVAL_MS = 1000;
  const IDLE_MS = 3000;              // pointer still this long → dim status

  const CODEC_NAMES = { H264: 'H.264', H265: 'H.265', VP8: 'VP8', VP9: 'VP9', AV1: 'AV1' };

  const video = document.getElementById('video');
  const statusEl = document.getElementById('status');
  const statusText = document.getElementById('status-text');
  const watchingEl = document.getElementById('watching');

  let state = 'connecting';
  let ws = null;
  let pc = null;
  let myId = null;
  let cameraId = null;
  let roomId = null;
  let remoteSet = false;   // remote description applied: candidates can go in
  let pending = [];        // remote candidates that arrived before that
  let remoteMids = [];     // a=mid values of the remote description
  let lastError = null;    // last server 'error' message, reused as close reason
  let noSignal = null;     // why the camera is offline (server 'stream_state'), or null
  let errorUntil = 0;      // keep a server error visible until then
  let backoff = BACKOFF_MIN_MS;
  let timers = {};
  // Bumped by every teardown. Callbacks capture it and bail out when it has
  // moved on, so late events from a dead socket or pc cannot touch the new one.
  let session = 0;

  function setStatus(newState, text) {
    state = newState;
    statusEl.dataset.state = newState;
    statusText.textContent = text;
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function clearTimer(name) {
    if (timers[name] !== undefined) {
      clearTimeout(timers[name]);  // also clears intervals: same id space
      delete timers[name];
    }
  }

  function closePc() {
    if (pc) {
      pc.ontrack = pc.onicecandidate = pc.onconnectionstatechange = null;
      pc.close();
      pc = null;
    }
    remoteSet = false;
    remoteMids = [];
    video.srcObject = null;
    document.body.classList.remove('has-video');
  }

  function teardown() {
    session++;
    Object.keys(timers).forEach(clearTimer);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (_) { /* already closing */ }
      ws = null;
    }
    closePc();
    myId = cameraId = roomId = null;
    pending = [];
  }

  function connect() {
    teardown();
    const id = session;
    lastError = null;
    noSignal = null;   // a new session: the server says stream_state again if still offline
    setStatus('connecting', 'connecting…');
    try {
      // User Timing: the benchmark measures time to first frame from here, as can devtools.
      performance.mark('signalling-start');
      ws = openSignalling(signallingUrl(new URLSearchParams(location.search).get('stream')),
        () => id === session, {
          message: onMessage,
          failed: (e) => {
            console.error('periscope: negotiation failed:', e);
            fail(e.message || String(e));
          },
          closed: (opened) => {
            if (!opened) checkLogin();
            fail(lastError || (opened ? 'server closed the connection' : 'cannot reach the server'));
          },
          error: (opened) => fail(lastError || (opened ? 'connection error' : 'cannot reach the server')),
        });
    } catch (e) {
      fail(e.message);
      return;
    }
    timers.watchdog = setTimeout(() => fail('no offer from the server'), CONNECT_TIMEOUT_MS);
  }

  // A handshake refused before it opened may be a session that ended (the browser does not
  // show a WebSocket's HTTP status): with accounts on, the page's own files then answer 401,
  // and the login page is where to go.
  function checkLogin() {
    fetch('viewer.js', { method: 'HEAD', cache: 'no-store' })
      .then((r) => { if (r.status === 401) window.location.assign('/login'); })
      .catch(() => {});
  }

  // Something broke: drop everything and schedule a fresh connect().
  function fail(reason) {
    teardown();
    const delay = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    console.warn(`periscope: ${reason}; reconnecting in ${delay} ms`);
    timers.countdown = countdown(Date.now() + delay,
      (secs) => setStatus('reconnecting', `reconnecting in ${secs}s — ${reason}`));
    timers.retry = setTimeout(connect, delay);
  }

  async function onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (_) {
      console.warn('periscope: ignoring non-JSON message', data);
      return;
    }
    switch (msg.type) {
      case 'existing_peers':
        myId = msg.peer_id;
        // The camera's peer id is the room's name; only it may offer us video.
        roomId = msg.room || null;
        // A room without peers has no camera yet (wrong ?stream= or camera
        // not started): its offer will come whenever it joins, so just wait.
        if (Array.isArray(msg.peers) && msg.peers.length === 0) {
          clearTimer('watchdog');
          setStatus('connecting', `waiting for the camera${msg.room ? ` “${msg.room}”` : ''}…`);
        }
        break;
      case 'offer':
        // Other browsers in the room can send offers too (the room relays between
        // peers); this page watches the camera and takes no other call.
        if (msg.from_peer_id !== roomId) {
          console.warn('periscope: ignoring an offer from peer', msg.from_peer_id);
          break;
        }
        await onOffer(msg);
        break;
      case 'ice_candidate':
        if (!msg.candidate || msg.from_peer_id !== cameraId) break;
        if (remoteSet) addCandidate(msg.candidate);
        else pending.push(msg.candidate);
        break;
      case 'peer_left':
        if (cameraId !== null && msg.peer_id === cameraId) fail('camera left');
        break;
      case 'peer_joined':
        break;  // another viewer; nothing to do
      case 'viewers':
        // How many watch the camera (this page included), pushed by the server when it
        // changes: beside the status, not in it, so the stats line does not overwrite it.
        if (Number.isInteger(msg.count) && msg.count > 0) {
          watchingEl.textContent = `${msg.count} watching`;
          watchingEl.hidden = false;
        } else {
          watchingEl.hidden = true;
        }
        break;
      case 'stream_state':
        // The camera went away or came back; the video (the server's "no signal"
        // slate meanwhile) stays on this same connection.
        if (msg.state === 'offline') {
          noSignal = msg.reason || 'the camera is offline';
          setStatus('offline', `no signal — ${noSignal}`);
        } else {
          noSignal = null;
          if (pc && pc.connectionState === 'connected') setStatus('live', 'live');
        }
        break;
      case 'error':
        lastError = msg.message || msg.code || 'server error';
        console.error(`periscope: server error ${msg.code || ''}: ${lastError}`);
        errorUntil = Date.now() + 5000;
        setStatus(state, `error — ${lastError}`);
        break;
      default:
        console.debug('periscope: ignoring message', msg.type);
    }
  }

  function addCandidate(c) {
    addRemoteCandidate(pc, c, remoteMids);
  }

  async function onOffer(msg) {
    const id = session;
    closePc();  // a new offer replaces any previous connection
    cameraId = msg.from_peer_id;
    clearTimer('watchdog');
    timers.watchdog = setTimeout(() => fail('timed out connecting to the camera'), CONNECT_TIMEOUT_MS);
    const conn = pc = new RTCPeerConnection({ iceServers: msg.ice_servers || [] });
    const stale = () => id !== session || conn !== pc;

    conn.ontrack = (ev) => {
      if (stale() || ev.track.kind !== 'video') return;
      video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      video.play().catch(() => { /* autoplay of muted video is allowed; ignore */ });
    };
    conn.onicecandidate = (ev) => {
      // null = end of gathering, '' = end of a generation: the server needs neither.
      if (stale() || !ev.candidate || !ev.candidate.candidate) return;
      const c = ev.candidate;
      send({
        type: 'ice_candidate',
        target_peer_id: cameraId,
        candidate: { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid },
      });
    };
    conn.onconnectionstatechange = () => {
      if (!stale()) onConnectionState(conn);
    };

    await conn.setRemoteDescription(msg.offer);
    if (stale()) return;
    remoteMids = sdpMids(msg.offer.sdp);
    remoteSet = true;
    pending.splice(0).forEach(addCandidate);

    const answer = await conn.createAnswer();
    await conn.setLocalDescription(answer);
    if (stale()) return;
    send({
      type: 'answer',
      target_peer_id: cameraId,
      answer: { type: 'answer', sdp: conn.localDescription.sdp },
    });
  }

  function onConnectionState(conn) {
    switch (conn.connectionState) {
      case 'connected':
        clearTimer('watchdog');
        clearTimer('grace');
        backoff = BACKOFF_MIN_MS;
        if (noSignal !== null) setStatus('offline', `no signal — ${noSignal}`);
        else if (state !== 'live') setStatus('live', 'live');
        if (timers.stats === undefined) timers.stats = setInterval(updateStats, STATS_INTERVAL_MS);
        updateStats();
        break;
      case 'disconnected':
        // Often transient (a lost burst of packets); give ICE a moment.
        setStatus('connecting', 'connection interrupted…');
        if (timers.grace === undefined) {
          timers.grace = setTimeout(() => fail('connection lost'), DISCONNECT_GRACE_MS);
        }
        break;
      case 'failed':
        fail(conn.iceConnectionState === 'failed' ? 'ICE failed' : 'connection failed');
        break;
    }
  }

  async function updateStats() {
    const conn = pc;
    if (!conn || state !== 'live') return;
    const report = await conn.getStats();
    if (conn !== pc || state !== 'live') return;

    let inbound = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'video') inbound = s;
    });
    const parts = ['live'];
    if (inbound && inbound.frameWidth) {
      parts.push(`${inbound.frameWidth}×${inbound.frameHeight}`);
      if (inbound.framesPerSecond !== undefined) parts.push(`${Math.round(inbound.framesPerSecond)} fps`);
    } else {
      parts.push('waiting for video…');
    }
    const codec = inbound && inbound.codecId ? report.get(inbound.codecId) : null;
    if (codec && codec.mimeType) {
      const name = codec.mimeType.replace(/^video\//i, '');
      parts.push(CODEC_NAMES[name.toUpperCase()] || name);
    }
    if (Date.now() >= errorUntil) statusText.textContent = parts.join(' · ');
  }

  // --- page chrome -------------------------------------------------------

  video.addEventListener('playing', () => document.body.classList.add('has-video'));

  // Hide the cursor and dim the status line when the pointer rests.
  const wake = () => {
    document.body.classList.remove('idle');
    clearTimeout(wake.timer);
    wake.timer = setTimeout(() => document.body.classList.add('idle'), IDLE_MS);
  };
  ['mousemove', 'pointerdown', 'keydown'].forEach((t) => document.addEventListener(t, wake));
  wake();

  document.addEventListener('dblclick', () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
  });

  // Back online after a network change: do not sit out the backoff.
  window.addEventListener('online', () => { if (state === 'reconnecting') connect(); });
  // Closing the socket on the way out lets the server drop us at once.
  window.addEventListener('pagehide', teardown);
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) connect(); });

  // For tests and the curious.
  window.periscope = {
    get pc() { return pc; },
    get state() { return state; },
  };

  connect();
})();
