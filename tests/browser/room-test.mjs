#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// The call page (/room/{id}) in real browsers: pages with fake cameras and microphones join one
// room that has the daemon's camera; each must decode video from every other page and from
// the room's camera, and receive every other page's audio. Then one page leaves and the others
// must drop its tile.
//
//   node room-test.mjs --daemon PATH [--chromium N] [--firefox] [--leave] [--chat]
//       [--screenshot FILE.png] [--verbose]
//
// --chromium N: that many Chromium pages, each in a browser context of its own (3 by
// default); --firefox: one Firefox ESR page more (puppeteer-core over WebDriver BiDi), which
// must get VP8 from the camera; --leave: the last Chromium page leaves; --chat: broadcast and
// private messages between the Chromium pages, in order (with --leave, the page that left comes
// back in a fresh page and gets the room's chat history). --screenshot: the first page once
// everyone decodes everyone (and has chatted); the Firefox page's with --firefox.
//
// Prints TAP-style lines and exits 0 on pass, 1 on fail; ends what it started either way.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium, chromiumLaunchOptions } from './chromium.mjs';
import { FAKE_MEDIA_PREFS, launchFirefox } from './firefox.mjs';
import { startProcess } from './process.mjs';
import { closeBrowser, createTap, stopDaemon } from './tap.mjs';

const URL_TIMEOUT_MS = 20_000;
const OPEN_TIMEOUT_MS = 30_000;   // the lobby loaded, with the fake camera and microphone
const CALL_TIMEOUT_MS = 25_000;   // every page joined → every track decoding
const LEAVE_TIMEOUT_MS = 10_000;  // a page leaves → its tile gone everywhere
const CHAT_TIMEOUT_MS = 15_000;  // sent → shown on every page (2–3 s with four browsers on two cores)
const MIN_FRAMES = 15;            // per inbound video track
const MIN_GAP_MS = 1_000;         // "still rising" is judged over at least this
// --chat: what Alice says to everyone, in this order.
const BROADCASTS = ['hello everyone', 'number 1', 'number 2', 'number 3'];

const { values: opts } = parseArgs({
  options: {
    daemon: { type: 'string' },
    chromium: { type: 'string', default: '3' },
    firefox: { type: 'boolean', default: false },
    leave: { type: 'boolean', default: false },
    chat: { type: 'boolean', default: false },
    screenshot: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const chromiumPages = Number(opts.chromium);
if (!opts.daemon || !Number.isInteger(chromiumPages) || chromiumPages < 1 || chromiumPages > 4 ||
    (opts.leave && chromiumPages < 2) || (opts.chat && chromiumPages < 2)) {
  console.error('usage: node room-test.mjs --daemon PATH [--chromium 1..4] [--firefox] [--leave] [--chat] [--screenshot FILE.png] [--verbose]');
  console.error('(--leave and --chat need two Chromium pages at least)');
  process.exit(2);
}

const tap = createTap();
const { ok } = tap;
const comment = (text) => String(text).split('\n').forEach((l) => console.log(`# ${l}`));
const started = Date.now();
const since = () => `+${((Date.now() - started) / 1000).toFixed(1)} s`;

// --- in the page -------------------------------------------------------------

// What one page receives: for each other peer, its kind, connection state, video frames
// decoded (and the codec), audio packets received; and the tiles it shows.
async function sampleInPage() {
  const p = window.periscope;
  if (!p) return { error: 'no window.periscope' };
  const peers = [];
  for (const peer of p.peers) {
    const r = { id: peer.id, name: peer.name, kind: peer.kind, connection: peer.pc ? peer.pc.connectionState : 'none',
      signaling: peer.pc ? peer.pc.signalingState : 'none', gathering: peer.pc ? peer.pc.iceGatheringState : 'none',
      frames: 0, audio: 0, codec: null, candidates: '' };
    if (peer.pc) {
      const report = await peer.pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          r.frames = s.framesDecoded || 0;
          const c = s.codecId && report.get(s.codecId);
          r.codec = c ? c.mimeType : null;
        } else if (s.kind === 'audio') {
          r.audio = s.packetsReceived || 0;
        }
      });
      let local = 0; let remote = 0; let pairs = 0;
      report.forEach((s) => {
        if (s.type === 'local-candidate') local++;
        if (s.type === 'remote-candidate') remote++;
        if (s.type === 'candidate-pair') pairs++;
        if (s.type === 'outbound-rtp' && s.kind === 'video') r.sending = `${s.frameWidth || 0}x${s.frameHeight || 0}@${s.framesPerSecond || 0} ${s.qualityLimitationReason || ''}`;
      });
      r.candidates = `${local}/${remote}/${pairs}`;
    }
    peers.push(r);
  }
  return {
    id: p.peerId,
    status: document.getElementById('status').textContent,
    tiles: [...document.querySelectorAll('#tiles .tile')].map((t) => t.dataset.peer),
    peers,
  };
}

// --- pages ---------------------------------------------------------------------

const pages = [];   // { label, engine, page, log: [] }
let chromiumBrowser = null;
let firefoxBrowser = null;
let daemon = null;

function watch(label, engine, page) {
  const entry = { label, engine, page, log: [] };
  page.on('console', (m) => entry.log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => entry.log.push(`[pageerror] ${e.message}`));
  pages.push(entry);
  return entry;
}

// Opens the room page (the lobby) and waits for the fake camera and microphone: the button
// says "Join" when they are there.
async function open(entry, roomUrl) {
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  await entry.page.goto(roomUrl, { waitUntil: 'load', timeout: OPEN_TIMEOUT_MS });
  await waitInPage(entry, () => window.periscope && window.periscope.localStream &&
    document.getElementById('join').textContent === 'Join', null, Math.max(1000, deadline - Date.now()));
}

// Types the name and joins.
async function join(entry) {
  await entry.page.evaluate((n) => { document.getElementById('name').value = n; }, entry.label);
  await entry.page.click('#join');
}

// Firefox's puppeteer and Chromium's playwright order waitForFunction's arguments apart.
function waitInPage(entry, fn, arg, timeout) {
  return entry.engine === 'firefox' ? entry.page.waitForFunction(fn, { timeout }, arg)
    : entry.page.waitForFunction(fn, arg, { timeout });
}

// A page passes when every other page and the camera are in its peers, each video track
// decoding (over MIN_FRAMES and rising), each browser's audio arriving (rising).
function check(entry, history, expected) {
  const last = history[history.length - 1];
  if (!last || !last.peers) return { pass: false, why: ['no sample'] };
  const why = [];
  for (const id of expected) {
    const now = last.peers.find((p) => p.id === id);
    if (!now) { why.push(`${id}: not among the peers`); continue; }
    const before = history.filter((s) => last.t - s.t >= MIN_GAP_MS).map((s) => s.peers.find((p) => p.id === id)).filter(Boolean).pop();
    if (!(now.frames > MIN_FRAMES && before && now.frames > before.frames)) why.push(`${id} (${now.kind}): video frames ${before ? before.frames : '-'} → ${now.frames}`);
    if (now.kind === 'browser' && !(before && now.audio > before.audio)) why.push(`${id}: audio packets ${before ? before.audio : '-'} → ${now.audio}`);
  }
  return { pass: why.length === 0, why };
}

function describe(sample) {
  if (!sample || !sample.peers) return JSON.stringify(sample);
  return sample.peers.map((p) => `${p.name}[${p.kind} ${p.connection} ${p.signaling} ${p.gathering} candidates local/remote/pairs ${p.candidates}] sending ${p.sending || '-'} frames=${p.frames} audio=${p.audio} ${p.codec || ''}`).join('; ');
}

// Polls every page until each decodes every other one and the camera, or time is up.
// Each page's peer id is read from its latest sample: a page that had to reconnect has a new one.
async function waitForCall(entries, cameraId, timeoutMs) {
  const histories = entries.map(() => []);
  const deadline = Date.now() + timeoutMs;
  let results = [];
  let ids = [];
  while (Date.now() < deadline) {
    const samples = await Promise.all(entries.map((e) => e.page.evaluate(sampleInPage).catch((err) => ({ error: err.message }))));
    const t = Date.now();
    samples.forEach((s, i) => histories[i].push({ ...s, t }));
    ids = samples.map((s) => s.id);
    const expectedOf = (i) => [cameraId, ...ids.filter((_, j) => j !== i)];
    results = entries.map((e, i) => check(e, histories[i], expectedOf(i)));
    if (results.every((r) => r.pass)) break;
    await sleep(500);
  }
  return { ids, histories, results };
}

// The daemon's --data-dir: the chat database.
const dataDir = mkdtempSync(joinPath(tmpdir(), 'periscope-room-'));

async function main() {
  daemon = startProcess('the daemon', opts.daemon, ['--bind', '127.0.0.1', '--port', '0',
    '--ice-address', '127.0.0.1', '--codec', 'h264', '--width', '320', '--height', '240',
    '--framerate', '15', '--data-dir', dataDir]);
  const base = (await daemon.waitFor(/^periscope: open (http:\/\/\S+)/, URL_TIMEOUT_MS))[1];
  // A call room with the stream's camera as a peer (POST /api/rooms, docs/protocol.md).
  const made = await fetch(new URL('api/rooms', base), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Standup', stream: 'camera' }),
  });
  const room = await made.json();
  ok(made.status === 201 && room.page_url === `/room/${room.id}` && room.stream === 'camera',
    `POST /api/rooms makes a room with the camera (${made.status} ${room.page_url})`, JSON.stringify(room));
  const cameraId = room.stream;
  const roomUrl = new URL(room.page_url, base).href;
  comment(`room page: ${roomUrl} (${since()})`);

  const launched = Promise.all([
    chromium.launch({
      ...chromiumLaunchOptions('127.0.0.1'),
      args: [...chromiumLaunchOptions('127.0.0.1').args,
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    }).then((b) => { chromiumBrowser = b; }),
    opts.firefox ? launchFirefox('127.0.0.1', FAKE_MEDIA_PREFS).then((b) => { firefoxBrowser = b; }) : null,
  ]);
  await launched;
  const names = ['Alice', 'Bob', 'Carol', 'Dave'];
  // The page the screenshot is of in a laptop's window; the others in a small one: each
  // browser here draws its tiles in software, on the same two cores.
  const viewport = (shown) => (shown ? { width: 1280, height: 720 } : { width: 800, height: 450 });
  for (let i = 0; i < chromiumPages; i++) {
    // A context each: separate storage, as separate people.
    const context = await chromiumBrowser.newContext({ viewport: viewport(i === 0 && !opts.firefox) });
    watch(names[i], 'chromium', await context.newPage());
  }
  if (opts.firefox) {
    comment(`firefox: ${await firefoxBrowser.version()}`);
    const page = await firefoxBrowser.newPage();
    await page.setViewport(viewport(true));
    watch('Frank', 'firefox', page);
  }
  comment(`browsers up (${since()})`);
  // One after the other: each newcomer offers to those already in (the mesh rule).
  const t0 = Date.now();
  await Promise.all(pages.map((entry) => open(entry, roomUrl)));
  for (const entry of pages) await join(entry);
  comment(`${pages.length} pages joined in ${((Date.now() - t0) / 1000).toFixed(1)} s (${since()})`);

  const t1 = Date.now();
  const { ids, histories, results } = await waitForCall(pages, cameraId, CALL_TIMEOUT_MS);
  comment(`every page decoding every other after ${((Date.now() - t1) / 1000).toFixed(1)} s (${since()})`);
  pages.forEach((entry, i) => {
    const last = histories[i][histories[i].length - 1];
    ok(results[i].pass, `${entry.label} (${entry.engine}) decodes video from the camera and ${pages.length - 1} other page(s), and hears them`,
      [...results[i].why, `last: ${describe(last)}`].join('\n'));
    const camera = last.peers && last.peers.find((p) => p.id === cameraId);
    if (entry.engine === 'firefox') {
      ok(camera && /vp8/i.test(camera.codec || ''), `${entry.label}: the camera's video is VP8 (${camera && camera.codec})`);
    }
    ok(last.tiles && last.tiles.length === pages.length + 1, `${entry.label} shows ${pages.length + 1} tiles (${last.tiles && last.tiles.length})`);
  });
  if (opts.verbose) pages.forEach((e, i) => comment(`${e.label}: ${describe(histories[i][histories[i].length - 1])}`));

  // Alice's buttons as Bob sees them, and as the Firefox page does (another engine).
  if (chromiumPages >= 2) {
    await controls(pages[0], [pages[1], ...pages.filter((e) => e.engine === 'firefox')], ids[0], roomUrl);
  }
  if (opts.chat) await chat(pages.filter((e) => e.engine === 'chromium'), ids);

  if (opts.screenshot) {
    // The call as its first participant sees it, the chat included; with --firefox, as the
    // Firefox page sees it.
    await sleep(500);
    await pages[opts.firefox ? pages.length - 1 : 0].page.screenshot({ path: opts.screenshot });
    comment(`screenshot: ${opts.screenshot}`);
  }

  if (opts.leave) {
    const leaving = pages[chromiumPages - 1];
    const leftId = ids[chromiumPages - 1];
    await leaving.page.click('#leave');
    const others = pages.filter((e) => e !== leaving);
    const gone = await Promise.all(others.map((e) => waitInPage(e,
      (id) => !document.querySelector(`#tiles .tile[data-peer="${id}"]`) &&
        !document.querySelector(`#people li[data-peer="${id}"]`), leftId, LEAVE_TIMEOUT_MS)
      .then(() => true, () => false)));
    for (const [i, e] of others.entries()) {
      const left = gone[i] ? null : await e.page.evaluate(sampleInPage);
      ok(gone[i], `${e.label} drops ${leaving.label}'s tile and list entry once they leave`,
        left && `${leftId} still there: tiles ${left.tiles.join(', ')}; ${describe(left)}`);
    }
    const shown = await leaving.page.evaluate(() => !document.getElementById('ended').hidden &&
      document.getElementById('ended-title').textContent);
    ok(shown === 'You left the call', `${leaving.label} sees "${shown}"`);
    comment(`${leaving.label} left (${since()})`);
    if (opts.chat) {
      // Back with a fresh page: the room's stored chat comes with the join.
      await open(leaving, roomUrl);
      await join(leaving);
      const history = await waitInPage(leaving, () => {
        const texts = [...document.querySelectorAll('#messages .msg .text')].map((m) => m.textContent);
        return texts.length >= 4 && texts;
      }, null, CHAT_TIMEOUT_MS).then((h) => h.jsonValue(), () => null);
      comment(`${leaving.label} back (${since()})`);
      ok(JSON.stringify(history) === JSON.stringify(BROADCASTS),
        `${leaving.label}, back in a fresh page, gets the room's chat history, without the private message`,
        JSON.stringify(history));
    }
  }
}

// Alice's buttons as each of @observers sees them: microphone off (the crossed microphone on
// her tile and in the list), camera off (her initials instead of her picture), both on again;
// Copy link puts the room's address on her clipboard.
async function controls(alice, observers, aliceId, roomUrl) {
  const seenBy = (bob, want) => waitInPage(bob, ([id, w]) => {
    const tile = document.querySelector(`#tiles .tile[data-peer="${id}"]`);
    const item = document.querySelector(`#people li[data-peer="${id}"]`);
    if (!tile || !item) return false;
    const micOff = !tile.querySelector('.mic-off').hidden && !!item.querySelector('[title="Microphone off"]');
    const camOff = tile.classList.contains('no-video') && !!item.querySelector('[title="Camera off"]');
    return JSON.stringify({ micOff, camOff }) === JSON.stringify(w);
  }, [aliceId, want], LEAVE_TIMEOUT_MS).then(() => true, async () => {
    // Why not: what the page knows of Alice, and what her tile shows.
    comment(`${bob.label}'s view of Alice: ${await bob.page.evaluate((id) => {
      const p = window.periscope.peers.find((x) => x.id === id);
      const tile = document.querySelector(`#tiles .tile[data-peer="${id}"]`);
      return JSON.stringify({ audio: p && p.audio, video: p && p.video,
        connection: p && p.pc && p.pc.connectionState, tile: tile && tile.className });
    }, aliceId)}; Alice's tracks: ${await alice.page.evaluate(() => window.periscope.localStream.getTracks().map((t) => `${t.kind}:${t.enabled}`).sort().join(' '))}`);
    return false;
  });
  const seen = async (want, what) => {
    const all = await Promise.all(observers.map((o) => seenBy(o, want)));
    observers.forEach((o, i) => ok(all[i], `${what}: ${o.label} (${o.engine}) sees it`));
  };
  await alice.page.click('#mic');
  await seen({ micOff: true, camOff: false }, 'Alice mutes (her microphone crossed out on her tile and in the list)');
  await alice.page.click('#cam');
  await seen({ micOff: true, camOff: true }, 'Alice turns her camera off (her initials, and the list says so)');
  const sending = await alice.page.evaluate(() => window.periscope.localStream.getTracks().map((t) => `${t.kind}:${t.enabled}`).sort().join(' '));
  ok(sending === 'audio:false video:false', `Alice's tracks are off (${sending})`);
  await alice.page.click('#mic');
  await alice.page.click('#cam');
  await seen({ micOff: false, camOff: false }, 'Alice turns both on again');
  await alice.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(roomUrl).origin });
  await alice.page.click('#copy-link');
  const copied = await alice.page.evaluate(() => navigator.clipboard.readText()).catch((e) => `(${e.message})`);
  const toast = await alice.page.evaluate(() => !document.getElementById('toast').hidden && document.getElementById('toast').textContent);
  ok(copied === roomUrl && /copied/i.test(toast || ''), `Copy link: the clipboard has the room's address (${copied}), and the page says so (${toast})`);
}

// --chat: Alice to everyone, Bob to Alice only, then three in a row from Alice: everyone sees
// the broadcasts in order with the sender's name and a time, only Alice and Bob the private one.
async function chat(entries, ids) {
  const [alice, bob] = entries;
  const messagesIn = (entry) => entry.page.evaluate(() => [...document.querySelectorAll('#messages .msg')]
    .map((m) => ({ from: m.querySelector('.from').textContent, text: m.querySelector('.text').textContent,
      time: m.querySelector('time').textContent, private: m.classList.contains('is-private') })));
  const say = async (entry, text, to) => {
    // A small window starts with the side panel closed: open the chat as a person would.
    if (!(await entry.page.isVisible('#chat-to'))) await entry.page.click('#toggle-chat');
    await entry.page.selectOption('#chat-to', to || '');
    await entry.page.fill('#chat-text', text);
    await entry.page.press('#chat-text', 'Enter');
  };
  await say(alice, BROADCASTS[0]);
  await say(bob, 'psst, Alice', ids[0]);
  for (const text of BROADCASTS.slice(1)) await say(alice, text);
  const want = BROADCASTS;
  const sent = Date.now();
  await Promise.all(entries.map((e) => waitInPage(e, (n) => document.querySelectorAll('#messages .msg').length >= n,
    e === alice || e === bob ? 5 : 4, CHAT_TIMEOUT_MS).then(() => comment(`${e.label} has every message ${Date.now() - sent} ms after the last was sent`), () => {})));
  for (const e of entries) {
    const got = await messagesIn(e);
    const broadcast = got.filter((m) => !m.private).map((m) => m.text);
    ok(JSON.stringify(broadcast) === JSON.stringify(want), `${e.label} gets the broadcasts in order`, JSON.stringify(got));
    ok(got.every((m) => m.from && /\d/.test(m.time)), `${e.label}: each message shows its sender and time`, JSON.stringify(got));
    const priv = got.filter((m) => m.private);
    const shouldSee = e === alice || e === bob;
    ok(shouldSee ? priv.length === 1 && priv[0].text === 'psst, Alice' : priv.length === 0,
      `${e.label} ${shouldSee ? 'sees' : 'does not see'} the private message`, JSON.stringify(priv));
  }
  const fromAlice = (await messagesIn(bob)).find((m) => m.text === 'hello everyone');
  ok(fromAlice && fromAlice.from === 'Alice', `Bob sees Alice's name on her message (${fromAlice && fromAlice.from})`);
}

try {
  await main();
} catch (e) {
  ok(false, 'test ran to completion', e.stack || e.message);
} finally {
  if (tap.failed || opts.verbose) {
    for (const e of pages) {
      comment(`--- ${e.label} (${e.engine}) console, last 30 lines ---`);
      e.log.slice(-30).forEach((l) => comment(l));
    }
  }
  await closeBrowser(chromiumBrowser);
  await closeBrowser(firefoxBrowser);
  comment(`browsers closed (${since()})`);
  await stopDaemon(tap, daemon, opts.verbose);
  comment(`daemon stopped (${since()})`);
  rmSync(dataDir, { recursive: true, force: true });
  tap.end();
}
