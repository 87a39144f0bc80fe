#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// periscope benchmark: glass-to-glass latency, time to first frame and viewers per core,
// for periscope and, in the same run with the same clients, for Janus's streaming plugin fed
// by periscope's own capture and encoder over RTP on loopback (docs/performance.md).
//
//   node bench/run.mjs [--build DIR] [--codecs h264,vp8] [--servers periscope,janus]
//                      [--frames 400] [--latency-rounds 8] [--loads 10]
//                      [--viewers 1,10,25,50] [--duration 60] [--compare-rounds 5]
//                      [--compare-duration 30] [--idle 10] [--json OUT.json]
//                      [--screenshots DIR] [--smoke] [--no-pages]
//
// For each codec, each server in turn (never two at once: they would share the two cores):
//   1. latency: a viewer page in headless Chromium reads the capture time stamped into each
//      frame (--latency-stamp, src/psc-stamp.c; bench/pages/stamp.js) and compares it with
//      the time the frame is expected on screen; p50/p95/max over --frames frames, in
//      --latency-rounds rounds with the server restarted in between (see measureLatency).
//   2. time to first frame: --loads fresh page loads, each in a new browser context, while
//      the latency page keeps watching (a viewer joining a watched stream); from navigation
//      and from the start of signalling (WebSocket open, WHEP POST, first Janus request).
//      For periscope also "cold": nobody watching, the encoder starting on demand.
//   3. viewers: bench/psc-bench-load with N receiving webrtcbin peers (no decoding) for
//      --duration s each: the server's CPU (user+sys from /proc; for Janus, Janus plus its
//      feeder), RSS, packet loss and frames per second per viewer. For periscope twice: page
//      viewers (its WebSocket) and WHEP players (--smoke: the largest N only).
//   4. with both servers: the CPU and RSS comparison at the largest N, in --compare-rounds
//      rounds of --compare-duration s that alternate periscope's page viewers, its WHEP
//      viewers and Janus (ABC, CBA...). CPU time on a
//      shared 2-core VM drifts by ±10 % from one minute to the next (measured: Janus 46.6,
//      50.1, 57.5, 55.1 % at 50 viewers within 15 minutes), more than the difference being
//      measured; alternating, and the median of the per-round ratios, cancels the drift.
// periscope's idle CPU (no viewer) is measured too. --no-pages leaves out what needs the
// browser (1, 2 and the idle figure): the viewers and the comparison alone, for a machine too
// busy for headless Chromium to keep up. The figures are printed as Markdown
// tables, and all of them saved as JSON with --json. --smoke is the test suite's run: tiny
// counts, and an exit status that says whether every figure could be measured (targets are
// not judged here: timings on a shared machine are figures, not pass/fail).
//
// Network hygiene: everything on 127.0.0.1; periscope and the load generator gather ICE
// candidates on loopback only, UPnP off; Janus is restricted to lo (bench/janus.mjs).

import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { createServer as createTcpServer } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium, chromiumLaunchOptions } from '../tests/browser/chromium.mjs';
import { processUsage, startProcess, stopAllProcesses } from '../tests/browser/process.mjs';
import { startJanus } from './janus.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const WARMUP_FRAMES = 60;         // stamped frames skipped before the latency sample
const FIRST_FRAME_TIMEOUT_MS = 15_000;
const SERVER_START_TIMEOUT_MS = 30_000;

function usage(message) {
  console.error(`bench: ${message}`);
  console.error('usage: node bench/run.mjs [--build DIR] [--codecs h264,vp8] [--servers periscope,janus] [--frames N] [--latency-rounds N] [--loads N] [--viewers 1,10,25,50] [--duration S] [--compare-rounds N] [--compare-duration S] [--idle S] [--json OUT] [--screenshots DIR] [--smoke] [--no-pages]');
  process.exit(64);
}

// --smoke (the test suite's run) changes the defaults: tiny counts, a few seconds each.
const SMOKE = process.argv.includes('--smoke');
let opts;
try {
  opts = parseArgs({
    options: {
      build: { type: 'string', default: join(ROOT, 'build') },
      codecs: { type: 'string', default: 'h264,vp8' },
      servers: { type: 'string', default: 'periscope,janus' },
      frames: { type: 'string', default: SMOKE ? '30' : '400' },
      'latency-rounds': { type: 'string', default: SMOKE ? '1' : '8' },
      loads: { type: 'string', default: SMOKE ? '2' : '10' },
      viewers: { type: 'string', default: SMOKE ? '1,2' : '1,10,25,50' },
      duration: { type: 'string', default: SMOKE ? '3' : '60' },
      'compare-rounds': { type: 'string', default: SMOKE ? '1' : '5' },
      'compare-duration': { type: 'string', default: SMOKE ? '3' : '30' },
      idle: { type: 'string', default: SMOKE ? '2' : '10' },
      width: { type: 'string', default: '1280' },
      height: { type: 'string', default: '720' },
      framerate: { type: 'string', default: '30' },
      bitrate: { type: 'string', default: '2000' },
      json: { type: 'string' },
      screenshots: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'no-pages': { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  usage(e.message);
}
const count = (name, min, max) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name} must be an integer ${min}..${max}`);
  return n;
};
const FRAMES = count('frames', 10, 100_000);
const LATENCY_ROUNDS = count('latency-rounds', 1, 20);
const LOADS = count('loads', 1, 1000);
const DURATION = count('duration', 1, 3600);
const COMPARE_ROUNDS = count('compare-rounds', 0, 100);
const COMPARE_DURATION = count('compare-duration', 1, 3600);
const IDLE = count('idle', 1, 3600);
const CODECS = opts.codecs.split(',');
const SERVERS = opts.servers.split(',');
const VIEWERS = opts.viewers.split(',').map(Number);
if (CODECS.some((c) => !['h264', 'vp8'].includes(c))) usage('--codecs takes h264 and/or vp8');
if (SERVERS.some((s) => !['periscope', 'janus'].includes(s))) usage('--servers takes periscope and/or janus');
if (VIEWERS.some((n) => !Number.isInteger(n) || n < 1 || n > 500)) usage('--viewers takes integers 1..500');
const BIN = {
  periscope: join(opts.build, 'src', 'periscope'),
  feed: join(opts.build, 'bench', 'psc-bench-feed'),
  load: join(opts.build, 'bench', 'psc-bench-load'),
};
for (const path of Object.values(BIN)) if (!existsSync(path)) usage(`${path} is missing: build first (meson setup build && ninja -C build)`);

// The same capture and encoder settings for periscope and for Janus's feeder.
const mediaArgs = (codec) => ['--preset', 'test', '--latency-stamp', '--codec', codec,
  '--width', opts.width, '--height', opts.height, '--framerate', opts.framerate,
  '--bitrate', opts.bitrate];

// --- small helpers -----------------------------------------------------------

function freePort(type) {
  return new Promise((resolvePort, reject) => {
    if (type === 'udp') {
      const socket = createSocket('udp4');
      socket.on('error', reject);
      socket.bind(0, '127.0.0.1', () => { const { port } = socket.address(); socket.close(() => resolvePort(port)); });
    } else {
      const server = createTcpServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolvePort(port)); });
    }
  });
}

// Nearest-rank percentile of @values (0 < p ≤ 100).
function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (values) => percentile(values, 50);
const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits));

// Least-squares slope of y over x.
function slope(points) {
  if (points.length < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? null : num / den;
}

// Serves bench/pages on 127.0.0.1 (the Janus and WHEP pages live there).
async function startPageServer() {
  const types = { '.html': 'text/html', '.js': 'text/javascript' };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname.replace(/^\/+/, '');
    if (!/^[a-z0-9-]+\.(html|js)$/.test(path)) { res.writeHead(404).end(); return; }
    try {
      const body = await readFile(join(HERE, 'pages', path));
      res.writeHead(200, { 'Content-Type': types[extname(path)], 'Cache-Control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

// --- the servers under test --------------------------------------------------

// Each returns { name, pids, pageUrl, whepUrl?, loadArgs, stop }.
async function startPeriscope(codec) {
  const proc = startProcess('periscope', BIN.periscope,
    // Every simulated viewer comes from 127.0.0.1.
    ['--bind', '127.0.0.1', '--port', '0', '--ice-address', '127.0.0.1',
      '--max-viewers-per-address', '0', ...mediaArgs(codec)]);
  try {
    const url = (await proc.waitFor(/^periscope: open (http:\/\/\S+)/, SERVER_START_TIMEOUT_MS))[1];
    const ws = new URL('ws/camera', url.replace(/^http/, 'ws')).href;
    return {
      name: 'periscope', procs: [proc], pids: [proc.pid], pageUrl: url,
      whepUrl: new URL('whep/camera', url).href,
      loadArgs: ['--target', 'periscope', '--url', ws],
      // As browsers offer: H.264 at 102 (Chromium), VP8 at 120 (Firefox); periscope's
      // payloader works at 96, so every packet gets the viewer's payload type.
      whepLoadArgs: ['--target', 'whep', '--url', new URL('whep/camera', url).href, '--codec', codec],
      stop: () => proc.stop(),
    };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

async function startJanusServer(codec, pages, workDir) {
  const httpPort = await freePort('tcp');
  const rtpPort = await freePort('udp');
  const rtcpPort = await freePort('udp');
  // Keyframes on the viewers' PLIs, through the feeder (not Janus's replay of the last one,
  // which the live frames do not follow): see bench/psc-bench-feed.c.
  const janus = await startJanus({ httpPort, workDir,
    mountpoints: [{ id: 1, codec, rtpPort, rtcpPort, bufferKeyframe: false }] });
  const feed = startProcess('psc-bench-feed', BIN.feed, [`--${codec}-port`, String(rtpPort),
    `--${codec}-rtcp-port`, String(rtcpPort), ...mediaArgs(codec)]);
  try {
    await feed.waitFor(/^psc-bench-feed: ready/, SERVER_START_TIMEOUT_MS);
  } catch (e) {
    await feed.stop();
    await janus.stop();
    throw e;
  }
  const page = new URL('janus-viewer.html', pages.url);
  page.searchParams.set('janus', janus.url);
  page.searchParams.set('id', '1');
  return {
    name: 'janus', procs: [feed], pids: [janus.pid, feed.pid], pageUrl: page.href,
    // Janus's one candidate is this host's own address (bench/janus.mjs): the load
    // generator's peers gather there too, or libnice pairs nothing.
    loadArgs: ['--target', 'janus', '--url', janus.url, '--mountpoint', '1', '--ice-address', janus.iceAddress],
    stop: async () => { await feed.stop(); await janus.stop(); },
  };
}

// --- measurements ------------------------------------------------------------

// Init script for every page: the stamp reader, and a handle on every RTCPeerConnection the
// page makes (for getStats), whatever the page calls it.
const stampScript = await readFile(join(HERE, 'pages', 'stamp.js'), 'utf8');
const PC_HOOK = `(() => {
  const Native = window.RTCPeerConnection;
  window.benchPcs = [];
  window.benchTimeline = {};
  const mark = (name) => { if (!(name in window.benchTimeline)) window.benchTimeline[name] = performance.now(); };
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.benchPcs.push(pc);
    mark('pc-created');
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d) => { mark('remote-description'); return setRemote(d); };
    pc.addEventListener('iceconnectionstatechange', () => { if (pc.iceConnectionState === 'connected') mark('ice-connected'); });
    pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'connected') mark('dtls-connected'); });
    pc.addEventListener('track', () => mark('track'));
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})();`;

// Closes a viewer as its user would: the page's own goodbye first (a WHEP player's DELETE,
// a Janus page's session destroy: window.benchLeave), then the browser context.
async function closeViewer(viewer) {
  await viewer.page.evaluate(() => window.benchLeave && window.benchLeave()).catch(() => {});
  await viewer.context.close();
}

async function openViewer(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript({ content: PC_HOOK + '\n' + stampScript });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  await page.goto(url, { waitUntil: 'commit' });
  return { context, page, log };
}

// The receiver's view of the video: decoded frames and the average jitter-buffer delay.
function inboundInPage() {
  return (async () => {
    for (const pc of window.benchPcs || []) {
      const report = await pc.getStats();
      for (const s of report.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          return {
            framesDecoded: s.framesDecoded, framesDropped: s.framesDropped, packetsLost: s.packetsLost,
            jitterBufferMs: s.jitterBufferEmittedCount ? (1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount : null,
            decodeMs: s.framesDecoded ? (1000 * s.totalDecodeTime) / s.framesDecoded : null,
            codec: report.get(s.codecId)?.mimeType,
          };
        }
      }
    }
    return null;
  })();
}

// One viewer page reading @frames stamped frames after the warm-up. Returns the page (kept
// open by the caller as the stream's watcher) and the samples.
async function measureLatencyOnce(browser, server, codec, frames) {
  const viewer = await openViewer(browser, server.pageUrl);
  try {
    await viewer.page.waitForFunction((n) => window.benchStamp && window.benchStamp.stamped >= n,
      WARMUP_FRAMES + frames, { timeout: FIRST_FRAME_TIMEOUT_MS + ((WARMUP_FRAMES + frames) * 2000) / Number(opts.framerate), polling: 250 });
  } catch (e) {
    const state = await viewer.page.evaluate(() => window.benchStamp).catch(() => null);
    await viewer.context.close();
    throw new Error(`${server.name} ${codec}: no ${WARMUP_FRAMES + frames} stamped frames (${JSON.stringify(state && { frames: state.frames, stamped: state.stamped })}): ${e.message}\n${viewer.log.slice(-10).join('\n')}`);
  }
  const state = await viewer.page.evaluate(() => window.benchStamp);
  const inbound = await viewer.page.evaluate(inboundInPage);
  return { viewer, state, inbound, samples: state.samples.slice(WARMUP_FRAMES) };
}

// Latency over LATENCY_ROUNDS rounds, the server restarted between them: a frame's wait for
// the browser's 60 Hz compositor depends on the phase of the 30 fps capture against it,
// which is fixed for a process's life and shifted by up to a display interval (16.7 ms)
// from one start to the next. Pooling the rounds measures the server, not that luck.
// Returns the last round's page, left open, and the pooled figures.
async function measureLatency(browser, server, codec, restart) {
  const pooled = [];
  const roundP50 = [];
  let last = null;
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    if (round > 0) server = await restart();
    last = await measureLatencyOnce(browser, server, codec, Math.ceil(FRAMES / LATENCY_ROUNDS));
    pooled.push(...last.samples);
    roundP50.push(median(last.samples.map((s) => s.latencyMs)));
    if (round < LATENCY_ROUNDS - 1) await closeViewer(last.viewer);
  }
  if (opts.screenshots) {
    await mkdir(opts.screenshots, { recursive: true });
    await last.viewer.page.screenshot({ path: join(opts.screenshots, `${server.name}-${codec}.png`) });
  }
  const latency = pooled.map((s) => s.latencyMs);
  const receive = pooled.map((s) => s.receiveMs).filter((x) => x !== null);
  return {
    viewer: last.viewer,
    server,
    result: {
      frames: pooled.length, rounds: LATENCY_ROUNDS, roundP50, width: last.state.width,
      stampedShare: last.state.stamped / last.state.frames,
      p50: median(latency), p95: percentile(latency, 95), max: Math.max(...latency), min: Math.min(...latency),
      receiveP50: median(receive), receiveP95: percentile(receive, 95), inbound: last.inbound,
      samples: pooled,
    },
  };
}

// One fresh page load: ms from navigation, and from the start of signalling, to the first
// frame expected on screen.
async function timeFirstFrame(browser, url) {
  const viewer = await openViewer(browser, url);
  try {
    await viewer.page.waitForFunction(() => window.benchStamp && window.benchStamp.firstFrameMs !== null,
      null, { timeout: FIRST_FRAME_TIMEOUT_MS, polling: 50 });
    return await viewer.page.evaluate(() => {
      const start = performance.getEntriesByName('signalling-start')[0];
      const first = window.benchStamp.firstFrameMs;
      return { fromNavigation: first, fromSignalling: start ? first - start.startTime : null,
        timeline: { 'signalling-start': start?.startTime, ...window.benchTimeline, 'first-frame': first } };
    });
  } catch (e) {
    throw new Error(`no first frame from ${url}: ${e.message}\n${viewer.log.slice(-10).join('\n')}`);
  } finally {
    await closeViewer(viewer);
  }
}

async function measureFirstFrames(browser, url, pauseMs) {
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    if (pauseMs) await sleep(pauseMs);
    loads.push(await timeFirstFrame(browser, url));
  }
  const nav = loads.map((l) => l.fromNavigation);
  const signal = loads.map((l) => l.fromSignalling).filter((x) => x !== null);
  return { loads: loads.length, navigationMedian: median(nav), navigationMin: Math.min(...nav),
    navigationMax: Math.max(...nav), signallingMedian: median(signal), samples: loads };
}

async function measureViewers(server, viewers, duration = DURATION, loadArgs = server.loadArgs) {
  const args = [...loadArgs, '--viewers', String(viewers), '--duration', String(duration),
    ...server.pids.flatMap((pid) => ['--server-pid', String(pid)])];
  const load = startProcess('psc-bench-load', BIN.load, args);
  const exit = await load.exited;
  const stdout = load.lines.filter((l) => !l.startsWith('[stderr] ')).join('\n');
  let summary = null;
  try { summary = JSON.parse(stdout.slice(stdout.indexOf('{'))); } catch { /* reported below */ }
  if (!summary) {
    throw new Error(`psc-bench-load (code ${exit.code}) printed no summary:\n${load.lines.slice(-15).join('\n')}`);
  }
  summary.exitCode = exit.code;
  if (exit.code !== 0) summary.failure = load.lines.filter((l) => l.startsWith('[stderr] ')).slice(-3).join(' | ');
  return summary;
}

// periscope with no viewer: waits until the stream reports its capture released (the last
// viewer gone, then PSC_STREAM_RELEASE_DELAY_S), then measures.
async function measureIdle(server) {
  const api = new URL('api/streams/camera', server.pageUrl);
  const deadline = Date.now() + 30_000;
  const start = Date.now();
  for (;;) {
    const stream = await (await fetch(api)).json();
    if (stream.state === 'idle') break;
    if (Date.now() > deadline) throw new Error(`the capture was not released within 30 s (state ${stream.state}, ${stream.viewers?.length} viewers)`);
    await sleep(100);
  }
  const releasedAfterMs = Date.now() - start;
  const before = server.pids.map(processUsage);
  await sleep(IDLE * 1000);
  const after = server.pids.map(processUsage);
  const cpuS = after.reduce((s, u, i) => s + u.cpuS - before[i].cpuS, 0);
  return { seconds: IDLE, cpuPercent: (100 * cpuS) / IDLE, rssKiB: after.reduce((s, u) => s + u.rssKiB, 0),
    releasedAfterMs };
}

function startServer(name, codec) {
  return name === 'periscope' ? startPeriscope(codec) : startJanusServer(codec, pages, workDir);
}

// The CPU and RSS comparison at the largest N: COMPARE_ROUNDS rounds, each measuring
// periscope's page viewers, its WHEP viewers and Janus one after the other, in that order,
// then the other way round, and so on, so that a drift of the machine's speed falls on all
// alike. Each server is started fresh for its measurement and stopped after it (an idle Janus
// feeder would still encode).
const CONTESTANTS = ['periscope', 'whep', 'janus'];
async function compareServers(codec) {
  const viewers = Math.max(...VIEWERS);
  const compare = { codec, viewers, durationS: COMPARE_DURATION, rounds: [], failedRounds: [] };
  for (let round = 0; round < COMPARE_ROUNDS; round++) {
    const order = round % 2 === 0 ? CONTESTANTS : [...CONTESTANTS].reverse();
    const figures = {};
    try {
      for (const name of order) {
        current = await startServer(name === 'whep' ? 'periscope' : name, codec);
        try {
          const summary = await measureViewers(current, viewers, COMPARE_DURATION,
            name === 'whep' ? current.whepLoadArgs : current.loadArgs);
          if (summary.exitCode !== 0) throw new Error(`${name}: ${summary.failure}`);
          figures[name] = { cpuPercent: summary.server.cpu_percent_of_one_core,
            rssKiB: summary.server.rss_kib, lossPercent: summary.peers.loss_percent };
        } finally {
          await current.stop();
          current = null;
        }
      }
    } catch (e) {
      // A round is both servers or nothing; the next round keeps the alternation.
      compare.failedRounds.push(`round ${round + 1}: ${e.message}`);
      console.error(`bench:   ${codec} round ${round + 1} failed: ${e.message}`);
      continue;
    }
    compare.rounds.push(figures);
    console.error(`bench:   ${codec} round ${round + 1}: periscope ${fmt(figures.periscope.cpuPercent)} % ` +
      `(WHEP ${fmt(figures.whep.cpuPercent)} %), Janus ${fmt(figures.janus.cpuPercent)} % CPU at ${viewers} viewers`);
  }
  if (compare.failedRounds.length) compare.error = compare.failedRounds.join('; ');
  const ratios = (name, key) => compare.rounds.map((r) => r[name][key] / r.janus[key]);
  if (compare.rounds.length) {
    compare.cpuRatioMedian = median(ratios('periscope', 'cpuPercent'));
    compare.rssRatioMedian = median(ratios('periscope', 'rssKiB'));
    compare.whepCpuRatioMedian = median(ratios('whep', 'cpuPercent'));
    compare.whepRssRatioMedian = median(ratios('whep', 'rssKiB'));
    compare.periscopeCpuMedian = median(compare.rounds.map((r) => r.periscope.cpuPercent));
    compare.whepCpuMedian = median(compare.rounds.map((r) => r.whep.cpuPercent));
    compare.janusCpuMedian = median(compare.rounds.map((r) => r.janus.cpuPercent));
  }
  return compare;
}

// Latency, first frames and (periscope) idle: what the browser measures, on @current.
async function measurePages(run, name, codec, restart) {
  const { viewer, result } = await measureLatency(browser, current, codec, restart);
  run.latency = result;
  console.error(`bench:   latency p50 ${fmt(result.p50)} ms, p95 ${fmt(result.p95)} ms over ${result.frames} frames`);
  run.firstFrame = await measureFirstFrames(browser, current.pageUrl, 0);
  if (current.whepUrl) {
    const whep = new URL('whep-viewer.html', pages.url);
    whep.searchParams.set('whep', current.whepUrl);
    whep.searchParams.set('codec', codec);
    run.firstFrameWhep = await measureFirstFrames(browser, whep.href, 0);
  }
  await closeViewer(viewer);
  if (name === 'periscope') {
    run.idle = await measureIdle(current);
    run.firstFrameCold = await measureFirstFrames(browser, current.pageUrl, 3000);
  }
  console.error(`bench:   first frame ${fmt(run.firstFrame.navigationMedian, 0)} ms from navigation (median of ${LOADS})`);
}

// --- the run -----------------------------------------------------------------

const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  settings: { width: Number(opts.width), height: Number(opts.height), framerate: Number(opts.framerate),
    bitrateKbps: Number(opts.bitrate), frames: FRAMES, loads: LOADS, viewers: VIEWERS, durationS: DURATION },
  runs: [],
  comparisons: [],
};
const failures = [];
const pages = await startPageServer();
const workDir = await mkdtemp(join(tmpdir(), 'periscope-bench-'));
const browser = await chromium.launch(chromiumLaunchOptions('127.0.0.1'));
let current = null;
const cleanUp = async () => {
  if (current) await current.stop().catch(() => {});
  await stopAllProcesses();
  await browser.close().catch(() => {});
  await pages.close();
  await rm(workDir, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => { await cleanUp(); process.exit(130); });
}

try {
  for (const codec of CODECS) {
    for (const name of SERVERS) {
      const run = { server: name, codec };
      results.runs.push(run);
      console.error(`bench: ${name} ${codec}`);
      try {
        const start = () => startServer(name, codec);
        current = await start();
        const restart = async () => { await current.stop(); current = null; current = await start(); return current; };
        if (!opts['no-pages']) await measurePages(run, name, codec, restart);
        run.viewers = [];
        for (const n of VIEWERS) {
          const summary = await measureViewers(current, n);
          run.viewers.push(summary);
          console.error(`bench:   ${n} viewers: ${fmt(summary.server?.cpu_percent_of_one_core)} % CPU, loss ${fmt(summary.peers?.loss_percent, 2)} %`);
          if (summary.exitCode !== 0) failures.push(`${name} ${codec} ${n} viewers: ${summary.failure}`);
        }
        const marginal = (summaries) => slope(summaries.map((v) => ({ x: v.viewers, y: v.server?.cpu_percent_of_one_core }))
          .filter((p) => typeof p.y === 'number'));
        run.marginalCpuPercentPerViewer = marginal(run.viewers);
        if (current.whepLoadArgs) {
          run.viewersWhep = [];
          for (const n of SMOKE ? [Math.max(...VIEWERS)] : VIEWERS) {
            const summary = await measureViewers(current, n, DURATION, current.whepLoadArgs);
            run.viewersWhep.push(summary);
            console.error(`bench:   ${n} WHEP viewers: ${fmt(summary.server?.cpu_percent_of_one_core)} % CPU, loss ${fmt(summary.peers?.loss_percent, 2)} %`);
            if (summary.exitCode !== 0) failures.push(`${name} ${codec} ${n} WHEP viewers: ${summary.failure}`);
          }
          run.marginalCpuPercentPerWhepViewer = marginal(run.viewersWhep);
        }
      } catch (e) {
        run.error = e.message;
        failures.push(`${name} ${codec}: ${e.message}`);
        console.error(`bench: ${name} ${codec} failed: ${e.message}`);
      } finally {
        if (current) await current.stop();
        current = null;
      }
    }
    const runsOk = results.runs.filter((r) => r.codec === codec && !r.error).map((r) => r.server);
    if (runsOk.includes('periscope') && runsOk.includes('janus') && COMPARE_ROUNDS > 0) {
      const compare = await compareServers(codec);
      results.comparisons.push(compare);
      if (compare.error) failures.push(`${codec} comparison: ${compare.error}`);
    }
  }
} finally {
  await cleanUp();
}

// --- the report --------------------------------------------------------------

const lines = [];
const out = (s = '') => lines.push(s);
out(`Run ${results.date} on ${results.machine.cpus} × ${results.machine.model}; ` +
  `${opts.width}×${opts.height}@${opts.framerate}, ${opts.bitrate} kbit/s, test pattern, software encoders.`);
out();
out('Glass-to-glass latency (capture → expected on screen, headless Chromium), ms:');
out();
out('| codec | server | frames | p50 | p95 | max | p50 of each round | capture → received p50 / p95 | jitter buffer avg | decode avg |');
out('| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
for (const r of results.runs) {
  const l = r.latency;
  if (l) out(`| ${r.codec} | ${r.server} | ${l.frames} | ${fmt(l.p50)} | ${fmt(l.p95)} | ${fmt(l.max)} | ${l.roundP50.map((x) => fmt(x)).join(' / ')} | ${fmt(l.receiveP50)} / ${fmt(l.receiveP95)} | ${fmt(l.inbound?.jitterBufferMs)} | ${fmt(l.inbound?.decodeMs)} |`);
}
out();
out(`Time to first frame, median of ${LOADS} fresh page loads (min–max), ms:`);
out();
out('| codec | server | client | from navigation | from signalling start |');
out('| --- | --- | --- | ---: | ---: |');
for (const r of results.runs) {
  const rows = [['page, stream watched', r.firstFrame], ['WHEP, stream watched', r.firstFrameWhep],
    ['page, nobody watching', r.firstFrameCold]];
  for (const [what, f] of rows) {
    if (f) out(`| ${r.codec} | ${r.server} | ${what} | ${fmt(f.navigationMedian, 0)} (${fmt(f.navigationMin, 0)}–${fmt(f.navigationMax, 0)}) | ${fmt(f.signallingMedian, 0)} |`);
  }
}
out();
out(`Viewers (psc-bench-load, ${DURATION} s each; CPU is user+sys in % of one core, for Janus including its feeder):`);
out();
out('| codec | server | viewers | connected | CPU % | RSS MiB | loss % | frames/s per viewer (min / median) |');
out('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of results.runs) {
  for (const [server, summaries] of [[r.server, r.viewers], [`${r.server} (WHEP)`, r.viewersWhep]]) {
    for (const v of summaries || []) {
      out(`| ${r.codec} | ${server} | ${v.viewers} | ${v.connected} | ${fmt(v.server?.cpu_percent_of_one_core)} | ${fmt((v.server?.rss_kib ?? NaN) / 1024)} | ${fmt(v.peers?.loss_percent, 2)} | ${fmt(v.peers?.frames_per_s?.min)} / ${fmt(v.peers?.frames_per_s?.median)} |`);
    }
  }
}
out();
for (const c of results.comparisons) {
  if (!c.rounds.length) continue;
  out(`${c.codec}: periscope (page viewers, and WHEP viewers) against Janus (plus its feeder) at ${c.viewers} viewers, ${c.rounds.length} alternating rounds of ${c.durationS} s:`);
  out();
  out('| round | periscope CPU % | periscope WHEP CPU % | Janus CPU % | ratio | WHEP ratio | periscope RSS MiB | periscope WHEP RSS MiB | Janus RSS MiB |');
  out('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  c.rounds.forEach((r, i) => out(`| ${i + 1} | ${fmt(r.periscope.cpuPercent)} | ${fmt(r.whep.cpuPercent)} | ${fmt(r.janus.cpuPercent)} | ` +
    `${fmt(r.periscope.cpuPercent / r.janus.cpuPercent, 2)} | ${fmt(r.whep.cpuPercent / r.janus.cpuPercent, 2)} | ` +
    `${fmt(r.periscope.rssKiB / 1024)} | ${fmt(r.whep.rssKiB / 1024)} | ${fmt(r.janus.rssKiB / 1024)} |`));
  out(`| median | ${fmt(c.periscopeCpuMedian)} | ${fmt(c.whepCpuMedian)} | ${fmt(c.janusCpuMedian)} | ${fmt(c.cpuRatioMedian, 2)} | ${fmt(c.whepCpuRatioMedian, 2)} | ` +
    `RSS ratio ${fmt(c.rssRatioMedian, 2)} | WHEP RSS ratio ${fmt(c.whepRssRatioMedian, 2)} | |`);
  out();
}
for (const r of results.runs) {
  if (r.marginalCpuPercentPerViewer !== undefined) out(`- ${r.codec} ${r.server}: marginal CPU ${fmt(r.marginalCpuPercentPerViewer, 2)} % of one core per added viewer`);
  if (r.marginalCpuPercentPerWhepViewer != null) out(`- ${r.codec} ${r.server}: marginal CPU ${fmt(r.marginalCpuPercentPerWhepViewer, 2)} % of one core per added WHEP viewer`);
  if (r.idle) out(`- ${r.codec} ${r.server}: idle (no viewer) ${fmt(r.idle.cpuPercent, 2)} % CPU over ${r.idle.seconds} s, RSS ${fmt(r.idle.rssKiB / 1024)} MiB`);
}
for (const codec of CODECS) {
  const p = results.runs.find((r) => r.codec === codec && r.server === 'periscope');
  const j = results.runs.find((r) => r.codec === codec && r.server === 'janus');
  if (!p || !j || !p.latency || !j.latency) continue;
  const ratio = (a, b) => (a != null && b ? fmt(a / b, 2) : '–');
  const lastP = p.viewers?.at(-1);
  const lastJ = j.viewers?.at(-1);
  const compared = results.comparisons.find((c) => c.codec === codec && c.rounds.length);
  out(`- ${codec} periscope/Janus: latency p50 ${ratio(p.latency.p50, j.latency.p50)}, p95 ${ratio(p.latency.p95, j.latency.p95)}, ` +
    `capture → received p95 ${ratio(p.latency.receiveP95, j.latency.receiveP95)}, ` +
    `first frame ${ratio(p.firstFrame?.navigationMedian, j.firstFrame?.navigationMedian)}` +
    (compared ? `, CPU at ${compared.viewers} viewers ${fmt(compared.cpuRatioMedian, 2)} and RSS ${fmt(compared.rssRatioMedian, 2)}, ` +
      `WHEP viewers ${fmt(compared.whepCpuRatioMedian, 2)} and ${fmt(compared.whepRssRatioMedian, 2)} (medians of ${compared.rounds.length} alternating rounds)`
      : lastP && lastJ ? `, CPU at ${lastP.viewers} viewers ${ratio(lastP.server?.cpu_percent_of_one_core, lastJ.server?.cpu_percent_of_one_core)}, RSS ${ratio(lastP.server?.rss_kib, lastJ.server?.rss_kib)}` : ''));
}
console.log(lines.join('\n'));
if (opts.json) await writeFile(opts.json, JSON.stringify(results, null, 2) + '\n');
if (failures.length) {
  console.error(`bench: ${failures.length} measurement(s) failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
