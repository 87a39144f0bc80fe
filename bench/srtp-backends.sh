#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What SRTP costs a packet with the crypto library under it (docs/performance.md, "SRTP: the
# crypto library underneath"): bench/srtp-protect.c against Debian's libsrtp2 (built on NSS),
# and against libsrtp 2.5.0 (Debian's version) built here from its source on NSS and on
# OpenSSL, with 1, 2 and 50 threads. Outside CI: it fetches libsrtp from GitHub.
#
#   bench/srtp-backends.sh [WORK_DIR]      # needs meson, ninja, gcc, libnss3-dev, libssl-dev
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"
[ -d libsrtp ] || git clone --quiet --depth 1 --branch v2.5.0 https://github.com/cisco/libsrtp.git
mkdir -p include/srtp2
cp libsrtp/include/srtp.h include/srtp2/
for lib in nss openssl; do
  [ -f "build-$lib/libsrtp2.a" ] || {
    meson setup -Dcrypto-library=$lib -Dtests=disabled -Ddoc=disabled \
      -Dpcap-tests=disabled --default-library=static -Dbuildtype=release "build-$lib" libsrtp \
      >/dev/null
    ninja -C "build-$lib" >/dev/null
  }
done
gcc -O2 -Iinclude "$here/srtp-protect.c" -o protect-debian \
  "$(ldconfig -p | awk '/libsrtp2\.so\.1 .*x86-64|libsrtp2\.so\.1 \(/ {print $NF; exit}')" -lpthread
gcc -O2 -Iinclude "$here/srtp-protect.c" -o protect-nss build-nss/libsrtp2.a \
  $(pkg-config --libs nss) -lpthread
gcc -O2 -Iinclude "$here/srtp-protect.c" -o protect-openssl build-openssl/libsrtp2.a \
  -lcrypto -lpthread
for build in debian nss openssl; do
  for threads in 1 2 50; do
    for round in 1 2 3; do
      printf '%-8s round %d: ' "$build" "$round"
      "./protect-$build" "$threads" 20000
    done
  done
done
