#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// End-to-end test: start the periscope daemon, open the viewer in headless
// Chromium and/or Firefox ESR and check that video really gets decoded.
//
//   node viewer-test.mjs --daemon PATH --codec h264|vp8[,…] [--browser chromium|firefox[,…]]
//       [--page-codec h264|vp8|default] [--tabs N] [--restart] [--screenshot OUT.png] [--verbose]
//       [--source DESC [--passthrough] | --rtsp-camera PATH] [--outage] [--tls]
//
// --browser lists the engines, each opening --tabs tabs on the same daemon; --codec is the
// codec each engine's tabs must decode (one for all, or one per engine, in the same order).
// The daemon's --codec is --page-codec, or the first --codec; `--page-codec default` starts it
// without --codec.
//
// --source is the daemon's --source. --rtsp-camera starts that program (psc-rtsp-camera.c, an
// RTSP server) and points the daemon at it. --outage (one Chromium tab): once the page plays,
// the source goes away — the camera stopped for 5 s and started again, or a --source that
// ends — and the page must say "no signal" and why while it plays the slate, then play the
// source again, on the same WebSocket and peer connection; its screenshot during the outage
// goes beside --screenshot (OUT-offline.png). --passthrough: --source is an H.264 source,
// which H.264 viewers must get as it is (the daemon says so; no H.264 encoder starts).
// --tls: the daemon runs `--tls self-signed`, each browser trusts that certificate (as a user
// who accepted it), and the page is opened as http://, which must be sent on to https://.
//
// --verbose prints the page console logs and the daemon output even on a pass.
//
// Prints TAP-style lines and exits 0 on pass, 1 on fail. Whatever it started
// (daemon, browser) is ended before it exits, pass or fail.

import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, chromiumLaunchOptions, trustCertificateArg } from './chromium.mjs';
import { launchFirefox } from './firefox.mjs';
import { startProcess } from './process.mjs';

const URL_TIMEOUT_MS = 20_000;    // daemon start → "periscope: open URL"
const VIDEO_TIMEOUT_MS = 30_000;  // page load → frames flowing in every tab
const MIN_FRAMES = 60;
const MIN_GAP_MS = 1_000;         // "still rising" is judged over at least this
const CAMERA_OUTAGE_MS = 5_000;   // --outage: how long the RTSP camera is away
const OFFLINE_TIMEOUT_MS = 20_000; // the source gone → the page says offline
const BACK_TIMEOUT_MS = 30_000;   // the source back → live (the backoff: 1 + 2 + 4 + 8 s)
// Mean luma (0-255) of the picture: the black "no signal" slate is below SLATE_LUMA; the
// sources --outage is run with (a ball on light grey) are above PICTURE_LUMA.
const SLATE_LUMA = 60;
const PICTURE_LUMA = 120;
const SLATE_FRAMES = 5;           // decoded while offline: the slate plays
const SHORT_OUTAGE_MS = 2_000;    // a source that ended and was back this soon: see outage()


// --- arguments ---------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`viewer-test: ${msg}`);
  console.error('usage: node viewer-test.mjs --daemon PATH --codec h264|vp8[,…] [--browser chromium|firefox[,…]] [--page-codec h264|vp8|default] [--tabs N] [--restart] [--screenshot OUT.png] [--verbose] [--source DESC | --rtsp-camera PATH] [--outage] [--tls]');
  process.exit(2);
}

let opts;
try {
  opts = parseArgs({
    options: {
      daemon: { type: 'string' },
      codec: { type: 'string' },
      browser: { type: 'string', default: 'chromium' },
      tabs: { type: 'string', default: '1' },
      screenshot: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      restart: { type: 'boolean', default: false },
      whep: { type: 'boolean', default: false },
      'page-codec': { type: 'string' },
      vanish: { type: 'boolean', default: false },
      source: { type: 'string' },
      passthrough: { type: 'boolean', default: false },
      'rtsp-camera': { type: 'string' },
      outage: { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  usage(e.message);
}
if (!opts.daemon) usage('--daemon is required');
const MIMES = { h264: 'video/H264', vp8: 'video/VP8' };
const engines = opts.browser.split(',');
if (!engines.every((e) => e === 'chromium' || e === 'firefox') || new Set(engines).size !== engines.length) {
  usage('--browser must list chromium and/or firefox, each once');
}
const engineCodecs = (opts.codec || '').toLowerCase().split(',');
if (!engineCodecs.every((c) => MIMES[c])) usage('--codec must be h264 or vp8 (one per --browser, or one for all)');
if (engineCodecs.length !== 1 && engineCodecs.length !== engines.length) usage('--codec: one codec, or one per --browser');
const codecOf = (engine) => engineCodecs[engineCodecs.length === 1 ? 0 : engines.indexOf(engine)];
const codec = engineCodecs[0];   // the first engine's: WHEP's preference, the daemon's --codec
if (opts['page-codec'] && opts['page-codec'] !== 'default' && !MIMES[opts['page-codec']]) usage('--page-codec must be h264, vp8 or default');
if (opts.vanish && engines[0] !== 'chromium') usage('--vanish needs chromium first');
const tabs = Number(opts.tabs);
if (!Number.isInteger(tabs) || tabs < 1 || tabs > 16) usage('--tabs must be an integer 1..16');
if (opts.source && opts['rtsp-camera']) usage('--source and --rtsp-camera both name the source; give one');
if (opts.outage && (engines.join() !== 'chromium' || tabs !== 1 || opts.whep || opts.restart)) usage('--outage takes one Chromium tab, no --whep, no --restart');
if (opts.outage && !opts.source && !opts['rtsp-camera']) usage('--outage needs a --source that ends, or --rtsp-camera');
const screenshotPath = opts.screenshot || `./viewer-${codec}.png`;
// The first engine's screenshot at --screenshot, the others' beside it: OUT-firefox.png.
const screenshotOf = (engine) => engine === engines[0] ? screenshotPath
  : screenshotPath.replace(/(\.png)?$/, `-${engine}.png`);

// --- TAP-ish reporting -------------------------------------------------------

let testNo = 0;
let passed = 0;
let failed = 0;

function ok(cond, what, details = []) {
  testNo++;
  if (cond) passed++; else failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${testNo} - ${what}`);
  if (!cond) {
    // eslint-disable-next-line no-control-regex
    const text = details.join('\n').replace(/\x1b\[[0-9;]*m/g, '');
    for (const line of text.split('\n')) console.log(`#   ${line}`);
  }
  return cond;
}

function comment(text) {
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}

// --- the daemon --------------------------------------------------------------

const daemonRuns = [];   // every daemon started (one more with --restart), for diagnostics
let daemon = null;        // the current one: process.mjs's handle
let camera = null;        // --rtsp-camera: process.mjs's handle
let source = opts.source; // the daemon's --source, if any

// --rtsp-camera: starts the camera; the daemon's source is then its URL.
async function startCamera() {
  camera = startProcess('the RTSP camera', opts['rtsp-camera'], []);
  const url = (await camera.waitFor(/^rtsp-camera: (rtsp:\/\/\S+)/, URL_TIMEOUT_MS))[1];
  comment(`RTSP camera at ${url}`);
  source = `rtspsrc location=${url} latency=0 ! rtph264depay ! h264parse ! decodebin`;
}

const dataDir = mkdtempSync(join(tmpdir(), 'psc-viewer-test-'));

function startDaemon(port = 0) {
  const pageCodec = opts['page-codec'] || codec;
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--ice-address', '127.0.0.1',
    ...(pageCodec === 'default' ? [] : ['--codec', pageCodec]),
    ...(source ? ['--source', source] : []),
    '--width', '640', '--height', '360', '--framerate', '30',
    ...(opts.tls ? ['--tls', 'self-signed'] : []),
    // Its state (the rooms' store, the certificate) in a directory of the test's, not the
    // machine's.
    '--data-dir', dataDir];
  comment(`starting ${opts.daemon} ${args.join(' ')}`);
  daemon = startProcess('the daemon', opts.daemon, args);
  daemonRuns.push(daemon);
}

// Resolves with the viewer URL from "periscope: open URL".
async function waitForUrl() {
  return (await daemon.waitFor(/^periscope: open (https?:\/\/\S+)/, URL_TIMEOUT_MS))[1];
}

// SIGTERM, then SIGKILL after a grace period (process.mjs). Returns how it exited.
async function stopDaemon() {
  const exit = await daemon.stop();
  if (daemon.killedHard) comment('daemon still running after SIGTERM: ended with SIGKILL');
  return exit;
}

// --- the pages ---------------------------------------------------------------

// Runs inside the page: one sample of the viewer's receive side.
async function sampleInPage() {
  const p = window.periscope;
  if (!p) return { state: 'no window.periscope' };
  const pc = p.pc;
  if (!pc) return { state: p.state };
  const report = await pc.getStats();
  let inbound = null;
  report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s; });
  const codecStats = inbound && inbound.codecId ? report.get(inbound.codecId) : null;
  // The candidate pair in use, for the diagnostics.
  let route = null;
  report.forEach((s) => {
    if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
    const pair = report.get(s.selectedCandidatePairId);
    const l = pair && report.get(pair.localCandidateId);
    const r = pair && report.get(pair.remoteCandidateId);
    if (l && r) {
      route = `${l.address}:${l.port} ${l.protocol} ${l.candidateType} -> ${r.address}:${r.port} ${r.candidateType}`;
    }
  });
  return {
    route,
    state: p.state,
    connection: pc.connectionState,
    frames: inbound ? inbound.framesDecoded : null,
    width: inbound ? inbound.frameWidth : null,
    height: inbound ? inbound.frameHeight : null,
    mimeType: codecStats ? codecStats.mimeType : null,
  };
}

function describe(s) {
  if (!s) return 'no sample';
  return `state=${s.state} connection=${s.connection ?? '-'} framesDecoded=${s.frames ?? '-'}` +
    ` size=${s.width ?? '-'}x${s.height ?? '-'} codec=${s.mimeType ?? '-'}`;
}

// A tab passes when its latest sample is over MIN_FRAMES and higher than a
// sample taken at least MIN_GAP_MS earlier.
function tabPasses(history) {
  const last = history[history.length - 1];
  if (!last || !(last.frames > MIN_FRAMES)) return false;
  return history.some((s) => last.t - s.t >= MIN_GAP_MS && s.frames !== null && last.frames > s.frames);
}

// --whep: a WHEP client written against the draft with plain fetch, on Chromium's own
// WebRTC stack: POST the offer, PATCH the candidates, DELETE at the end. Runs in the page.
async function whepClientInPage(codec) {
  const pc = new RTCPeerConnection();
  const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
  // Ask for the codec under test first, as a player with a preference would.
  const wanted = `video/${codec}`.toLowerCase();
  const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
  transceiver.setCodecPreferences([...codecs.filter((c) => c.mimeType.toLowerCase() === wanted),
    ...codecs.filter((c) => c.mimeType.toLowerCase() !== wanted)]);
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.replaceChildren(video);
  pc.ontrack = (ev) => { video.srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  const early = [];
  let resource = null;
  let etag = null;
  const patch = (lines) => fetch(resource, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': etag },
    body: lines.join('\r\n') + '\r\n',
  });
  pc.onicecandidate = (ev) => {
    if (!ev.candidate || !ev.candidate.candidate) return;
    const line = `a=${ev.candidate.candidate}`;
    if (resource) patch([line]); else early.push(line);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(`/whep/camera`, {
    method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp,
  });
  const answer = await response.text();
  if (response.status !== 201) throw new Error(`POST: ${response.status} ${answer}`);
  resource = new URL(response.headers.get('Location'), location.href).href;
  etag = response.headers.get('ETag');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  let patched = null;
  if (early.length) patched = (await patch(early)).status;
  window.periscope = { get pc() { return pc; }, get state() { return 'live'; } };
  window.whep = { resource, etag, patched, answer };
  return { resource, etag, patched, sendonly: /a=sendonly/.test(answer), candidates: (answer.match(/a=candidate:/g) || []).length };
}

async function whepDeleteInPage() {
  const response = await fetch(window.whep.resource, { method: 'DELETE' });
  window.periscope.pc.close();
  const streams = await (await fetch('/api/streams')).json();
  const metrics = await (await fetch('/metrics')).text();
  const again = await fetch(window.whep.resource, { method: 'DELETE' });
  return {
    status: response.status,
    viewers: streams[0].viewers.length,
    whepGauge: (metrics.match(/^periscope_whep_sessions (\d+)/m) || [])[1],
    again: again.status,
  };
}

// --restart: stop the daemon under a playing page, start it again on the same port, and
// require the page to come back to live video by itself.
async function restartDaemon(url) {
  const exit = await stopDaemon();
  ok(exit && exit.code === 0 && !daemon.killedHard, 'daemon exits with code 0 on SIGTERM (first run)',
    [`exit: ${JSON.stringify(exit)}`]);
  const noticed = await waitForFunction(0, () => window.periscope.state === 'reconnecting', 5_000)
    .then(() => true).catch(() => false);
  ok(noticed, 'page notices the daemon is gone and says it is reconnecting');

  startDaemon(new URL(url).port);
  try {
    const again = await waitForUrl();
    ok(again === url, `daemon restarts on the same URL (${again})`);
  } catch (e) {
    ok(false, 'daemon restarts', [e.message]);
    return;
  }
  const history = [];
  const deadline = Date.now() + VIDEO_TIMEOUT_MS;
  while (Date.now() < deadline && !tabPasses(history)) {
    const s = await pages[0].evaluate(sampleInPage).catch((e) => ({ state: `evaluate failed: ${e.message}` }));
    history.push({ ...s, t: Date.now() });
    await sleep(250);
  }
  const last = history[history.length - 1];
  ok(tabPasses(history), `page reconnects by itself and decodes again (${describe(last)})`);
}

// --outage: runs in the page before its own script: counts the WebSockets and peer
// connections the page makes, so a reconnection cannot go unnoticed.
function countConnectionsInPage() {
  window.made = { webSockets: 0, peerConnections: 0 };
  for (const [name, key] of [['WebSocket', 'webSockets'], ['RTCPeerConnection', 'peerConnections']]) {
    const Original = window[name];
    window[name] = class extends Original {
      constructor(...args) {
        super(...args);
        window.made[key]++;
      }
    };
  }
}

// --outage: one sample of what the page shows: its state and status line, frames decoded,
// the mean luma of the picture (0-255, sampled on a canvas) and the connections it made.
async function outageSampleInPage() {
  const p = window.periscope;
  const video = document.getElementById('video');
  let luma = null;
  if (video.videoWidth > 0) {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 36;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const px = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
    luma = Math.round(sum / (px.length / 4));
  }
  let frames = null;
  if (p.pc) {
    (await p.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded;
    });
  }
  window.firstPc ??= p.pc;
  return {
    state: p.state, status: document.getElementById('status-text').textContent, frames, luma,
    samePc: window.firstPc === p.pc, ...window.made,
  };
}

function describeOutage(s) {
  return `state=${s.state} status="${s.status}" framesDecoded=${s.frames} luma=${s.luma}` +
    ` webSockets=${s.webSockets} peerConnections=${s.peerConnections}`;
}

// Samples the page every 100 ms until @done(sample) or @timeoutMs; returns the last sample.
async function pollPage(done, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await pages[0].evaluate(outageSampleInPage).catch((e) => ({ state: `evaluate failed: ${e.message}` }));
    s.t = Date.now();
    if (done(s) || s.t >= deadline) return s;
    await sleep(100);
  }
}

// --outage: the source goes away under the playing page (the camera stopped for
// CAMERA_OUTAGE_MS, or a --source that ends) and comes back (the camera started again, or the
// retry's fresh source). The page must show the slate and say why, then the source again,
// with no new WebSocket or peer connection.
async function outage() {
  const live = await pollPage((s) => s.luma > PICTURE_LUMA, 5_000);
  ok(live.luma > PICTURE_LUMA, `the page shows the source's picture (${describeOutage(live)})`);

  let stoppedAt = null;
  if (camera) {
    process.kill(camera.pid, 'SIGUSR1');
    await camera.waitFor(/^rtsp-camera: stopped/, 10_000);
    stoppedAt = Date.now();
    comment('RTSP camera stopped');
  }
  const offline = await pollPage((s) => s.state === 'offline', OFFLINE_TIMEOUT_MS);
  const reason = camera ? /^no signal — \S/ : /^no signal — the source ended/;
  ok(offline.state === 'offline' && reason.test(offline.status),
    `the status line says "no signal" and why: "${offline.status}"`, [describeOutage(offline)]);
  if (offline.state !== 'offline') return;

  // The slate plays: frames keep being decoded, and the picture is black. A source that ends
  // is tried again after 1 s, so the outage may be short: a few frames tell.
  const slate = await pollPage((s) => s.state !== 'offline' ||
    (s.frames >= offline.frames + SLATE_FRAMES && s.luma < SLATE_LUMA), 10_000);
  const slateShown = slate.state === 'offline' && slate.frames >= offline.frames + SLATE_FRAMES &&
    slate.luma < SLATE_LUMA;
  if (!camera && !slateShown && slate.state !== 'offline' && slate.t - offline.t < SHORT_OUTAGE_MS) {
    // The retry, 1 s after the source ended, had the source back before the slate's frames
    // reached the page: on a loaded machine (CI runs three jobs at once) bringing the slate up
    // can take that long. The slate during an outage is checked where the outage lasts
    // (browser-offline-rtsp, CAMERA_OUTAGE_MS; integration offline/silent-camera).
    comment(`the retry ended the outage in ${slate.t - offline.t} ms, before the slate's frames ` +
      `reached the page (framesDecoded ${offline.frames} → ${slate.frames})`);
  } else {
    ok(slateShown,
      `the page plays the slate while offline (framesDecoded ${offline.frames} → ${slate.frames} in ${slate.t - offline.t} ms)`,
      [`first: ${describeOutage(offline)}`, `last: ${describeOutage(slate)}`]);
  }
  const path = screenshotOf('offline');
  await pages[0].screenshot({ path }).then(() => comment(`screenshot during the outage: ${path}`),
    (e) => ok(false, `screenshot saved to ${path}`, [e.message]));

  if (camera) {
    const still = await pollPage((s) => s.t >= stoppedAt + CAMERA_OUTAGE_MS, CAMERA_OUTAGE_MS);
    ok(still.state === 'offline' && still.frames > slate.frames,
      `the slate plays on until the camera is back (framesDecoded ${slate.frames} → ${still.frames})`,
      [describeOutage(still)]);
    process.kill(camera.pid, 'SIGUSR2');
    await camera.waitFor(/^rtsp-camera: started/, 10_000);
    comment('RTSP camera started again');
  }
  const back = await pollPage((s) => s.state === 'live' && s.luma > PICTURE_LUMA, BACK_TIMEOUT_MS);
  ok(back.state === 'live' && back.luma > PICTURE_LUMA && /^live/.test(back.status),
    `the page plays the source again (${describeOutage(back)})`);
  const after = await pollPage((s) => s.t - back.t >= MIN_GAP_MS && s.frames > back.frames, 10_000);
  ok(after.frames > back.frames, `frames keep being decoded (framesDecoded ${back.frames} → ${after.frames})`);
  ok(after.webSockets === 1 && after.peerConnections === 1 && after.samePc,
    'the same WebSocket and peer connection throughout: no reconnection', [describeOutage(after)]);
}

// --- main --------------------------------------------------------------------

const browsers = [];        // { engine, browser }, in --browser order
let browserServer = null;   // --vanish only
let frozen = false;
const pages = [];
const pageEngines = [];  // per tab: 'chromium' or 'firefox'
const consoleLogs = [];  // per tab

// playwright (Chromium) and puppeteer (Firefox) order waitForFunction's arguments apart.
function waitForFunction(i, fn, timeout, arg) {
  return pageEngines[i] === 'firefox' ? pages[i].waitForFunction(fn, { timeout }, arg)
    : pages[i].waitForFunction(fn, arg, { timeout });
}

async function openTabs(engine, url) {
  let newPage;
  if (engine === 'firefox') {
    const browser = await launchFirefox(new URL(url).hostname, {}, { acceptInsecureCerts: opts.tls });
    browsers.push({ engine, browser });
    comment(`firefox: ${await browser.version()}`);
    newPage = async () => {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 720 });
      return page;
    };
  } else {
    // No DNS at all: every name fails at once, except the daemon's own host.
    const launchOptions = chromiumLaunchOptions(new URL(url).hostname);
    if (opts.tls) launchOptions.args.push(trustCertificateArg(join(dataDir, 'tls-cert.pem')));
    let browser;
    if (opts.vanish) {
      // A browser server: we know its PID, and playwright starts it as the leader of its own
      // process group (renderers included), which --vanish freezes.
      browserServer = await chromium.launchServer(launchOptions);
      browser = await chromium.connect(browserServer.wsEndpoint());
    } else {
      browser = await chromium.launch(launchOptions);
    }
    browsers.push({ engine, browser });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    newPage = () => context.newPage();
  }
  for (let i = 0; i < tabs; i++) {
    const page = await newPage();
    const log = [];
    consoleLogs.push(log);
    page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    pages.push(page);
    pageEngines.push(engine);
  }
}

async function main() {
  if (opts['rtsp-camera']) {
    try {
      await startCamera();
    } catch (e) {
      ok(false, 'the RTSP camera prints its URL', [e.message]);
      return;
    }
  }
  startDaemon();
  let url;
  try {
    url = await waitForUrl();
  } catch (e) {
    ok(false, 'daemon prints its URL', [e.message]);
    if (daemon.exit) daemon.exitReported = true;
    return;
  }
  ok(true, `daemon prints its URL (${url})`);

  for (const engine of engines) await openTabs(engine, url);
  if (opts.whep) {
    // A same-origin page that is not the viewer: the WHEP client is the only peer.
    await Promise.all(pages.map((p) => p.goto(new URL('healthz', url).href, { waitUntil: 'load', timeout: 10_000 })));
    const made = await Promise.all(pages.map((p) => p.evaluate(whepClientInPage, codec).catch((e) => ({ error: e.message }))));
    made.forEach((m, i) => {
      ok(!m.error && /\/whep\/camera\/[0-9a-f]{32}$/.test(m.resource) && m.etag,
        `tab ${i + 1}: WHEP POST answered 201 with Location and ETag`, [JSON.stringify(m)]);
      ok(m.sendonly && m.candidates > 0, `tab ${i + 1}: the answer is sendonly and carries candidates`, [JSON.stringify(m)]);
      if (m.patched !== null) ok(m.patched === 204, `tab ${i + 1}: PATCH with trickled candidates answered 204`, [`got ${m.patched}`]);
    });
  } else {
    if (opts.outage) await pages[0].addInitScript(countConnectionsInPage);
    // Load them all at once: the daemon has to cope with viewers arriving together. With
    // --tls, as a user types it: http:, which the HTTPS port redirects.
    const typed = opts.tls ? url.replace(/^https:/, 'http:') : url;
    await Promise.all(pages.map((p) => p.goto(typed, { waitUntil: 'load', timeout: 10_000 })));
    if (opts.tls) {
      pages.forEach((p, i) => ok(p.url() === url,
        `tab ${i + 1} (${pageEngines[i]}): ${typed} is sent on to ${url}`, [`at ${p.url()}`]));
    }
  }

  // Poll every tab until all pass or time runs out.
  const histories = pages.map(() => []);
  const deadline = Date.now() + VIDEO_TIMEOUT_MS;
  let allPass = false;
  while (Date.now() < deadline) {
    const samples = await Promise.all(pages.map((p) => p.evaluate(sampleInPage).catch((e) => ({ state: `evaluate failed: ${e.message}` }))));
    const t = Date.now();
    samples.forEach((s, i) => histories[i].push({ ...s, t }));
    if (histories.every(tabPasses)) { allPass = true; break; }
    if (daemon.exit) break;
    await sleep(250);
  }

  for (let i = 0; i < pages.length; i++) {
    const name = engines.length > 1 ? `${pageEngines[i]} tab ${i % tabs + 1}` : `tab ${i + 1}`;
    const mime = MIMES[codecOf(pageEngines[i])];
    const h = histories[i];
    const last = h[h.length - 1];
    const first = h.find((s) => s.frames > 0);
    const pass = tabPasses(h);
    ok(pass, `${name} decodes video (${describe(last)})`, pass ? [] : [
      `gave up after ${((Date.now() - h[0].t) / 1000).toFixed(1)} s${daemon.exit ? ' (the daemon exited)' : ''}`,
      `first frames seen: ${first ? `${first.frames} at +${((first.t - h[0].t) / 1000).toFixed(1)} s` : 'never'}`,
      ...h.filter((_, j) => j % 8 === 0 || j === h.length - 1)
        .map((s) => `+${((s.t - h[0].t) / 1000).toFixed(1)} s: ${describe(s)}`),
    ]);
    ok(last && last.mimeType && last.mimeType.toLowerCase() === mime.toLowerCase(),
      `${name} codec is ${mime}`, [`got ${last ? last.mimeType : 'nothing'}`]);
    comment(`${name} ICE route (browser -> daemon): ${last && last.route ? last.route : 'none selected'}`);
  }

  if (opts.vanish && allPass) {
    // The player's machine vanishes: no DELETE, no DTLS alert, no RTCP BYE, nothing. Freeze
    // every process of the browser we started (its own process group) and watch the daemon
    // reap the WHEP session from /metrics. The draft's bar: within 30 s.
    const metricsUrl = new URL('metrics', url).href;
    const t0 = Date.now();
    process.kill(-browserServer.process().pid, 'SIGSTOP');
    frozen = true;
    let sessions = null;
    while (Date.now() - t0 < 40_000) {
      const text = await (await fetch(metricsUrl)).text();
      sessions = (text.match(/^periscope_whep_sessions (\d+)/m) || [])[1];
      if (sessions === '0') break;
      await sleep(500);
    }
    const seconds = (Date.now() - t0) / 1000;
    comment(`vanished WHEP session reaped after ${seconds.toFixed(1)} s`);
    ok(sessions === '0' && seconds <= 30, 'a vanished WHEP viewer is reaped within 30 s',
      [`sessions=${sessions} after ${seconds.toFixed(1)} s`]);
    process.kill(-browserServer.process().pid, 'SIGCONT');
    frozen = false;
  }

  if (opts.whep && !opts.vanish && allPass) {
    const gone = await pages[0].evaluate(whepDeleteInPage).catch((e) => ({ error: e.message }));
    ok(gone.status === 200 && gone.again === 404, 'WHEP DELETE ends the session (200, then 404)', [JSON.stringify(gone)]);
    ok(gone.viewers === tabs - 1 && gone.whepGauge === String(tabs - 1),
      'the deleted session is gone from /api/streams and /metrics', [JSON.stringify(gone)]);
  }

  // The status line should have caught up with the stats by now.
  // In each engine's first tab: it names the codec that tab decodes, as the browser measured.
  for (const engine of allPass && !opts.whep ? engines : []) {
    const i = pageEngines.indexOf(engine);
    const codecName = { h264: 'H.264', vp8: 'VP8' }[codecOf(engine)];
    const text = await waitForFunction(i,
      () => /^live · \d+×\d+ · \d+ fps · /.test(document.getElementById('status-text').textContent)
        && document.getElementById('status-text').textContent, 5_000)
      .then((h) => h.jsonValue()).catch(() => null);
    const shown = text || await pages[i].evaluate(() => document.getElementById('status-text').textContent);
    ok(text !== null && text.includes('640×360') && text.endsWith(codecName),
      `${engines.length > 1 ? `${engine}: ` : ''}status line reads "${shown}"`);
    // Beside it, how many watch the camera (the server's `viewers`, at most 2 a second).
    const expected = `${pages.length} watching`;
    const watching = await waitForFunction(i, (want) => {
      const el = document.getElementById('watching');
      return !el.hidden && el.textContent === want && el.textContent;
    }, 5_000, expected).then((h) => h.jsonValue()).catch(() => null);
    const seen = watching || await pages[i].evaluate(() => {
      const el = document.getElementById('watching');
      return el.hidden ? '(hidden)' : el.textContent;
    });
    ok(watching === expected, `${engines.length > 1 ? `${engine}: ` : ''}viewer count reads "${seen}"`,
      [`expected "${expected}"`]);
  }

  if (opts.restart && allPass) await restartDaemon(url);
  if (opts.outage && allPass) await outage();

  const encoders = daemon.lines.map((l) => /^periscope: encoder (\S+) started/.exec(l)).filter(Boolean);
  // A codec passed through from the source ("passes the source's h264 through") has no encoder.
  const passed = daemon.lines.map((l) => /^periscope: stream \S+ passes the source's (\S+) through/.exec(l)).filter(Boolean);
  comment(`encoder lines: ${encoders.map((m) => m[1]).join(', ') || 'none'}; passed through: ${passed.map((m) => m[1]).join(', ') || 'none'}`);
  // One encoder per codec, whatever the viewers: both run when both codecs are watched.
  const watched = new Set(engines.map(codecOf));
  if (pages.length > 1) {
    ok(encoders.length + passed.length === watched.size, `${watched.size} shared encoder(s) or passthrough for ${pages.length} viewers (${[...watched].join(', ')})`,
      [`daemon printed ${encoders.length} "periscope: encoder ... started" lines and ${passed.length} "passes the source's … through"`]);
  }
  if (opts.passthrough) {
    // An H.264 source: its viewers get it as it is, with no H.264 encoder.
    ok(!encoders.some((m) => /h264/.test(m[1])) && (!watched.has('h264') || passed.length > 0),
      'H.264 passed through, no H.264 encoder', [`encoders: ${encoders.map((m) => m[1]).join(', ')}`]);
  }
}

// Runs once, whether reached from the end of main() or from a signal.
let cleanupDone = null;
function cleanup() {
  cleanupDone ??= doCleanup();
  return cleanupDone;
}

async function doCleanup() {
  // Screenshots first, while the pages are still live (also useful on failure): each
  // engine's first tab.
  for (const engine of engines) {
    const i = pageEngines.indexOf(engine);
    if (i < 0) continue;
    const path = screenshotOf(engine);
    try {
      await Promise.race([pages[i].screenshot({ path }),
        sleep(10_000).then(() => { throw new Error('no screenshot in 10 s'); })]);
      ok(true, `screenshot saved to ${path}`);
    } catch (e) {
      ok(false, `screenshot saved to ${path}`, [e.message]);
    }
  }
  if (frozen) {
    process.kill(-browserServer.process().pid, 'SIGCONT');
    frozen = false;
  }
  for (const { browser } of browsers.splice(0)) {
    await Promise.race([browser.close().catch(() => {}), sleep(10_000, null, { ref: false })]);
  }
  if (browserServer) {
    await Promise.race([browserServer.close().catch(() => {}), sleep(10_000, null, { ref: false })]);
    browserServer = null;
  }
  if (daemon && daemon.pid !== undefined) {
    const wasRunning = !daemon.exit;
    const exit = await stopDaemon();
    if (wasRunning) {
      ok(!daemon.killedHard && exit.code === 0,
        'daemon exits with code 0 on SIGTERM',
        [daemon.killedHard ? 'it had to be killed with SIGKILL' : `exit code ${exit.code}, signal ${exit.signal}`]);
    } else if (!daemon.exitReported) {
      ok(false, 'daemon still running at the end of the test',
        [`it exited by itself: code ${exit.code}, signal ${exit.signal}`]);
    }
  }
  if (camera) await camera.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

function dumpDiagnostics() {
  consoleLogs.forEach((log, i) => {
    comment(`--- ${pageEngines[i]} tab ${i % tabs + 1} console (${log.length} lines) ---`);
    log.slice(-60).forEach((l) => comment(l));
  });
  const output = daemonRuns.flatMap((run) => run.lines);
  comment(`--- daemon output (${output.length} lines) ---`);
  output.slice(-200).forEach((l) => comment(l));
  if (camera) {
    comment(`--- RTSP camera output (${camera.lines.length} lines) ---`);
    camera.lines.slice(-50).forEach((l) => comment(l));
  }
}

// Prints the summary once and sets the exit code.
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  if (failed || opts.verbose) dumpDiagnostics();
  console.log(`1..${testNo}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

// Ctrl-C or a kill of the test itself must still end the daemon.
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted || finished) return;
    interrupted = true;
    ok(false, `test interrupted by ${sig}`);
    cleanup().finally(() => {
      finish();
      process.exit(1);
    });
  });
}

try {
  await main();
} catch (e) {
  if (!interrupted) ok(false, 'test ran to completion', [e.stack || e.message]);
} finally {
  await cleanup();
  if (!interrupted) finish();
}
