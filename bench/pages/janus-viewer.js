// SPDX-License-Identifier: LGPL-2.1-or-later
// Benchmark viewer for the Janus streaming plugin over Janus's plain HTTP REST API.
//
//   janus-viewer.html?janus=http://127.0.0.1:8188/janus&id=1
//
// create session → attach janus.plugin.streaming → message {request:"watch", id} → long-poll
// GET {janus}/{session}?maxev=1 until the event carrying the JSEP offer → RTCPeerConnection
// answer → message {request:"start"} with the answer → trickle our candidates, then
// {completed:true}. The long poll goes on for the life of the page: it is also the session's
// keep-alive (Janus answers an idle long poll with {"janus":"keepalive"} after 30 s).
//
// For the benchmark runner:
//   performance.mark('signalling-start')  right before the first Janus request
//   performance.mark('bench-offer')         when the offer arrives
//   window.benchPc                          the RTCPeerConnection (created before signalling)
//   window.benchState                       'connecting' | 'offer' | 'answered' | 'webrtcup' | 'hangup' | 'error'
//   window.benchError                       the first error, as a string, or null
//
// Requests carry no Content-Type header (the body is JSON, sent as text/plain): Janus parses
// the body whatever its type, and a "simple" cross-origin request needs no CORS preflight, so
// every signalling step is a single round trip even when this page is served from another
// origin. Janus's HTTP transport answers with Access-Control-Allow-Origin: *.
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const janusUrl = (params.get('janus') || 'http://127.0.0.1:8088/janus').replace(/\/+$/, '');
  const mountpoint = params.get('id') || '1';
  const mountpointId = /^\d+$/.test(mountpoint) ? Number(mountpoint) : mountpoint;

  const video = document.getElementById('video');
  const statusEl = document.getElementById('status');

  window.benchState = 'connecting';
  window.benchError = null;

  let sessionId = null;
  let handleId = null;
  let closed = false;
  let txCounter = 0;

  function status(text) {
    statusEl.textContent = text;
  }

  function fail(what, err) {
    const msg = `${what}: ${err && err.message ? err.message : err}`;
    if (!window.benchError) window.benchError = msg;
    window.benchState = 'error';
    status(`error — ${msg}`);
    console.error('janus-viewer', msg);
  }

  function tx() {
    txCounter += 1;
    return `bench-${txCounter}-${Math.random().toString(36).slice(2, 10)}`;
  }

  async function janusPost(path, body) {
    const res = await fetch(janusUrl + path, {
      method: 'POST',
      body: JSON.stringify(Object.assign({ transaction: tx() }, body)),
      cache: 'no-store',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} for ${body.janus}`);
    const j = await res.json();
    if (j.janus === 'error') throw new Error(`janus error ${j.error && j.error.code}: ${j.error && j.error.reason}`);
    return j;
  }

  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  window.benchPc = pc;

  pc.ontrack = (ev) => {
    const stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
    if (video.srcObject !== stream) video.srcObject = stream;
    const p = video.play();
    if (p && p.catch) p.catch(() => {});
  };
  pc.onconnectionstatechange = () => {
    if (window.benchState !== 'error') status(`${pc.connectionState} · mountpoint ${mountpointId}`);
  };

  // Everything we send on the handle goes through one chain, so that the answer ("start") is
  // always sent before our trickled candidates, in order.
  let sendChain = Promise.resolve();
  function sendOnHandle(body) {
    sendChain = sendChain
      .then(() => janusPost(`/${sessionId}/${handleId}`, body))
      .catch((err) => fail(body.janus === 'trickle' ? 'trickle' : 'message', err));
    return sendChain;
  }

  let offerSeen = false;
  pc.onicecandidate = (ev) => {
    if (!offerSeen || closed) return;
    if (ev.candidate && ev.candidate.candidate) {
      sendOnHandle({
        janus: 'trickle',
        candidate: {
          candidate: ev.candidate.candidate,
          sdpMid: ev.candidate.sdpMid,
          sdpMLineIndex: ev.candidate.sdpMLineIndex,
        },
      });
    } else {
      sendOnHandle({ janus: 'trickle', candidate: { completed: true } });
    }
  };

  async function onOffer(jsep) {
    if (offerSeen) return; // a renegotiation is not expected for a streaming mountpoint
    offerSeen = true;
    performance.mark('bench-offer');
    window.benchState = 'offer';
    await pc.setRemoteDescription(jsep);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    sendOnHandle({
      janus: 'message',
      body: { request: 'start' },
      jsep: { type: pc.localDescription.type, sdp: pc.localDescription.sdp },
    });
    window.benchState = 'answered';
  }

  function onEvent(ev) {
    switch (ev.janus) {
      case 'keepalive':
      case 'ack':
      case 'trickle': // Janus does half-trickle: its candidates are in the offer
      case 'media':
      case 'slowlink':
        return;
      case 'webrtcup':
        window.benchState = 'webrtcup';
        return;
      case 'hangup':
        window.benchState = 'hangup';
        status(`hangup — ${ev.reason || ''}`);
        return;
      case 'detached':
        return;
      case 'event': {
        const data = ev.plugindata && ev.plugindata.data;
        if (data && data.error) fail('streaming plugin', `${data.error_code}: ${data.error}`);
        if (ev.jsep && ev.jsep.type === 'offer') {
          onOffer(ev.jsep).catch((err) => fail('offer', err));
        }
        return;
      }
      case 'timeout':
        fail('session', 'timed out');
        closed = true;
        return;
      default:
        return;
    }
  }

  async function longPoll() {
    let failures = 0;
    while (!closed) {
      try {
        const res = await fetch(`${janusUrl}/${sessionId}?maxev=1&rid=${Date.now()}`, { cache: 'no-store' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = await res.json();
        failures = 0;
        const events = Array.isArray(body) ? body : [body];
        for (const ev of events) onEvent(ev);
      } catch (err) {
        if (closed) return;
        failures += 1;
        if (failures >= 3) {
          fail('long poll', err);
          return;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async function main() {
    performance.mark('signalling-start');
    const created = await janusPost('', { janus: 'create' });
    sessionId = created.data.id;
    // Start the long poll before "watch": the offer arrives on it.
    longPoll();
    const attached = await janusPost(`/${sessionId}`, { janus: 'attach', plugin: 'janus.plugin.streaming' });
    handleId = attached.data.id;
    await janusPost(`/${sessionId}/${handleId}`, {
      janus: 'message',
      body: { request: 'watch', id: mountpointId },
    });
  }

  // Leaving: destroy the Janus session (bench/run.mjs calls this before closing the page;
  // pagehide covers a page closed otherwise).
  window.benchLeave = () => {
    closed = true;
    if (sessionId && navigator.sendBeacon) {
      navigator.sendBeacon(`${janusUrl}/${sessionId}`, JSON.stringify({ janus: 'destroy', transaction: tx() }));
    }
  };
  window.addEventListener('pagehide', window.benchLeave);

  main().catch((err) => fail('signalling', err));
})();
