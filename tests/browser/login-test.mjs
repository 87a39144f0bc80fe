#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Accounts in a real browser: with --users, headless Chromium opening periscope's page is sent
// to the login page; a wrong password is told so; the right one leads back to the page, whose
// WebSocket (with the session cookie) plays the video. The cookie is not readable by scripts.
//
//   node login-test.mjs --daemon PATH [--screenshot FILE.png] [--verbose]
//
// Prints TAP-style lines and exits 0 on pass, 1 on fail; ends what it started either way.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, chromiumLaunchOptions } from './chromium.mjs';
import { startProcess } from './process.mjs';
import {
  createTap, daemonOptions, runTest, submitLogin, TEST_VIEWER, waitForFrames,
} from './tap.mjs';

const URL_TIMEOUT_MS = 20_000;
const PLAY_TIMEOUT_MS = 15_000;
const MIN_FRAMES = 30;

const opts = daemonOptions('login-test.mjs', { screenshot: { type: 'string' } }, '[--screenshot FILE.png]');

const tap = createTap();
const { ok } = tap;

await runTest(tap, opts, 'login', async (run) => {
  writeFileSync(join(run.dir, 'users'), TEST_VIEWER.line, { mode: 0o600 });
  const daemon = run.daemon = startProcess('the daemon', opts.daemon, ['--bind', '127.0.0.1',
    '--port', '0', '--ice-address', '127.0.0.1', '--codec', 'h264', '--width', '320',
    '--height', '240',    '--users', join(run.dir, 'users')]);
  const url = (await daemon.waitFor(/^periscope: open (http:\/\/\S+)/, URL_TIMEOUT_MS))[1];
  ok(daemon.lines.some((l) => l.startsWith('periscope: accounts on')),
    'the daemon says at start-up that accounts are on');

  const browser = run.browser = await chromium.launch(chromiumLaunchOptions('127.0.0.1'));
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: 'load', timeout: 10_000 });
  ok(new URL(page.url()).pathname === '/login', `the page sends to the login page (${page.url()})`);

  await submitLogin(page, TEST_VIEWER.user, 'wrong');
  const message = await page.textContent('.message');
  ok(message.includes('Wrong user name or password'), `a wrong password is told so ("${message}")`);
  if (opts.screenshot) await page.screenshot({ path: opts.screenshot });

  await submitLogin(page, TEST_VIEWER.user, TEST_VIEWER.password);
  ok(new URL(page.url()).pathname === '/', `logged in, back on the page (${page.url()})`);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'periscope_session');
  // Plain HTTP: a Secure cookie would never be sent back (tls-test.mjs checks it is Secure
  // over HTTPS).
  ok(session && session.httpOnly && session.sameSite === 'Strict' && !session.secure,
    'the session cookie is HttpOnly and SameSite=Strict (not Secure over http:)', JSON.stringify(cookies));
  ok(!(await page.evaluate(() => document.cookie)).includes('periscope_session'),
    'scripts cannot read the session cookie');

  const frames = await waitForFrames(page, MIN_FRAMES, PLAY_TIMEOUT_MS);
  ok(frames >= MIN_FRAMES, `the page plays once logged in (${frames} frames decoded)`);
});
