#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Chat over an RTCDataChannel with the camera, from real Chromium pages (docs/protocol.md,
// "Chat over a data channel"): a viewer that joins with ?datachannel=1 chats over the channel
// the camera opens, a second viewer over one it opens itself, and a third over the
// WebSocket; each one's text reaches the two others, and the video plays throughout.
//
//   node datachannel-test.mjs --daemon PATH [--verbose]
//
// Prints TAP-style lines and exits 0 on pass, 1 on fail; ends what it started either way.

import { chromium, chromiumLaunchOptions } from './chromium.mjs';
import { startProcess } from './process.mjs';
import { createTap, daemonOptions, runTest } from './tap.mjs';

const URL_TIMEOUT_MS = 20_000;
const WAIT_MS = 15_000;
const MIN_FRAMES = 15;

const opts = daemonOptions('datachannel-test.mjs');
const tap = createTap();
const { ok } = tap;

// --- in the page: a viewer of the camera written against the protocol alone ---------------

// @channel: 'camera' (the camera's channel, from ondatachannel), 'page' (one labelled chat
// that this page opens once it has the offer) or 'none' (chat over the WebSocket).
function startViewer({ name, channel }) {
  const query = new URLSearchParams({ name, ...(channel !== 'none' ? { datachannel: '1' } : {}) });
  const ws = new WebSocket(`ws://${location.host}/ws/camera?${query}`);
  const pc = new RTCPeerConnection();
  const state = { ws, pc, channel: null, onChannel: [], onSocket: [], open: false };
  window.viewer = state;
  const use = (ch) => {
    state.channel = ch;
    ch.onopen = () => { state.open = true; };
    ch.onmessage = (ev) => state.onChannel.push(ev.data);
  };
  // Played as a page plays it: a muted, autoplaying video element.
  pc.ontrack = (ev) => {
    const video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
    video.srcObject = new MediaStream([ev.track]);
    document.body.append(video);
    video.play().catch(() => {});
  };
  if (channel === 'camera') pc.ondatachannel = (ev) => { if (ev.channel.label === 'chat') use(ev.channel); };
  pc.onicecandidate = (ev) => {
    if (ev.candidate) ws.send(JSON.stringify({ type: 'ice_candidate', candidate: ev.candidate.toJSON() }));
  };
  ws.onmessage = async (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'chat') state.onSocket.push(m);
    if (m.type === 'offer') {
      await pc.setRemoteDescription(m.offer);
      if (channel === 'page') use(pc.createDataChannel('chat'));
      await pc.setLocalDescription();
      ws.send(JSON.stringify({ type: 'answer', answer: { type: 'answer', sdp: pc.localDescription.sdp } }));
    } else if (m.type === 'ice_candidate' && m.candidate) {
      await pc.addIceCandidate(m.candidate);
    }
  };
}

async function framesIn() {
  let frames = 0;
  (await window.viewer.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded;
  });
  return frames;
}

// --- the test ------------------------------------------------------------------------

async function main(run) {
  const daemon = run.daemon = startProcess('the daemon', opts.daemon, ['--bind', '127.0.0.1', '--port', '0',
    '--ice-address', '127.0.0.1', '--codec', 'h264', '--width', '320', '--height', '240',
    '--framerate', '15', '--data-dir', run.dir]);
  const base = (await daemon.waitFor(/^periscope: open (http:\/\/\S+)/, URL_TIMEOUT_MS))[1];
  const browser = run.browser = await chromium.launch(chromiumLaunchOptions('127.0.0.1'));
  const viewers = {};
  for (const [name, channel] of [['Dee', 'camera'], ['Pat', 'page'], ['Walt', 'none']]) {
    const page = await (await browser.newContext()).newPage();
    // A page of the daemon's own origin that starts nothing by itself.
    await page.goto(new URL('healthz', base).href);
    await page.evaluate(startViewer, { name, channel });
    viewers[name] = page;
  }
  const { Dee: dee, Pat: pat, Walt: walt } = viewers;

  for (const [name, page] of [['Dee', dee], ['Pat', pat]]) {
    const open = await page.waitForFunction(() => window.viewer.open, null, { timeout: WAIT_MS })
      .then(() => true, () => false);
    ok(open, `${name}'s chat data channel is open (${name === 'Dee' ? "the camera's" : 'opened by the page'})`);
  }

  const says = async (page, text) => page.evaluate((t) => window.viewer.channel.send(t), text);
  // What a page has received of @text: over its channel (a chat message as JSON) or its socket.
  const received = (page, text, where) => page.waitForFunction(([t, w]) => {
    const v = window.viewer;
    const list = w === 'channel' ? v.onChannel.map((d) => { try { return JSON.parse(d); } catch (_) { return {}; } }) : v.onSocket;
    return list.find((m) => m.type === 'chat' && m.text === t) || false;
  }, [text, where], { timeout: WAIT_MS }).then((h) => h.jsonValue(), () => null);

  await says(dee, 'hello from the camera channel');
  const atWalt = await received(walt, 'hello from the camera channel', 'socket');
  ok(atWalt && atWalt.name === 'Dee', `Walt (WebSocket) gets Dee's channel text, with her name (${atWalt && atWalt.name})`);
  ok(await received(pat, 'hello from the camera channel', 'channel'), "Pat gets it on his own channel");
  const back = await received(dee, 'hello from the camera channel', 'channel');
  ok(back && Number.isInteger(back.id) && /^\d{4}-\d\d-\d\dT/.test(back.time || ''),
    `Dee gets it back on hers, stamped (id ${back && back.id}, time ${back && back.time})`);

  await says(pat, "and from the page's own");
  const atDee = await received(dee, "and from the page's own", 'channel');
  ok(atDee && atDee.name === 'Pat', `Dee gets the text from Pat's own channel (${atDee && atDee.name})`);
  ok(await received(walt, "and from the page's own", 'socket'), 'Walt gets it too');

  await walt.evaluate(() => window.viewer.ws.send(JSON.stringify({ type: 'chat', text: 'over the socket' })));
  ok(await received(dee, 'over the socket', 'channel') && await received(pat, 'over the socket', 'channel'),
    "Walt's WebSocket chat reaches both channels");

  // Still rising: more frames within 5 s (a loaded machine may stall a second or two).
  for (const [name, page] of Object.entries(viewers)) {
    const first = await page.evaluate(framesIn);
    let then = first;
    for (const end = Date.now() + 5000; Date.now() < end && !(then > MIN_FRAMES && then > first);) {
      await page.waitForTimeout(250);
      then = await page.evaluate(framesIn);
    }
    ok(then > MIN_FRAMES && then > first, `${name}'s video plays throughout (${first} → ${then} frames)`);
  }
}

await runTest(tap, opts, 'dc', main);
