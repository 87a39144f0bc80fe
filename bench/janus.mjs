// SPDX-License-Identifier: LGPL-2.1-or-later
// Starts the Debian `janus` package (1.1.x) as the benchmark's reference server: the Janus
// core, its plain-HTTP transport and its streaming plugin only, fed by RTP over UDP on loopback.
//
//   import { startJanus } from './janus.mjs';
//   const janus = await startJanus({
//     httpPort: 8188,
//     mountpoints: [{ id: 1, codec: 'h264', rtpPort: 5004 }, { id: 2, codec: 'vp8', rtpPort: 5006 }],
//     workDir: '/tmp/bench-janus',
//   });
//   // janus.url === 'http://127.0.0.1:8188/janus'; janus.pid; janus.log (file)
//   await janus.stop();
//
// Every setting is written into workDir (janus.jcfg, janus.transport.http.jcfg,
// janus.plugin.streaming.jcfg); nothing under /etc/janus is read. Network hygiene:
//   - HTTP transport on 127.0.0.1 only; admin API, HTTPS and every other transport off;
//   - every plugin but the streaming plugin off; event handlers and loggers off;
//   - no STUN/TURN, no mDNS resolution, no IPv6; libnice's UPnP is switched off by Janus
//     itself (src/ice.c, janus_ice_setup_local: g_object_set(agent, "upnp", FALSE, NULL));
//   - ICE gathering: see ICE_INTERFACE below;
//   - the mountpoints' RTP sockets bind 127.0.0.1 (videoiface).
//
// videobufferkf (on by default, bufferKeyframe: false turns it off): a joining viewer gets the
// mountpoint's last keyframe at once, but it may be seconds old and the live delta frames that
// follow do not reference it: until the source's next keyframe, H.264 shows a damaged picture
// and VP8 shows garbage or stalls. Janus forwards the viewers' PLIs (about once a second) only
// to a source that sends RTCP to `videortcpport` (rtcpPort), replying to the address that RTCP
// came from; a plain `udpsink` feeder never gets them.

import { setTimeout as sleep } from 'node:timers/promises';

import { startProcess } from '../tests/browser/process.mjs';
import { mkdirSync, openSync, closeSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const JANUS_BIN = '/usr/bin/janus';
const LIBDIR = '/usr/lib/x86_64-linux-gnu/janus';
const FOLDERS = {
  plugins: `${LIBDIR}/plugins`,
  transports: `${LIBDIR}/transports`,
  events: `${LIBDIR}/events`,
  loggers: `${LIBDIR}/loggers`,
};
const KEEP = { plugins: ['libjanus_streaming.so'], transports: ['libjanus_http.so'], events: [], loggers: [] };

// Janus 1.1.2 skips every IFF_LOOPBACK interface while it lists the addresses to gather on
// (src/ice.c, janus_ice_setup_local: "Skip loopback interfaces"), so `ice_enforce_list = "lo"`
// leaves libnice with no address at all and libnice then falls back to every non-loopback
// interface. Janus can therefore not offer a 127.0.0.1 candidate. The strictest setting that
// works is to enforce the machine's one non-loopback IPv4 address (or an explicit one): the
// candidate is a local address of this host, so every packet to it is routed through `lo` by
// the kernel (local routing table) and never reaches the wire (checked with tcpdump on the
// outside interface during a benchmark run: no packet).
export const ICE_INTERFACE = process.env.BENCH_JANUS_ICE_INTERFACE || null;

const CODECS = {
  h264: { videocodec: 'h264', videofmtp: 'profile-level-id=42e01f;packetization-mode=1' },
  vp8: { videocodec: 'vp8', videofmtp: null },
};

function q(s) {
  return JSON.stringify(String(s));
}

// Library files Janus would load from a folder: it loads every "*.so" (not *.so.1 etc.).
function sharedObjects(folder) {
  try {
    return readdirSync(folder).filter((f) => f.endsWith('.so')).sort();
  } catch {
    return [];
  }
}

function disableList(kind) {
  return sharedObjects(FOLDERS[kind]).filter((f) => !KEEP[kind].includes(f)).join(',');
}

function janusJcfg({ workDir, iceEnforce }) {
  return `# Written by bench/janus.mjs: the benchmark's Janus, loopback only.
general: {
	configs_folder = ${q(workDir)}
	plugins_folder = ${q(FOLDERS.plugins)}
	transports_folder = ${q(FOLDERS.transports)}
	events_folder = ${q(FOLDERS.events)}
	loggers_folder = ${q(FOLDERS.loggers)}
	log_to_stdout = true
	debug_level = 4
	debug_timestamps = true
	debug_colors = false
	daemonize = false
	server_name = "bench-janus"
	session_timeout = 60
	interface = "127.0.0.1"
	exit_on_dl_error = false
	protected_folders = [ "/bin", "/boot", "/dev", "/etc", "/initrd", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr", "/var" ]
}
certificates: {
}
media: {
	ipv6 = false
	ipv6_linklocal = false
}
nat: {
	nice_debug = false
	full_trickle = false
	ice_lite = false
	ice_tcp = false
	ignore_mdns = true
	ice_enforce_list = ${q(iceEnforce)}
	ignore_unreachable_ice_server = true
}
plugins: {
	disable = ${q(disableList('plugins'))}
}
transports: {
	disable = ${q(disableList('transports'))}
}
loggers: {
	disable = ${q(disableList('loggers'))}
}
events: {
	broadcast = false
	disable = ${q(disableList('events'))}
}
`;
}

function httpJcfg({ httpPort }) {
  return `# Written by bench/janus.mjs: plain HTTP on 127.0.0.1 only, no admin API.
general: {
	events = false
	json = "plain"
	base_path = "/janus"
	http = true
	port = ${Number(httpPort)}
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_base_path = "/admin"
	admin_http = false
	admin_https = false
}
cors: {
}
`;
}

function streamingJcfg({ mountpoints }) {
  let out = `# Written by bench/janus.mjs: one RTP mountpoint (video only) per benchmark stream.
general: {
	events = false
}
`;
  for (const m of mountpoints) {
    const codec = CODECS[String(m.codec).toLowerCase()];
    if (!codec) throw new Error(`startJanus: mountpoint ${m.id}: unknown codec ${m.codec} (h264 or vp8)`);
    if (!Number.isInteger(m.id) || m.id <= 0) throw new Error(`startJanus: mountpoint id must be a positive integer, got ${m.id}`);
    if (!Number.isInteger(m.rtpPort) || m.rtpPort <= 0) throw new Error(`startJanus: mountpoint ${m.id}: bad rtpPort ${m.rtpPort}`);
    out += `
bench-${m.id}: {
	type = "rtp"
	id = ${m.id}
	description = ${q(m.description || `bench ${codec.videocodec} ${m.rtpPort}`)}
	audio = false
	video = true
	data = false
	videoport = ${m.rtpPort}
	videoiface = "127.0.0.1"
	videopt = 96
	videocodec = ${q(codec.videocodec)}
${codec.videofmtp ? `	videofmtp = ${q(codec.videofmtp)}\n` : ''}	videobufferkf = ${m.bufferKeyframe === false ? 'false' : 'true'}
${Number.isInteger(m.rtcpPort) ? `	videortcpport = ${m.rtcpPort}\n` : ''}}
`;
  }
  return out;
}

// The host's non-loopback IPv4 addresses, by interface (for the ICE enforce list).
async function outsideIPv4() {
  const { networkInterfaces } = await import('node:os');
  const out = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs || []) if (a.family === 'IPv4' && !a.internal) out.push({ name, address: a.address });
  }
  return out;
}

function logTail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}


async function janusInfo(url) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 1000);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ janus: 'info', transaction: 'bench-info' }),
      signal: ctl.signal,
    });
    if (!res.ok) return null;
    const j = await res.json();
    return j && j.janus === 'server_info' ? j : null;
  } catch {
    return null;
  } finally {
    clearTimeout(t);
  }
}

/**
 * Writes a minimal Janus configuration into workDir, starts janus, waits until its HTTP API
 * answers. Returns { pid, url, log, info, iceAddress, stop }.
 *   httpPort    : TCP port of the Janus API on 127.0.0.1
 *   mountpoints : [{ id, codec: 'h264'|'vp8', rtpPort, rtcpPort?, bufferKeyframe? = true }]
 *   workDir     : folder for the configuration and janus.log (created)
 *   iceAddress  : optional: the one address Janus gathers ICE candidates on (default: the
 *                 host's only non-loopback IPv4 address; see ICE_INTERFACE above)
 *   timeoutMs   : optional, default 15000
 */
export async function startJanus({ httpPort, mountpoints, workDir, iceAddress, timeoutMs = 15000 }) {
  if (!Number.isInteger(httpPort) || httpPort <= 0) throw new Error(`startJanus: bad httpPort ${httpPort}`);
  if (!Array.isArray(mountpoints) || mountpoints.length === 0) throw new Error('startJanus: no mountpoints');
  if (!existsSync(JANUS_BIN)) throw new Error(`startJanus: ${JANUS_BIN} missing: apt-get install -y janus`);
  workDir = resolve(workDir);
  mkdirSync(workDir, { recursive: true });

  let iceEnforce = iceAddress || ICE_INTERFACE;
  if (!iceEnforce) {
    const outside = await outsideIPv4();
    if (outside.length === 0) {
      throw new Error('startJanus: no non-loopback IPv4 address for ICE (Janus never gathers on lo); give iceAddress');
    }
    // Enforce the exact address (not the interface) so that one candidate is offered.
    iceEnforce = outside[0].address;
  }

  writeFileSync(join(workDir, 'janus.jcfg'), janusJcfg({ workDir, iceEnforce }));
  writeFileSync(join(workDir, 'janus.transport.http.jcfg'), httpJcfg({ httpPort }));
  writeFileSync(join(workDir, 'janus.plugin.streaming.jcfg'), streamingJcfg({ mountpoints }));

  const log = join(workDir, 'janus.log');
  const fd = openSync(log, 'w');
  const janus = startProcess('janus', JANUS_BIN,
    ['-C', join(workDir, 'janus.jcfg'), '-F', workDir, '--disable-colors', '--debug-timestamps'],
    { cwd: workDir, stdio: ['ignore', fd, fd] });
  closeSync(fd);

  const url = `http://127.0.0.1:${httpPort}/janus`;
  const stop = () => janus.stop();

  const deadline = Date.now() + timeoutMs;
  let info = null;
  while (!info) {
    const exited = janus.exit;
    if (exited) {
      const why = exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`;
      throw new Error(`startJanus: janus exited early (${why}); last lines of ${log}:\n${logTail(log)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`startJanus: janus did not answer on ${url} within ${timeoutMs} ms; last lines of ${log}:\n${logTail(log)}`);
    }
    info = await janusInfo(url);
    if (!info) await sleep(100);
  }

  // The info answer lists the loaded plugins/transports: refuse to run with anything extra.
  const plugins = Object.keys(info.plugins || {});
  const transports = Object.keys(info.transports || {});
  if (plugins.join() !== 'janus.plugin.streaming' || transports.join() !== 'janus.transport.http') {
    await stop();
    throw new Error(`startJanus: unexpected modules loaded: plugins=${plugins} transports=${transports}`);
  }

  return { pid: janus.pid, url, log, info, iceAddress: iceEnforce, stop };
}
