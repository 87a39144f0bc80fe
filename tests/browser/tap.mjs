// SPDX-License-Identifier: LGPL-2.1-or-later
// What the short browser tests (origin-test.mjs, login-test.mjs, tls-test.mjs,
// datachannel-test.mjs) share: their command line, TAP-style lines, how a test runs and ends
// what it started, and how many frames periscope's page has decoded, waited for.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

// A viewer account for the tests with --users: the line of its users file, and how to log in.
// The hash is "secret1"'s, made by `periscope --hash-password=viewer1` (yescrypt).
export const TEST_VIEWER = {
  user: 'viewer1',
  password: 'secret1',
  line: 'viewer1:$y$j9T$9/7GG9.Tgpa5kbjMIUs1O0$2P5mYqd5DBUrGVAl/cneBx1m208Tr1vLktjLAPKsw6/:viewer\n',
};

// Fills in periscope's login page in @page and sends it, as a person would; resolves once the
// browser has followed the answer.
export async function submitLogin(page, user, password) {
  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation({ timeout: 10_000 }), page.click('button[type=submit]')]);
}

// The short tests' command line: --daemon PATH [--verbose], and @more parseArgs options;
// without --daemon, prints `usage: node SCRIPT --daemon PATH @extra [--verbose]` and exits 2.
export function daemonOptions(script, more = {}, extra = '') {
  const { values } = parseArgs({
    options: { daemon: { type: 'string' }, verbose: { type: 'boolean', default: false }, ...more },
  });
  if (!values.daemon) {
    console.error(`usage: node ${script} --daemon PATH${extra ? ` ${extra}` : ''} [--verbose]`);
    process.exit(2);
  }
  return values;
}

// A TAP reporter: ok() prints one test's line (and its details when it failed), end() the
// plan, and sets the exit code.
export function createTap() {
  let count = 0;
  let failed = 0;
  return {
    ok(cond, what, details = '') {
      count++;
      if (!cond) failed++;
      console.log(`${cond ? 'ok' : 'not ok'} ${count} - ${what}`);
      if (!cond && details) for (const line of String(details).split('\n')) console.log(`#   ${line}`);
    },
    get failed() { return failed; },
    end() {
      console.log(`1..${count}`);
      process.exitCode = failed ? 1 : 0;
    },
  };
}

// Runs in periscope's page: frames decoded so far.
export async function framesInPage() {
  const pc = window.periscope && window.periscope.pc;
  if (!pc) return 0;
  let frames = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded;
  });
  return frames;
}

// Polls @page (playwright) until it has decoded @minFrames frames or @timeoutMs is over;
// returns the frames decoded.
export async function waitForFrames(page, minFrames, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let frames = 0;
  while (Date.now() < deadline && frames < minFrames) {
    await sleep(250);
    frames = await page.evaluate(framesInPage).catch(() => 0);
  }
  return frames;
}

// Closes @browser (playwright; may be unset), giving up after 10 s.
export async function closeBrowser(browser) {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(10_000)]);
}

// Stops @daemon (process.mjs; may be unset) and checks that it exits 0 on SIGTERM; prints its
// last lines when anything failed, or always with @verbose.
export async function stopDaemon(tap, daemon, verbose) {
  if (!daemon) return;
  const exit = await daemon.stop();
  tap.ok(exit.code === 0 && !daemon.killedHard, 'the daemon exits with code 0 on SIGTERM',
    `code ${exit.code}, signal ${exit.signal}`);
  if (tap.failed || verbose) daemon.lines.slice(-60).forEach((l) => console.log(`# ${l}`));
}

// Runs a short test's @body(run), and ends it as each of them must: an exception is one
// failing line; then, whatever happened, the browser is closed, what the test handed to
// run.atEnd() is done (in that order), the daemon stopped (its exit status checked), the
// temporary directory removed, and the plan printed. @body sets run.daemon (process.mjs)
// and run.browser (playwright) as it starts them; run.dir is a fresh temporary directory,
// periscope-@name-XXXXXX.
export async function runTest(tap, opts, name, body) {
  const ends = [];
  const run = {
    daemon: null,
    browser: null,
    dir: mkdtempSync(join(tmpdir(), `periscope-${name}-`)),
    atEnd(fn) { ends.push(fn); },
  };
  try {
    await body(run);
  } catch (e) {
    tap.ok(false, 'test ran to completion', e.stack || e.message);
  } finally {
    await closeBrowser(run.browser);
    for (const end of ends) await end();
    await stopDaemon(tap, run.daemon, opts.verbose);
    rmSync(run.dir, { recursive: true, force: true });
    tap.end();
  }
}
