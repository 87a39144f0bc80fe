#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Does the daemon's memory come back after a burst? (docs/performance.md, "Memory returns")

Starts periscope on 127.0.0.1, and reads its resident size (VmRSS) at the start, then after
each burst is over and TRIM_WAIT_S more have passed (the daemon hands freed memory back every
30 s):
  - N idle TCP connections (1,000), from 20 source addresses 127.0.1.x (the per-address cap
    is 64), held until the daemon's request timeout drops them; twice;
  - V page viewers (50) from psc-bench-load for 20 s, then gone.

    python3 bench/memory-return.py --daemon build/src/periscope --load build/bench/psc-bench-load

Prints one line a sample; ends the daemon it started, by its PID, whatever happens.
"""
import argparse
import re
import resource
import socket
import subprocess
import time

TRIM_WAIT_S = 35
REQUEST_TIMEOUT_S = 10


def rss_mib(pid):
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def more_fds():
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--daemon', required=True)
    parser.add_argument('--load', help='psc-bench-load, for the viewers (skipped without)')
    parser.add_argument('--connections', type=int, default=1000)
    parser.add_argument('--viewers', type=int, default=50)
    args = parser.parse_args()

    more_fds()
    daemon = subprocess.Popen(
        [args.daemon, '--bind', '127.0.0.1', '--port', '0', '--ice-address', '127.0.0.1',
         '--codec', 'h264', '--max-viewers-per-address', '0'],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=more_fds)
    try:
        port = None
        for line in daemon.stdout:
            match = re.search(r'open http://127\.0\.0\.1:(\d+)/', line)
            if match:
                port = int(match.group(1))
                break
        if port is None:
            raise SystemExit('the daemon printed no URL')
        time.sleep(3)
        print(f'start: {rss_mib(daemon.pid):.1f} MiB', flush=True)

        for burst in range(2):
            sockets = [socket.create_connection(
                ('127.0.0.1', port), source_address=(f'127.0.1.{2 + i % 20}', 0))
                for i in range(args.connections)]
            time.sleep(1)
            held = rss_mib(daemon.pid)
            time.sleep(REQUEST_TIMEOUT_S + 2)
            for s in sockets:
                s.close()
            dropped = rss_mib(daemon.pid)
            time.sleep(TRIM_WAIT_S)
            print(f'{args.connections} idle connections ({burst + 1}): {held:.1f} MiB held, '
                  f'{dropped:.1f} MiB once dropped, {rss_mib(daemon.pid):.1f} MiB '
                  f'{TRIM_WAIT_S} s later', flush=True)

        if args.load:
            before = rss_mib(daemon.pid)
            subprocess.run([args.load, '-t', 'periscope', '-u',
                            f'ws://127.0.0.1:{port}/ws/camera', '-n', str(args.viewers),
                            '-d', '20', '-p', str(daemon.pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            gone = rss_mib(daemon.pid)
            time.sleep(TRIM_WAIT_S)
            print(f'{args.viewers} viewers: {before:.1f} MiB before, {gone:.1f} MiB right after, '
                  f'{rss_mib(daemon.pid):.1f} MiB {TRIM_WAIT_S} s later', flush=True)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


if __name__ == '__main__':
    main()
