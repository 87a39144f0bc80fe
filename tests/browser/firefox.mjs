// SPDX-License-Identifier: LGPL-2.1-or-later
// Headless Debian Firefox ESR as the tests launch it: quiet on the network (a fresh
// profile, no updates, telemetry, safe browsing or OpenH264 download; names other than the
// test's host fail at once), WebRTC host candidates left as addresses, autoplay allowed;
// driven by puppeteer-core over WebDriver BiDi.
//
// Used by tests/browser/viewer-test.mjs (`--browser firefox`); puppeteer-core resolves from
// this folder's node_modules (`npm ci` here).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let puppeteer;
try {
  ({ default: puppeteer } = await import('puppeteer-core'));
} catch (e) {
  console.error(`cannot load puppeteer-core (${e.code || e.message}): run \`npm ci\` in ${new URL('.', import.meta.url).pathname}`);
  process.exit(1);
}

export const FIREFOX = '/usr/bin/firefox-esr';

// about:config preferences for @host: every other name resolves nowhere.
export function firefoxPrefs(host) {
  return {
    // The daemon gathers on 127.0.0.1 only and cannot resolve mDNS *.local names.
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    'media.peerconnection.ice.loopback': true,
    // The page plays without a click.
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
    // No traffic off loopback: no updates (the browser's, add-ons', OpenH264's), no
    // telemetry, no safe-browsing lists, no captive-portal or connectivity checks, no
    // remote settings, no prefetching, no DNS over HTTPS.
    'app.update.enabled': false,
    'app.update.auto': false,
    'extensions.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'media.gmp-manager.updateEnabled': false,
    'media.gmp-gmpopenh264.autoupdate': false,
    'media.gmp-widevinecdm.enabled': false,
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.server': '',
    'datareporting.healthreport.uploadEnabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.downloads.enabled': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.provider.google4.updateURL': '',
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'services.settings.server': 'http://127.0.0.1:9/',
    'network.prefetch-next': false,
    'network.dns.disablePrefetch': true,
    'network.http.speculative-parallel-limit': 0,
    'network.trr.mode': 5,
    'network.dns.localDomains': host,
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'browser.aboutwelcome.enabled': false,
    'browser.newtabpage.enabled': false,
    'browser.topsites.contile.enabled': false,
    'geo.enabled': false,
    'network.proxy.type': 0,
  };
}

// Preferences giving pages a fake camera and microphone (a test pattern and a tone) without
// asking: what Chromium's --use-fake-device-for-media-stream --use-fake-ui-for-media-stream do.
export const FAKE_MEDIA_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
};

// Launches Firefox ESR headless with a fresh profile of its own (removed on close), with
// @extraPrefs on top of firefoxPrefs(@host); @acceptInsecureCerts: a self-signed
// certificate is taken, as by a user who accepted it.
// Returns puppeteer's Browser; browser.close() ends it by its own PID.
export async function launchFirefox(host, extraPrefs = {}, { acceptInsecureCerts = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'periscope-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: { ...firefoxPrefs(host), ...extraPrefs },
    acceptInsecureCerts,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  // Once Firefox has exited, not when the connection drops: it writes its session files
  // into the profile while it shuts down, and a removal racing that had left 223 profiles in
  // this machine's /tmp.
  const firefox = browser.process();
  const removeProfile = () => rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  if (firefox && firefox.exitCode === null && firefox.signalCode === null) firefox.once('exit', removeProfile);
  else browser.once('disconnected', removeProfile);
  return browser;
}
