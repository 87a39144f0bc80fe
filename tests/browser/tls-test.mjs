#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// HTTPS in a real browser: the daemon started with `--tls self-signed` (a fresh data
// directory), its page opened in headless Chromium by a name that is not localhost: the
// box's host name, as a user on the LAN types it (Chromium is told it resolves to 127.0.0.1;
// the daemon answers to its host name, and to no name it does not know), trusting exactly that
// certificate's key (--ignore-certificate-errors-spki-list with its SPKI SHA-256, not a
// blanket ignore). The page is opened as a user types it, http://, which the HTTPS port
// redirects. With accounts (--users), as a box on a shared network runs: the page sends to
// the login page, and the session cookie it sets is Secure. Once logged in, the page is a
// secure context, signals over wss: and plays; the fingerprint the daemon printed is the
// certificate's; and curl, given that certificate as its only CA, verifies the daemon's at
// the box's own host name (which the certificate must name).
//
//   node tls-test.mjs --daemon PATH [--verbose]
//
// Prints TAP-style lines and exits 0 on pass, 1 on fail; ends what it started either way.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { chromium, chromiumLaunchOptions, trustCertificateArg } from './chromium.mjs';
import { startProcess } from './process.mjs';
import {
  createTap, daemonOptions, framesInPage, runTest, submitLogin, TEST_VIEWER, waitForFrames,
} from './tap.mjs';

const URL_TIMEOUT_MS = 20_000;
const PLAY_TIMEOUT_MS = 20_000;
const MIN_FRAMES = 30;
const MIN_GAP_MS = 1_000;
const CURL_TIMEOUT_MS = 10_000;
const HOST = hostname().toLowerCase();

const opts = daemonOptions('tls-test.mjs');

const tap = createTap();
const { ok } = tap;

// Runs in the page: how it reached the daemon.
function pageContext() {
  return { secure: window.isSecureContext, protocol: location.protocol,
    mediaDevices: typeof navigator.mediaDevices !== 'undefined' };
}

await runTest(tap, opts, 'tls-test', async (run) => {
  writeFileSync(join(run.dir, 'users'), TEST_VIEWER.line, { mode: 0o600 });
  const daemon = run.daemon = startProcess('the daemon', opts.daemon, ['--bind', '127.0.0.1',
    '--port', '0', '--ice-address', '127.0.0.1', '--codec', 'h264', '--width', '320',
    '--height', '240',    '--tls', 'self-signed', '--data-dir', run.dir, '--users', join(run.dir, 'users')]);
  const url = new URL((await daemon.waitFor(/^periscope: open (https:\/\/\S+)/, URL_TIMEOUT_MS))[1]);
  const printed = daemon.lines.map((l) => l.match(/fingerprint ([0-9A-F:]+)$/)).find((m) => m);

  const certificate = new X509Certificate(readFileSync(join(run.dir, 'tls-cert.pem')));
  ok(printed && printed[1] === certificate.fingerprint256,
    'the fingerprint printed at start-up is the certificate\'s',
    `printed ${printed && printed[1]}, certificate ${certificate.fingerprint256}`);
  // curl trusts only this certificate and checks the name, as `curl --cacert` by a user
  // who copied it off the box would: the box's host name, resolved to where the daemon listens.
  const name = hostname();
  const curl = await promisify(execFile)('curl', ['--silent', '--show-error', '--cacert',
    join(run.dir, 'tls-cert.pem'), '--resolve', `${name}:${url.port}:127.0.0.1`,
    '--write-out', '\n%{ssl_verify_result} %{http_code}', `https://${name}:${url.port}/healthz`],
  { timeout: CURL_TIMEOUT_MS }).then(({ stdout }) => stdout.trim().split('\n').pop(), (e) => e.message);
  ok(curl === '0 200', `curl verifies the certificate at https://${name}:${url.port}/ (${curl})`);


  const options = chromiumLaunchOptions('127.0.0.1');
  options.args = options.args.map((arg) => arg.startsWith('--host-resolver-rules=')
    ? `--host-resolver-rules=MAP ${HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`
    : arg);
  options.args.push(trustCertificateArg(join(run.dir, 'tls-cert.pem')));
  const browser = run.browser = await chromium.launch(options);

  const page = await browser.newPage();
  const pageUrl = `https://${HOST}:${url.port}/`;
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  // As a user types it: http: to the HTTPS port, redirected.
  await page.goto(`http://${HOST}:${url.port}/`, { waitUntil: 'load', timeout: 10_000 });
  ok(page.url() === `${pageUrl}login`,
    `http://${HOST}:${url.port}/ is sent on to https:, to the login page (${page.url()})`);
  await submitLogin(page, TEST_VIEWER.user, TEST_VIEWER.password);
  ok(new URL(page.url()).pathname === '/', `logged in over https:, back on the page (${page.url()})`);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'periscope_session');
  ok(session && session.secure && session.httpOnly && session.sameSite === 'Strict',
    'the session cookie is Secure, HttpOnly and SameSite=Strict', JSON.stringify(cookies));
  let frames = await waitForFrames(page, MIN_FRAMES, PLAY_TIMEOUT_MS);
  const context = await page.evaluate(pageContext);
  ok(context.protocol === 'https:' && context.secure && context.mediaDevices,
    `${pageUrl} is a secure context (navigator.mediaDevices for the call page)`, JSON.stringify(context));
  ok(sockets.length > 0 && sockets.every((s) => s.startsWith(`wss://${HOST}:${url.port}/`)),
    'the page signals over wss:', sockets.join(' '));
  ok(frames >= MIN_FRAMES, `the page plays over https: (${frames} frames decoded)`);
  const before = frames;
  await sleep(MIN_GAP_MS);
  frames = await page.evaluate(framesInPage).catch(() => before);
  ok(frames > before, `framesDecoded keeps rising (${before} → ${frames})`);
});
