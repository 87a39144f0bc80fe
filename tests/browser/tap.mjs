// SPDX-License-Identifier: LGPL-2.1-or-later
// TAP-style reporting for the small browser tests (origin-test.mjs, tls-test.mjs): numbered
// `ok` / `not ok` lines with the details of a failure under them, and the plan at the end.

export function createTap() {
  const tap = { count: 0, failed: 0 };
  tap.ok = (cond, what, details = '') => {
    tap.count++;
    if (!cond) tap.failed++;
    console.log(`${cond ? 'ok' : 'not ok'} ${tap.count} - ${what}`);
    if (!cond && details) for (const line of String(details).split('\n')) console.log(`#   ${line}`);
    return cond;
  };
  // Prints the plan and sets the exit status: 0 on pass, 1 on fail.
  tap.end = () => {
    console.log(`1..${tap.count}`);
    process.exitCode = tap.failed ? 1 : 0;
  };
  return tap;
}

// Runs in periscope's own page: frames decoded so far by its peer connection.
export async function framesInPage() {
  const pc = window.periscope && window.periscope.pc;
  if (!pc) return 0;
  let frames = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded;
  });
  return frames;
}
