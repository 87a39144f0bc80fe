#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Same-origin by default, in a real browser: a page served from another origin (a second
// HTTP server started here, reached as http://evil.test:PORT — a foreign name Chromium is
// told resolves to 127.0.0.1) tries periscope's WebSocket, WHEP and API from headless
// Chromium and gets nothing, while periscope's own page plays. DNS rebinding too: a page on
// http://rebind.test:PORT, PORT periscope's and the name resolving to periscope's address (as
// the attacker's DNS answers once the page has loaded), is on its own origin to the browser;
// periscope answers nothing made to that name, neither the page nor its same-origin requests;
// in Firefox ESR too (the name given to it as a local domain).
//
//   node origin-test.mjs --daemon PATH [--verbose]
//
// Prints TAP-style lines and exits 0 on pass, 1 on fail; ends what it started either way.

import { createServer } from 'node:http';

import { chromium, chromiumLaunchOptions } from './chromium.mjs';
import { launchFirefox } from './firefox.mjs';
import { startProcess } from './process.mjs';
import { createTap, daemonOptions, runTest, waitForFrames } from './tap.mjs';

const URL_TIMEOUT_MS = 20_000;
const PLAY_TIMEOUT_MS = 20_000;
const MIN_FRAMES = 30;
const FOREIGN_HOST = 'evil.test';
const REBOUND_HOST = 'rebind.test';

const opts = daemonOptions('origin-test.mjs');

const tap = createTap();
const { ok } = tap;

// Runs in the foreign page: what it can get from periscope at @base.
async function tryPeriscope(base) {
  const result = {};
  result.websocket = await new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}ws/camera`);
    const seen = { opened: false, messages: 0 };
    ws.onopen = () => { seen.opened = true; };
    ws.onmessage = () => { seen.messages++; };
    ws.onclose = (e) => resolve({ ...seen, code: e.code });
    setTimeout(() => { ws.close(); resolve({ ...seen, code: 'timeout' }); }, 5000);
  });
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  const offer = await pc.createOffer();
  pc.close();
  for (const [name, url, init] of [
    ['whep', `${base}whep/camera`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp }],
    ['api', `${base}api/streams`, {}],
  ]) {
    try {
      const response = await fetch(url, init);
      result[name] = `answered ${response.status}: ${(await response.text()).slice(0, 80)}`;
    } catch (e) {
      result[name] = `refused: ${e.message}`;
    }
  }
  return result;
}

await runTest(tap, opts, 'origin', async (run) => {
  const daemon = run.daemon = startProcess('the daemon', opts.daemon, ['--bind', '127.0.0.1',
    '--port', '0', '--ice-address', '127.0.0.1', '--codec', 'h264', '--width', '320',
    '--height', '240']);
  const url = (await daemon.waitFor(/^periscope: open (http:\/\/\S+)/, URL_TIMEOUT_MS))[1];

  const foreign = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>another site</title><p>Nothing to see here.');
  });
  run.atEnd(() => foreign.close());
  await new Promise((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  const foreignUrl = `http://${FOREIGN_HOST}:${foreign.address().port}/`;

  const options = chromiumLaunchOptions('127.0.0.1');
  options.args = options.args.map((arg) => arg.startsWith('--host-resolver-rules=')
    ? `--host-resolver-rules=MAP ${FOREIGN_HOST} 127.0.0.1, MAP ${REBOUND_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`
    : arg);
  const browser = run.browser = await chromium.launch(options);

  const evil = await browser.newPage();
  await evil.goto(foreignUrl, { waitUntil: 'load', timeout: 10_000 });
  const got = await evil.evaluate(tryPeriscope, url);
  console.log(`# from ${foreignUrl}: ${JSON.stringify(got)}`);
  ok(!got.websocket.opened && got.websocket.messages === 0,
    'the foreign page\'s WebSocket is refused before it opens', JSON.stringify(got.websocket));
  ok(got.whep.startsWith('refused'), 'the foreign page\'s WHEP POST is refused (its preflight: 403)', got.whep);
  ok(got.api.startsWith('refused'), 'the foreign page cannot read the API', got.api);
  ok(daemon.lines.some((l) => l.includes(`from a page on http://${FOREIGN_HOST}:`)),
    'periscope logs the refusal with the page\'s origin');

  // Rebound: the attacker's name now resolves to the box. Its page and its requests, all
  // same-origin to the browser, are answered 421 without content.
  const reboundUrl = `http://${REBOUND_HOST}:${new URL(url).port}/`;
  const rebound = await browser.newPage();
  const response = await rebound.goto(reboundUrl, { waitUntil: 'load', timeout: 10_000 });
  const shown = await rebound.evaluate(() => document.body.innerText);
  ok(response.status() === 421 && /is not a name of this server/.test(shown),
    `${reboundUrl} gets no page: ${response.status()}, "${shown.trim().slice(0, 60)}…"`);
  const fromRebound = await rebound.evaluate(tryPeriscope, reboundUrl);
  console.log(`# from ${reboundUrl}: ${JSON.stringify(fromRebound)}`);
  ok(!fromRebound.websocket.opened && fromRebound.websocket.messages === 0,
    'the rebound page\'s WebSocket is refused before it opens', JSON.stringify(fromRebound.websocket));
  ok(fromRebound.whep.startsWith('answered 421') && fromRebound.api.startsWith('answered 421'),
    'its WHEP POST and API reads are answered 421, without content', `${fromRebound.whep} / ${fromRebound.api}`);
  ok(daemon.lines.some((l) => l.includes(`made to Host "${REBOUND_HOST}:`)),
    'periscope logs the refusal with the name');

  // The other engine: Firefox resolves the name to loopback (network.dns.localDomains).
  const firefox = await launchFirefox(REBOUND_HOST);
  run.atEnd(() => firefox.close());
  const inFirefox = await firefox.newPage();
  const firefoxResponse = await inFirefox.goto(reboundUrl, { waitUntil: 'load', timeout: 10_000 });
  const firefoxGot = await inFirefox.evaluate(async () => ({
    text: document.body.innerText,
    api: await fetch('/api/streams').then((r) => r.status, (e) => e.message),
  }));
  ok(firefoxResponse.status() === 421 && /is not a name of this server/.test(firefoxGot.text) &&
    firefoxGot.api === 421, `Firefox on ${reboundUrl}: the page ${firefoxResponse.status()}, ` +
    `its API read ${firefoxGot.api}`);

  const own = await browser.newPage();
  await own.goto(url, { waitUntil: 'load', timeout: 10_000 });
  const frames = await waitForFrames(own, MIN_FRAMES, PLAY_TIMEOUT_MS);
  ok(frames >= MIN_FRAMES, `periscope's own page plays (${frames} frames decoded)`);
});
