// SPDX-License-Identifier: LGPL-2.1-or-later
// Headless Debian Chromium as the tests and the benchmark launch it: quiet on the network
// (loopback only), WebRTC on loopback allowed, driven by playwright-core.
//
// Shared by tests/browser/viewer-test.mjs and bench/run.mjs; playwright-core resolves from
// this folder's node_modules (`npm ci` here).

import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

// Imported dynamically so that a missing install says what to do.
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error(`cannot load playwright-core (${e.code || e.message}): run \`npm ci\` in ${new URL('.', import.meta.url).pathname}`);
  process.exit(1);
}
export { chromium };

export const CHROMIUM = '/usr/bin/chromium';
// Only loopback traffic is allowed on the test machines, and headless
// Chromium is chatty: left alone it resolves Google hosts, sends SSDP
// (Cast/DIAL discovery) to 239.255.255.250 and joins multicast groups.
const DISABLED_FEATURES = [
  // Host candidates would otherwise be random *.local names announced over
  // multicast DNS: traffic off loopback, and the daemon cannot resolve them.
  'WebRtcHideLocalIpsWithMdns',
  // Chromium keeps only the last --disable-features switch, so this one
  // replaces playwright-core's own list: repeat the entries of that list
  // that keep the browser quiet or the test deterministic.
  'MediaRouter', 'DialMediaRouteProvider', 'OptimizationHints', 'NetworkTimeServiceQuerying',
  'AimEnabled', 'PreconnectToSearch', 'Translate', 'AutofillServerCommunication',
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'PaintHolding', 'ThirdPartyStoragePartitioning',
];
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // Chromium leaves the loopback interface out of ICE gathering unless told;
  // the daemon's only candidate is 127.0.0.1.
  '--allow-loopback-in-peer-connection',
  `--disable-features=${DISABLED_FEATURES.join(',')}`,
  '--disable-domain-reliability',
  '--no-pings',
];

// Options for chromium.launch() / launchServer() reaching only @host by name: every other
// name fails at once (no DNS traffic at all). The caller's own signal handlers stay in
// charge, so that what it started (a daemon) is ended before it exits.
export function chromiumLaunchOptions(host) {
  return {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  };
}

// The launch argument that has Chromium trust exactly the key of the PEM certificate at
// @certPath (its SPKI's SHA-256), not any certificate: what a user who accepted the daemon's
// self-signed certificate has.
export function trustCertificateArg(certPath) {
  const certificate = new X509Certificate(readFileSync(certPath));
  const spki = createHash('sha256')
    .update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return `--ignore-certificate-errors-spki-list=${spki}`;
}
