// SPDX-License-Identifier: LGPL-2.1-or-later
// periscope call page: /room/{id}.
//
// One WebSocket to /ws/{id}?name=… (docs/protocol.md), then one RTCPeerConnection per other
// peer of the room:
// - each browser: a mesh call, our camera and microphone both ways. The peer that joins
//   offers to every browser already there, which wait for its offer; it alone restarts ICE
//   later (restartIce()). Should two offers still cross, "perfect negotiation" settles it
//   (W3C WebRTC 1.0 §10.7): the polite side rolls its own back, the impolite one ignores the
//   other's. Past two other browsers, each copy of our camera is sent smaller (SEND_QUALITY).
// - the room's camera, when it has one: its offer answered receive-only, as the viewer page
//   does (sendonly video from the daemon's encoder; the codecs this browser decodes go in the
//   WebSocket URL).
// Chat goes over the WebSocket: the server stamps, stores and broadcasts each message (the
// sender's own included), and sends the last ones when we join.
// The socket closing tears every connection down and joins again after a backoff (0.5 s
// doubling to 5 s), keeping our camera and microphone. The camera's session failing does
// not: we ask the camera for a new one (request_offer) after the same backoff, and the calls
// with the other browsers go on.
import {
  Backoff, addRemoteCandidate, candidateInit, countdown, openSignalling, sdpMids, signallingUrl,
} from './webrtc-common.js';

const CONNECT_TIMEOUT_MS = 20000;   // socket → existing_peers
const PEER_GRACE_MS = 5000;         // 'disconnected' may recover by itself
const NAME_KEY = 'periscope.name';
const NAME_MAX = 64;
const CHAT_MAX_BYTES = 4096;
// In a mesh every page encodes its camera once per other browser, and decodes each of theirs:
// past two others, each copy is sent smaller, so that a room of five stays within a laptop's
// CPU and uplink. Keyed by the most other browsers a row serves.
const SEND_QUALITY = [
  { others: 2, scaleResolutionDownBy: 1, maxFramerate: 20, maxBitrate: 800_000 },
  { others: 4, scaleResolutionDownBy: 2, maxFramerate: 15, maxBitrate: 300_000 },
  { others: Infinity, scaleResolutionDownBy: 2, maxFramerate: 10, maxBitrate: 150_000 },
];
const MEDIA = {
  // Modest: in a mesh every peer encodes once per other peer.
  video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 20, max: 30 } },
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
};

const $ = (id) => document.getElementById(id);
const roomId = decodeURIComponent(location.pathname.split('/')[2] || '');

// --- state ---------------------------------------------------------------

let localStream = null;     // our camera and microphone (either may be missing), or null
let asking = null;          // the promise of openMedia() under way, or null
let micOn = true;
let camOn = true;
let myName = '';
let myId = null;
let iceServers = [];
let ws = null;
let joined = false;         // in the call (not the lobby, not left)
let fatal = null;           // why we will not reconnect (room closed, unknown), or null
let lastError = null;       // last server 'error', reused as the close reason
let session = 0;            // bumped by every teardown: late callbacks of old ones bail out
let connectTimer = null;
let retryTimer = null;
let countdownTimer = null;
const backoff = new Backoff();
const peers = new Map();    // peer id → Peer (below) of every other peer, the camera included
let selfPeer = null;        // our own tile and list entry, while in the call
const seenChats = new Set(); // chat ids shown, so that a history sent again is not repeated
let unread = 0;

// --- small helpers -------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function icon(name) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

function initials(name) {
  const words = (name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

// A steady colour per peer id, so a participant looks the same in tiles, list and chat.
function hue(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function cleanName(s) {
  // The server's rule (docs/protocol.md): 1–64 characters after trimming, no control ones.
  // eslint-disable-next-line no-control-regex
  return Array.from(String(s || '').replace(/[\u0000-\u001f\u007f]/g, '').trim()).slice(0, NAME_MAX).join('');
}

function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 2500);
}

function setStatus(state, text) {
  $('live-dot').dataset.state = state;
  $('status').textContent = text;
  $('status').dataset.state = state;
}

// --- the lobby: name and media -------------------------------------------

// Browsers give cameras and microphones to secure contexts only (W3C Media Capture and
// Streams §10; Secure Contexts §3): https:, or http://localhost and 127.0.0.1.
function secureContextHelp() {
  const port = location.port ? `:${location.port}` : '';
  const code = (text) => el('code', {}, text);
  return [
    el('strong', {}, 'Your camera and microphone need a secure page.'),
    el('span', {}, ` This one was opened over plain http:// from ${location.hostname}, which is not this computer. Either:`),
    el('ul', {},
      el('li', {}, 'start periscope with ', code('--tls self-signed'), ' and open ',
        code(`https://${location.hostname}${port}${location.pathname}`), ', or'),
      el('li', {}, 'open ', code(`http://localhost${port}${location.pathname}`), ' on the machine periscope runs on.')),
    el('span', {}, 'You can still join to watch, listen and chat.'),
  ];
}

function mediaErrorText(e) {
  switch (e && e.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera and microphone were blocked. Allow them for this site (the icon at the left ' +
        'of the address bar), then try again — or join without them.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Plug one in and try again, or join without them.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another program, or failed to start. Close ' +
        'that program and try again, or join without them.';
    default:
      return `The camera and microphone could not be opened (${(e && (e.message || e.name)) || 'unknown error'}). ` +
        'Try again, or join without them.';
  }
}

// @content: a sentence, or nodes; empty hides the message.
function showMediaMessage(content) {
  const m = $('media-message');
  m.replaceChildren(...(Array.isArray(content) ? content : [content || '']));
  m.hidden = !content || (Array.isArray(content) && !content.length);
}

// Asks for camera and microphone; falls back to one of them when the other is missing or
// broken. Leaves localStream null (and says why) when neither can be had.
async function openMedia() {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showMediaMessage(secureContextHelp());
    $('retry-media').hidden = true;
    return;
  }
  showMediaMessage('');
  asking = askMedia();
  applyMediaState();
  await asking;
  asking = null;
  applyMediaState();
}

// Asks for both, then (missing devices) for either; sets localStream or says why not.
async function askMedia() {
  let stream = null;
  let firstError = null;
  for (const constraints of [MEDIA, { audio: MEDIA.audio }, { video: MEDIA.video }]) {
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (e) {
      firstError ??= e;
      // Refused is refused: asking for less would only ask again.
      if (e.name === 'NotAllowedError' || e.name === 'SecurityError') break;
    }
  }
  if (stream) {
    if (localStream) localStream.getTracks().forEach((t) => t.stop());
    localStream = stream;
    const missing = !stream.getVideoTracks().length ? 'No camera was found: you join with your microphone only.'
      : !stream.getAudioTracks().length ? 'No microphone was found: you join with your camera only.' : '';
    showMediaMessage(missing);
    $('retry-media').hidden = !missing;
  } else {
    showMediaMessage(mediaErrorText(firstError));
    $('retry-media').hidden = false;
  }
}

function videoTrack() { return localStream ? localStream.getVideoTracks()[0] || null : null; }
function audioTrack() { return localStream ? localStream.getAudioTracks()[0] || null : null; }

// Enables the tracks as the buttons say, and shows it everywhere: lobby, controls, own tile,
// and the other peers (peer_state, through the server).
function applyMediaState() {
  const v = videoTrack();
  const a = audioTrack();
  if (v) v.enabled = camOn;
  if (a) a.enabled = micOn;
  const hasVideo = !!v && camOn;
  $('preview').srcObject = v ? localStream : null;
  $('preview-empty').hidden = hasVideo;
  $('preview-note').textContent = asking ? 'Asking for your camera and microphone…'
    : !localStream ? 'No camera or microphone' : !v ? 'No camera' : 'Camera is off';
  for (const [id, on, has, what] of [['mic', micOn, !!a, 'microphone'], ['cam', camOn, !!v, 'camera']]) {
    for (const b of [$(id), $(`lobby-${id}`)]) {
      b.setAttribute('aria-pressed', String(on && has));
      b.disabled = !has;
      b.classList.toggle('off', !(on && has));
      b.querySelector('use').setAttribute('href', `#i-${id}${on && has ? '' : '-off'}`);
      b.title = !has ? `No ${what}` : on ? `Turn the ${what} off (${id === 'mic' ? 'm' : 'v'})`
        : `Turn the ${what} on (${id === 'mic' ? 'm' : 'v'})`;
    }
  }
  $('join').textContent = localStream || asking ? 'Join' : 'Join without camera and microphone';
  if (joined) {
    updateSelfTile();
    renderPeople();
    sendState();
  }
}

function updatePreviewAvatar() {
  const name = cleanName($('name').value) || '?';
  $('preview-avatar').textContent = initials(name);
  $('preview-avatar').style.setProperty('--hue', hue(name));
}

// --- tiles ---------------------------------------------------------------

// A tile: video, the peer's initials when there is no picture, its name and state.
function makeTile(id, kind) {
  const video = el('video', { autoplay: true, playsInline: true, disablePictureInPicture: true });
  if (kind === 'self') {
    video.muted = true;     // no echo of ourselves
    video.classList.add('mirror');
  }
  const avatar = el('div', { class: 'avatar' });
  const name = el('span', { class: 'name' });
  const mic = el('span', { class: 'mic-off', title: 'Microphone off' }, icon('mic-off'));
  const badge = el('span', { class: 'badge-state' });
  const tile = el('div', { class: `tile ${kind}`, dataset: { peer: id, kind } },
    video, el('div', { class: 'placeholder' }, avatar), badge, el('div', { class: 'label' }, mic, name));
  video.addEventListener('playing', () => tile.classList.add('playing'));
  $('tiles').append(tile);
  layoutTiles();
  return { tile, video, avatar, name, mic, badge };
}

function updateSelfTile() {
  const self = selfPeer;
  if (!self) return;
  const v = videoTrack();
  if (self.view.video.srcObject !== localStream) self.view.video.srcObject = v ? localStream : null;
  self.name = myName;
  fillTile(self.view, { name: `${myName} (you)`, id: self.id, video: !!v && camOn, audio: !!audioTrack() && micOn, state: '' });
}

function fillTile(view, { name, id, video, audio, state }) {
  view.name.textContent = name;
  view.avatar.textContent = initials(name.replace(/ \(you\)$/, ''));
  view.avatar.style.setProperty('--hue', hue(id));
  view.tile.classList.toggle('no-video', !video);
  view.mic.hidden = audio;
  view.badge.textContent = state;
  view.badge.hidden = !state;
}

// Chooses the column count that gives the biggest 16:9 tiles in the stage.
function layoutTiles() {
  const tiles = $('tiles');
  const n = tiles.children.length || 1;
  const { clientWidth: W, clientHeight: H } = tiles;
  const gap = 10;
  let best = { w: 0, cols: 1 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((W - gap * (cols - 1)) / cols, ((H - gap * (rows - 1)) / rows) * 16 / 9);
    if (w > best.w) best = { w, cols };
  }
  // A pixel to spare: rounding must not push the last tile of a row onto the next.
  tiles.style.setProperty('--tile-w', `${Math.max(120, Math.floor(best.w) - 1)}px`);
  tiles.dataset.count = n;
}

// --- peers ---------------------------------------------------------------

// Everything about one other peer of the room.
class Peer {
  constructor(id, name, kind) {
    this.id = id;
    this.kind = kind;           // 'camera', 'browser' or 'self'
    this.name = name || (kind === 'camera' ? 'Room camera' : 'Guest');
    this.audio = true;          // what its last peer_state said
    this.video = true;
    this.state = kind === 'self' ? 'in call' : 'connecting';
    this.pc = null;
    this.remoteMids = [];
    this.pending = [];          // remote candidates before the remote description
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.offerer = false;       // we made the first offer of this connection (we joined later)
    this.graceTimer = null;
    this.retryTimer = null;     // camera: the next request_offer
    this.backoff = new Backoff();
    this.stream = new MediaStream();
    this.offline = null;        // camera: why it has no signal, or null
    this.view = makeTile(id, kind);
    if (kind === 'camera') this.view.video.muted = true;
    this.render();
  }

  render() {
    if (this.kind === 'self') return;
    const label = this.kind === 'camera' ? `${this.name}` : this.name;
    const state = this.kind === 'camera' && this.offline ? `no signal — ${this.offline}`
      : this.state === 'connected' ? '' : this.state === 'connecting' ? 'connecting…' : this.state;
    const hasVideo = this.stream.getVideoTracks().length > 0 && (this.kind === 'camera' || this.video);
    fillTile(this.view, { name: label, id: this.id, video: hasVideo, audio: this.kind === 'camera' || this.audio, state });
    renderPeople();
  }

  close() {
    clearTimeout(this.graceTimer);
    clearTimeout(this.retryTimer);
    if (this.pc) {
      this.pc.ontrack = this.pc.onicecandidate = this.pc.onconnectionstatechange = null;
      this.pc.onnegotiationneeded = null;
      this.pc.close();
      this.pc = null;
    }
    this.view.video.srcObject = null;
    this.view.tile.remove();
    layoutTiles();
  }
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

// Whether our microphone and camera are on, to the room through the server (peer_state):
// on the signalling socket, not a data channel, whose SCTP stalls for seconds where UDP is
// lost (docs/performance.md, "Calls").
function sendState() {
  send({ type: 'peer_state', audio: !!audioTrack() && micOn, video: !!videoTrack() && camOn });
}

function addPeer(id, name, kind) {
  let peer = peers.get(id);
  if (!peer) {
    peer = new Peer(id, name, kind);
    peers.set(id, peer);
    renderPeople();
    updateChatTargets();
  } else if (name && name !== peer.name) {
    peer.name = name;
    peer.render();
    updateChatTargets();
  }
  return peer;
}

function removePeer(id) {
  const peer = peers.get(id);
  if (!peer) return;
  peer.close();
  peers.delete(id);
  renderPeople();
  updateChatTargets();
  applySendQuality();
}

// Sets each video sender toward a browser to the SEND_QUALITY row of the room's size (W3C
// WebRTC 1.0 §5.2 RTCRtpEncodingParameters); called whenever a call is negotiated or a peer
// leaves. A browser that refuses a parameter keeps sending as it was.
function applySendQuality() {
  const others = [...peers.values()].filter((p) => p.kind === 'browser');
  const row = SEND_QUALITY.find((r) => others.length <= r.others);
  for (const peer of others) {
    if (!peer.pc) continue;
    for (const sender of peer.pc.getSenders()) {
      if (!sender.track || sender.track.kind !== 'video') continue;
      const params = sender.getParameters();
      const enc = params.encodings && params.encodings[0];
      if (!enc || (enc.scaleResolutionDownBy === row.scaleResolutionDownBy &&
          enc.maxFramerate === row.maxFramerate && enc.maxBitrate === row.maxBitrate)) continue;
      Object.assign(enc, { scaleResolutionDownBy: row.scaleResolutionDownBy, maxFramerate: row.maxFramerate,
        maxBitrate: row.maxBitrate });
      sender.setParameters(params).catch((e) => console.debug('periscope: send quality not set:', e.message));
    }
  }
}

// The camera's id: the peer listed with kind "camera", or (servers before names and kinds)
// the stream room's own id.
function kindOf(id, info) {
  if (info && info.kind) return info.kind === 'camera' ? 'camera' : 'browser';
  return id === roomId ? 'camera' : 'browser';
}

function newPeerConnection(peer) {
  const id = session;
  const pc = new RTCPeerConnection({ iceServers });
  peer.pc = pc;
  peer.remoteMids = [];
  peer.pending = [];
  const stale = () => id !== session || peer.pc !== pc;
  pc.onicecandidate = (ev) => {
    const candidate = candidateInit(ev);
    if (!stale() && candidate) send({ type: 'ice_candidate', target_peer_id: peer.id, candidate });
  };
  pc.ontrack = (ev) => {
    if (stale()) return;
    peer.stream.getTracks().filter((t) => t.kind === ev.track.kind).forEach((t) => peer.stream.removeTrack(t));
    peer.stream.addTrack(ev.track);
    peer.view.video.srcObject = peer.stream;
    peer.view.video.play().catch(() => { /* played once the user interacts */ });
    ev.track.addEventListener('unmute', () => peer.render());
    peer.render();
  };
  pc.onconnectionstatechange = () => {
    if (!stale()) onPeerConnectionState(peer, pc);
  };
  return pc;
}

function onPeerConnectionState(peer, pc) {
  switch (pc.connectionState) {
    case 'connected':
      clearTimeout(peer.graceTimer);
      peer.state = 'connected';
      backoff.reset();
      peer.backoff.reset();
      break;
    case 'disconnected':
      peer.state = 'reconnecting…';
      clearTimeout(peer.graceTimer);
      // Often transient; if not, an ICE restart (a new offer, negotiated as any other).
      peer.graceTimer = setTimeout(() => {
        if (peer.pc === pc) restartIce(peer);
      }, PEER_GRACE_MS);
      break;
    case 'failed':
      if (peer.kind === 'camera') {
        cameraLost(peer, 'the connection to the room camera failed');
        return;
      }
      peer.state = 'reconnecting…';
      restartIce(peer);
      break;
  }
  peer.render();
  updateStatus();
}

// An ICE restart (RFC 8445 §9) is offered by the side that made the connection's first offer
// only. The other side's offer would be answered by a Firefox with a=setup:active whatever
// its DTLS role was (Mozilla bug 1240897), and Chromium refuses the role change ("Failed to
// set SSL role for the transport"); RFC 8842 §5.5 wants the role kept. The answering side
// waits for the restart, or for peer_left.
function restartIce(peer) {
  if (peer.kind === 'browser' && peer.offerer && peer.pc) peer.pc.restartIce();
}

// Our camera and microphone toward a browser peer, one transceiver for each kind whether we
// have the track or not (without, we still receive).
function addLocalTransceivers(pc) {
  for (const [kind, track] of [['audio', audioTrack()], ['video', videoTrack()]]) {
    if (track) pc.addTransceiver(track, { direction: 'sendrecv', streams: [localStream] });
    else pc.addTransceiver(kind, { direction: 'recvonly' });
  }
}

// Answering: the offer made the transceivers; ours go on those of the same kind.
function attachLocalTracks(pc) {
  for (const t of pc.getTransceivers()) {
    const kind = t.receiver.track.kind;
    if (t.sender.track || t.currentDirection === 'stopped') continue;
    const track = kind === 'audio' ? audioTrack() : kind === 'video' ? videoTrack() : null;
    if (track) {
      t.sender.replaceTrack(track);
      if (t.sender.setStreams) t.sender.setStreams(localStream);
      t.direction = 'sendrecv';
    } else {
      t.direction = 'recvonly';
    }
  }
}

// We joined after @peer: we offer (the spec's mesh rule).
function callPeer(peer) {
  const pc = newPeerConnection(peer);
  peer.offerer = true;
  addLocalTransceivers(pc);
  pc.onnegotiationneeded = () => negotiate(peer, pc);
  // A browser peer may offer on its own later (ICE restart): same handler on both sides.
}

async function negotiate(peer, pc) {
  const id = session;
  try {
    peer.makingOffer = true;
    await pc.setLocalDescription();
    if (id !== session || peer.pc !== pc) return;
    send({ type: 'offer', target_peer_id: peer.id, offer: { type: 'offer', sdp: pc.localDescription.sdp } });
  } catch (e) {
    console.warn(`periscope: offer to ${peer.id} failed:`, e);
  } finally {
    peer.makingOffer = false;
  }
}

// An offer from a browser: perfect negotiation (W3C WebRTC 1.0 §10.7). Polite is the peer
// with the smaller id: both sides agree without a word.
async function onBrowserOffer(peer, offer) {
  let pc = peer.pc;
  if (!pc) {
    pc = newPeerConnection(peer);
    peer.offerer = false;
    pc.onnegotiationneeded = () => negotiate(peer, pc);
  }
  const polite = myId < peer.id;
  const collision = peer.makingOffer || pc.signalingState !== 'stable';
  peer.ignoreOffer = !polite && collision;
  if (peer.ignoreOffer) return;
  await pc.setRemoteDescription(offer);   // rolls ours back first if there was one
  if (peer.pc !== pc) return;
  peer.remoteMids = sdpMids(offer.sdp);
  attachLocalTracks(pc);
  peer.pending.splice(0).forEach((c) => addRemoteCandidate(pc, c, peer.remoteMids));
  await pc.setLocalDescription();
  if (peer.pc !== pc) return;
  send({ type: 'answer', target_peer_id: peer.id, answer: { type: 'answer', sdp: pc.localDescription.sdp } });
  applySendQuality();
}

// The room camera's offer (a new one replaces the session): we only receive.
async function onCameraOffer(peer, msg) {
  if (peer.pc) {
    peer.pc.close();
    peer.pc = null;
  }
  peer.stream.getTracks().forEach((t) => peer.stream.removeTrack(t));
  peer.state = 'connecting';
  const pc = newPeerConnection(peer);
  if (msg.ice_servers) pc.setConfiguration({ iceServers: msg.ice_servers });
  await pc.setRemoteDescription(msg.offer);
  if (peer.pc !== pc) return;
  peer.remoteMids = sdpMids(msg.offer.sdp);
  peer.pending.splice(0).forEach((c) => addRemoteCandidate(pc, c, peer.remoteMids));
  await pc.setLocalDescription();
  if (peer.pc !== pc) return;
  send({ type: 'answer', target_peer_id: peer.id, answer: { type: 'answer', sdp: pc.localDescription.sdp } });
  peer.render();
}

// The camera's session ended (its connection failed, or the server ended it): a new one
// after a backoff; the rest of the call is not touched.
function cameraLost(peer, reason) {
  if (peer.pc) {
    peer.pc.close();
    peer.pc = null;
  }
  peer.stream.getTracks().forEach((t) => peer.stream.removeTrack(t));
  peer.view.video.srcObject = null;
  peer.view.tile.classList.remove('playing');
  clearTimeout(peer.retryTimer);
  const delay = peer.backoff.next();
  console.warn(`periscope: ${reason}; asking the camera again in ${delay} ms`);
  peer.state = 'reconnecting…';
  peer.retryTimer = setTimeout(() => {
    if (peers.get(peer.id) === peer) send({ type: 'request_offer', target_peer_id: peer.id });
  }, delay);
  peer.render();
  updateStatus();
}

async function onAnswer(peer, answer) {
  if (!peer.pc || peer.pc.signalingState !== 'have-local-offer') return;
  await peer.pc.setRemoteDescription(answer);
  peer.remoteMids = sdpMids(answer.sdp);
  peer.pending.splice(0).forEach((c) => addRemoteCandidate(peer.pc, c, peer.remoteMids));
  applySendQuality();
}

function onCandidate(peer, candidate) {
  if (!candidate || !candidate.candidate) return;
  if (peer.pc && peer.pc.remoteDescription) {
    addRemoteCandidate(peer.pc, candidate, peer.remoteMids).catch((e) => {
      if (!peer.ignoreOffer) console.warn('periscope: candidate refused', e);
    });
  } else {
    peer.pending.push(candidate);
  }
}

// --- the people list -----------------------------------------------------

function renderPeople() {
  const list = $('people');
  const rank = (p) => (p.kind === 'self' ? 0 : p.kind === 'camera' ? 1 : 2);
  const all = [selfPeer, ...peers.values()].filter(Boolean)
    .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  list.replaceChildren(...all.map((p) => {
    const self = p.kind === 'self';
    const audio = self ? !!audioTrack() && micOn : p.audio;
    const video = self ? !!videoTrack() && camOn : p.video;
    const what = self ? 'you' : p.kind === 'camera' ? (p.offline ? 'camera · no signal' : 'the room’s camera')
      : p.state === 'connected' ? 'in the call' : p.state;
    const avatar = el('span', { class: 'avatar small' }, p.kind === 'camera' ? icon('cam') : initials(p.name));
    avatar.style.setProperty('--hue', hue(p.id));
    const li = el('li', { dataset: { peer: p.id, state: self || p.kind === 'camera' ? 'connected' : p.state } },
      avatar,
      el('span', { class: 'who' }, el('span', { class: 'pname' }, p.name), el('span', { class: 'pstate' }, what)),
      p.kind === 'camera' ? null : el('span', { class: 'flags' },
        audio ? null : el('span', { title: 'Microphone off' }, icon('mic-off')),
        video ? null : el('span', { title: 'Camera off' }, icon('cam-off'))),
      self || p.kind === 'camera' ? null : el('button', {
        type: 'button', class: 'ghost small', title: `Send ${p.name} a private message`,
        onclick: () => { openPanel('chat'); $('chat-to').value = p.id; $('chat-text').focus(); },
      }, 'Message'));
    return li;
  }));
  $('people-count').textContent = String(all.length);
}

function updateStatus() {
  if (!ws || ws.readyState !== WebSocket.OPEN || !myId) return;
  const others = [...peers.values()].filter((p) => p.kind === 'browser');
  const waiting = others.filter((p) => p.state !== 'connected').length;
  setStatus('live', others.length === 0 ? 'waiting for others to join'
    : waiting ? `connecting to ${waiting} of ${others.length}…`
      : `${others.length + 1} in the call`);
}

// --- chat ----------------------------------------------------------------

function nameOf(id, fallback) {
  if (id === myId) return myName;
  const p = peers.get(id);
  return (p && p.name) || fallback || id;
}

function timeText(iso) {
  const d = iso ? new Date(iso) : new Date();
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function appendMessage(node) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(node);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function showChat(m) {
  if (m.id !== undefined && m.id !== null) {
    if (seenChats.has(String(m.id))) return;
    seenChats.add(String(m.id));
  }
  const mine = m.from_peer_id === myId;
  const from = m.name || nameOf(m.from_peer_id, 'someone');
  let privateNote = null;
  if (m.private || m.target_peer_id) {
    privateNote = el('span', { class: 'private' },
      mine ? `private to ${nameOf(m.target_peer_id, 'someone')}` : 'private to you');
  }
  const who = el('span', { class: 'from' }, mine ? 'You' : from);
  who.style.setProperty('--hue', hue(m.from_peer_id));
  const t = el('time', { dateTime: m.time || '' }, timeText(m.time));
  if (m.time) t.title = new Date(m.time).toLocaleString();
  // A message that follows one from the same sender, of the same kind, within two minutes
  // goes under it without its name and time again (still in the DOM, for screen readers).
  const prev = $('messages').lastElementChild;
  const when = m.time ? Date.parse(m.time) : Date.now();
  const kind = `${m.from_peer_id}|${privateNote ? m.target_peer_id : ''}`;
  const follows = prev && prev.classList.contains('msg') && prev.dataset.kind === kind &&
    when - Number(prev.dataset.when) < 120_000;
  appendMessage(el('li', {
    class: `msg${mine ? ' mine' : ''}${privateNote ? ' is-private' : ''}${follows ? ' follows' : ''}`,
    dataset: { id: m.id ?? '', kind, when: String(when) },
  },
  el('div', { class: 'meta' }, who, privateNote, t),
  el('div', { class: 'text' }, String(m.text))));
  if (!mine && ($('side').dataset.panel !== 'chat' || document.body.classList.contains('side-closed'))) {
    unread++;
    $('unread').textContent = String(unread);
    $('unread').hidden = false;
  }
}

function note(text, kind = '') {
  appendMessage(el('li', { class: `note ${kind}` }, el('span', {}, text), el('time', {}, timeText())));
}

function updateChatTargets() {
  const select = $('chat-to');
  const current = select.value;
  const chosen = select.selectedOptions[0];
  const options = [el('option', { value: '' }, 'Everyone')];
  for (const p of peers.values()) {
    if (p.kind === 'browser') options.push(el('option', { value: p.id }, p.name));
  }
  // The one a private message was being written to left: it stays chosen, marked, so that
  // the message is not sent to everyone instead (sendChat refuses it).
  if (current && !peers.has(current) && chosen) {
    const name = chosen.dataset.name || chosen.textContent;
    options.push(el('option', { value: current, disabled: true, dataset: { name } }, `${name} (left)`));
  }
  select.replaceChildren(...options);
  select.value = current;
}

function sendChat(ev) {
  ev.preventDefault();
  const input = $('chat-text');
  const text = input.value.trim();
  if (!text) return;
  if (new TextEncoder().encode(text).length > CHAT_MAX_BYTES) {
    note(`That message is too long (over ${CHAT_MAX_BYTES} bytes): shorten it.`, 'error');
    return;
  }
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    note('Not connected: the message was not sent.', 'error');
    return;
  }
  const target = $('chat-to').value;
  if (target && !peers.has(target)) {
    note(`${$('chat-to').selectedOptions[0].dataset.name || 'They'} left the call: the message was not sent. Choose someone else.`, 'error');
    return;
  }
  send(target ? { type: 'chat', text, target_peer_id: target } : { type: 'chat', text });
  input.value = '';
  autosize();
}

function autosize() {
  const t = $('chat-text');
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 120)}px`;
}

function openPanel(name) {
  document.body.classList.remove('side-closed');
  $('side').dataset.panel = name;
  for (const tab of document.querySelectorAll('.tabs [role=tab]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.panel === name));
  }
  $('panel-people').hidden = name !== 'people';
  $('panel-chat').hidden = name !== 'chat';
  if (name === 'chat') {
    unread = 0;
    $('unread').hidden = true;
  }
  layoutTiles();
}

function togglePanel(name) {
  if (!document.body.classList.contains('side-closed') && $('side').dataset.panel === name) {
    document.body.classList.add('side-closed');
    layoutTiles();
  } else {
    openPanel(name);
  }
}

// --- signalling ----------------------------------------------------------

function clearTimers() {
  clearTimeout(connectTimer);
  clearTimeout(retryTimer);
  clearInterval(countdownTimer);
  connectTimer = retryTimer = countdownTimer = null;
}

// Drops the socket and every connection; keeps our media, the chat and our own tile.
function teardown() {
  session++;
  clearTimers();
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(1000); } catch (_) { /* already closing */ }
    ws = null;
  }
  for (const peer of peers.values()) peer.close();
  peers.clear();
  renderPeople();
  updateChatTargets();
}

function connect() {
  teardown();
  const id = session;
  lastError = null;
  setStatus('connecting', 'connecting…');
  try {
    ws = openSignalling(signallingUrl(roomId, { name: myName }), () => id === session, {
      message: onMessage,
      // One negotiation gone wrong is that peer's: the call goes on with the others.
      failed: (e) => console.error('periscope: message failed:', e),
      closed: (opened, ev) => {
        if (fatal) end(fatal.title, fatal.text);
        else fail(lastError || ev.reason || (opened ? 'the server closed the connection' : 'cannot reach the server'));
      },
    });
  } catch (e) {
    fail(e.message);
    return;
  }
  connectTimer = setTimeout(() => fail('no answer from the server'), CONNECT_TIMEOUT_MS);
}

function fail(reason) {
  teardown();
  if (!joined) return;
  const delay = backoff.next();
  console.warn(`periscope: ${reason}; reconnecting in ${delay} ms`);
  countdownTimer = countdown(Date.now() + delay,
    (secs) => setStatus('reconnecting', `reconnecting in ${secs}s — ${reason}`));
  retryTimer = setTimeout(connect, delay);
}

async function onMessage(data) {
  let msg;
  try {
    msg = JSON.parse(data);
  } catch (_) {
    return;
  }
  const from = msg.from_peer_id && peers.get(msg.from_peer_id);
  switch (msg.type) {
    case 'existing_peers': {
      clearTimeout(connectTimer);
      myId = msg.peer_id;
      iceServers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
      if (typeof msg.name === 'string' && msg.name) myName = msg.name;
      selfPeer.id = myId;
      selfPeer.view.tile.dataset.peer = myId;
      updateSelfTile();
      const infos = Array.isArray(msg.peer_info) ? msg.peer_info : [];
      for (const pid of Array.isArray(msg.peers) ? msg.peers : []) {
        const info = infos.find((i) => i.peer_id === pid);
        const peer = addPeer(pid, info && info.name, kindOf(pid, info));
        if (peer.kind === 'browser') callPeer(peer);
      }
      renderPeople();
      updateStatus();
      sendState();
      break;
    }
    case 'peer_state':
      if (from && typeof msg.audio === 'boolean' && typeof msg.video === 'boolean') {
        from.audio = msg.audio;
        from.video = msg.video;
        from.render();
      }
      break;
    case 'peer_joined': {
      const peer = addPeer(msg.peer_id, msg.name, kindOf(msg.peer_id, msg));
      if (peer.kind === 'browser') note(`${peer.name === 'Guest' ? 'Someone' : peer.name} joined`);
      updateStatus();
      break;
    }
    case 'peer_left': {
      const peer = peers.get(msg.peer_id);
      if (peer && peer.kind === 'browser') note(`${msg.name || peer.name} left`);
      removePeer(msg.peer_id);
      updateStatus();
      break;
    }
    case 'offer': {
      const peer = from || addPeer(msg.from_peer_id, null, kindOf(msg.from_peer_id, null));
      if (peer.kind === 'camera') await onCameraOffer(peer, msg);
      else await onBrowserOffer(peer, msg.offer);
      updateStatus();
      break;
    }
    case 'answer':
      if (from) await onAnswer(from, msg.answer);
      break;
    case 'ice_candidate':
      if (from) onCandidate(from, msg.candidate);
      break;
    case 'stream_state': {
      const camera = [...peers.values()].find((p) => p.kind === 'camera');
      if (camera) {
        camera.offline = msg.state === 'offline' ? (msg.reason || 'the camera is offline') : null;
        camera.render();
      }
      break;
    }
    case 'viewers':
      $('viewers').hidden = false;
      $('viewers-count').textContent = String(msg.count);
      break;
    case 'chat':
      showChat(msg);
      break;
    case 'chat_history':
      for (const m of Array.isArray(msg.messages) ? msg.messages : []) showChat(m);
      break;
    case 'room_closed':
      fatal = { title: 'The call has ended', text: msg.reason ? `The room was closed: ${msg.reason}.` : 'The room was closed.' };
      break;
    case 'error':
      onServerError(msg);
      break;
    default:
      console.debug('periscope: ignoring message', msg.type);
  }
}

function onServerError(msg) {
  const text = msg.message || msg.code || 'server error';
  console.warn(`periscope: server error ${msg.code || ''}: ${text}`);
  // An error about the camera's session (it names the camera): that session only.
  const about = msg.from_peer_id && peers.get(msg.from_peer_id);
  if (about && about.kind === 'camera') {
    cameraLost(about, text);
    return;
  }
  switch (msg.code) {
    case 'unknown_room':
      fatal = { title: 'No such room', text: 'This room does not exist, or it has been closed. Ask for a new link.' };
      break;
    case 'too_large':
    case 'rate_limited':
    case 'invalid_field':
    case 'chat_unavailable':
      note(`Not sent: ${text}`, 'error');
      lastError = msg.code === 'rate_limited' || msg.code === 'invalid_field' ? text : lastError;
      break;
    case 'unknown_type':
      note('This server has no chat: the message was not sent.', 'error');
      break;
    case 'unknown_peer':
      note(`Not delivered: ${text}`, 'error');
      break;
    default:
      lastError = text;
  }
}

// --- join, leave ---------------------------------------------------------

async function join(ev) {
  if (ev) ev.preventDefault();
  const name = cleanName($('name').value);
  if (!name) {
    $('name').focus();
    return;
  }
  if (asking) {
    // The browser is asking the user: join with what they allow.
    $('join').disabled = true;
    $('join').textContent = 'Waiting for the camera…';
    await asking;
    $('join').disabled = false;
  }
  myName = name;
  try { localStorage.setItem(NAME_KEY, name); } catch (_) { /* private mode */ }
  joined = true;
  fatal = null;
  document.body.dataset.view = 'call';
  $('lobby').hidden = true;
  $('ended').hidden = true;
  $('call').hidden = false;
  // Our tile at once; our id comes with existing_peers.
  selfPeer ??= new Peer('', myName, 'self');
  updateSelfTile();
  renderPeople();
  layoutTiles();
  connect();
}

function end(title, text) {
  joined = false;
  teardown();
  if (selfPeer) selfPeer.close();
  selfPeer = null;
  myId = null;
  document.body.dataset.view = 'ended';
  $('call').hidden = true;
  $('ended').hidden = false;
  $('ended-title').textContent = title;
  $('ended-text').textContent = text;
  $('rejoin').hidden = !!fatal && fatal.title === 'No such room';
}

function leave() {
  end('You left the call', `${roomTitle()} · you can rejoin with the same link.`);
}

function roomTitle() {
  return $('room-title').textContent;
}

// The room's title from the API when we may read it; its id otherwise.
async function loadRoomInfo() {
  const short = /^[0-9a-f-]{36}$/.test(roomId) ? `Room ${roomId.slice(0, 8)}` : roomId;
  let title = short;
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, { cache: 'no-store' });
    if (r.ok) {
      const room = await r.json();
      title = room.title || (room.kind === 'stream' ? `${room.id} camera` : short);
    }
  } catch (_) { /* offline or older server: the id will do */ }
  $('room-title').textContent = title;
  $('lobby-room').textContent = title;
  document.title = `${title} — periscope`;
}

async function copyLink() {
  const link = `${location.origin}${location.pathname}`;
  try {
    await navigator.clipboard.writeText(link);
  } catch (_) {
    // No clipboard API off a secure context: the old way.
    const input = el('input', { value: link });
    document.body.append(input);
    input.select();
    document.execCommand('copy');
    input.remove();
  }
  toast('Link copied — anyone with it can join');
}

// --- wiring ----------------------------------------------------------------

function init() {
  let saved = '';
  try { saved = localStorage.getItem(NAME_KEY) || ''; } catch (_) { /* private mode */ }
  $('name').value = saved;
  updatePreviewAvatar();
  $('name').addEventListener('input', updatePreviewAvatar);
  $('join-form').addEventListener('submit', join);
  $('retry-media').addEventListener('click', openMedia);
  for (const [id, toggle] of [['mic', () => { micOn = !micOn; }], ['cam', () => { camOn = !camOn; }]]) {
    for (const b of [$(id), $(`lobby-${id}`)]) b.addEventListener('click', () => { toggle(); applyMediaState(); });
  }
  $('leave').addEventListener('click', leave);
  $('rejoin').addEventListener('click', () => join());
  $('copy-link').addEventListener('click', copyLink);
  $('toggle-people').addEventListener('click', () => togglePanel('people'));
  $('toggle-chat').addEventListener('click', () => togglePanel('chat'));
  for (const tab of document.querySelectorAll('.tabs [role=tab]')) {
    tab.addEventListener('click', () => openPanel(tab.dataset.panel));
  }
  $('chat-form').addEventListener('submit', sendChat);
  $('chat-text').addEventListener('input', autosize);
  $('chat-text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) sendChat(ev);
  });
  document.addEventListener('keydown', (ev) => {
    if (!joined || ev.target.closest('input, textarea, select') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'm' && audioTrack()) { micOn = !micOn; applyMediaState(); }
    if (ev.key === 'v' && videoTrack()) { camOn = !camOn; applyMediaState(); }
  });
  $('side').dataset.panel = 'chat';
  if (window.matchMedia('(max-width: 820px)').matches) document.body.classList.add('side-closed');
  new ResizeObserver(layoutTiles).observe($('stage'));
  // Back online after a network change: do not sit out the backoff.
  window.addEventListener('online', () => { if (joined && retryTimer) connect(); });
  window.addEventListener('pagehide', () => { if (ws) ws.close(1000); });
  loadRoomInfo();
  openMedia();
  applyMediaState();
  if (!roomId) end('No room here', 'A call page is /room/{id}: ask for a room link, or create a room (README, "Calls and chat").');
}

// For tests and the curious.
window.periscope = {
  get room() { return roomId; },
  get peerId() { return myId; },
  get name() { return myName; },
  get joined() { return joined; },
  get localStream() { return localStream; },
  get peers() {
    return [...peers.values()].map((p) => ({ id: p.id, name: p.name, kind: p.kind, state: p.state, pc: p.pc,
      audio: p.audio, video: p.video }));
  },
};

init();
