// SPDX-License-Identifier: LGPL-2.1-or-later
// Child processes of the browser tests and the benchmark (the daemon, Janus, the load
// generator): started, read line by line, waited on, and ended by their own PID only
// (SIGTERM, then SIGKILL after a grace period).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const TERM_GRACE_MS = 5_000;
const running = new Set();   // every process started here and not yet ended

// Starts @command with @args (@options go to child_process.spawn). Returns { name, pid, lines,
// exit, exited, killedHard, waitFor, stop }: lines holds every output line (stderr ones
// prefixed with "[stderr] "), exit is { code, signal } once ended (with error when it could
// not be spawned), killedHard is set when stop() had to use SIGKILL.
export function startProcess(name, command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const proc = { name, child, pid: child.pid, lines: [], exit: null, killedHard: false };
  running.add(proc);
  // Ended once its output is read to the end too ('close', after 'exit'): the last lines a
  // process prints before it exits are often the ones that say why.
  proc.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { proc.exit = { code, signal }; });
    child.on('close', (code, signal) => {
      proc.exit ??= { code, signal };
      running.delete(proc);
      resolve(proc.exit);
    });
    child.on('error', (e) => {
      proc.lines.push(`[spawn] ${e.message}`);
      if (child.pid === undefined) { proc.exit = { code: null, signal: null, error: e }; running.delete(proc); resolve(proc.exit); }
    });
  });
  for (const [stream, prefix] of [[child.stdout, ''], [child.stderr, '[stderr] ']]) {
    // null when the caller sent the output elsewhere (options.stdio)
    if (stream) createInterface({ input: stream }).on('line', (line) => proc.lines.push(prefix + line));
  }

  // Resolves with the first match of @regex on a stdout line, or rejects after @timeoutMs
  // or when the process ends first.
  proc.waitFor = async (regex, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const line of proc.lines) {
        const m = regex.exec(line);
        if (m) return m;
      }
      if (proc.exit) break;
      await sleep(20);
    }
    const tail = proc.lines.slice(-15).join('\n');
    if (proc.exit?.error) throw new Error(`cannot start ${name}: ${proc.exit.error.message}`);
    throw new Error(proc.exit
      ? `${name} ended (code ${proc.exit.code}, signal ${proc.exit.signal}) before printing ${regex}:\n${tail}`
      : `${name} did not print ${regex} within ${timeoutMs / 1000} s:\n${tail}`);
  };

  proc.stop = async () => {
    if (proc.pid === undefined) return proc.exit;
    if (proc.exit) return proc.exited;
    // ESRCH: it has ended, and Node has not said so yet.
    try { process.kill(proc.pid, 'SIGTERM'); } catch { return proc.exited; }
    const timer = sleep(TERM_GRACE_MS, 'timeout', { ref: false });
    if (await Promise.race([proc.exited, timer]) === 'timeout') {
      proc.killedHard = true;
      try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
      await proc.exited;
    }
    return proc.exit;
  };
  return proc;
}

// CPU time (user + system, seconds) and resident memory (KiB) of process @pid, from /proc.
const CLOCK_TICKS = 100;  // USER_HZ: 100 on every Linux architecture that Debian ships
export function processUsage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number((new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status) || [])[1] || 0);
  return {
    cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    rssKiB: kib('VmRSS'),
    hwmKiB: kib('VmHWM'),
  };
}

// Ends every process started with startProcess() that is still running (on an interrupt,
// or a failure half-way through starting a server).
export async function stopAllProcesses() {
  await Promise.all([...running].map((proc) => proc.stop()));
}
