# SPDX-License-Identifier: LGPL-2.1-or-later
# periscope — shared set-up for scripts/run and scripts/test. Source it; do not run it.
#
# Installs the Debian 12 packages that are missing (as root; otherwise prints the one
# apt-get line to run and stops), then configures and builds with meson into build/.

set -euo pipefail

PSC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PSC_BUILD=${PSC_BUILD:-$PSC_ROOT/build}

# What the daemon needs to build and run.
PSC_RUN_PACKAGES=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev libnice-dev libsoup-3.0-dev libjson-glib-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice gstreamer1.0-x
)
# What the tests need on top: decoders for the test viewer, a browser and its driver, the
# Prometheus client's parser that checks /metrics, and Janus, which the benchmark (and its
# smoke run) compares periscope with.
PSC_TEST_PACKAGES=(gstreamer1.0-libav chromium python3-prometheus-client janus)

psc_missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      printf '%s\n' "$pkg"
  done
}

# psc_install PACKAGE... — installs what is missing, or says how.
psc_install() {
  local missing
  missing=$(psc_missing_packages "$@" | tr '\n' ' ')
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    case " $* " in *" chromium "*) missing="$missing nodejs npm" ;; esac
  fi
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "periscope needs these Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "periscope: installing $missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# psc_build [MESON_OPTION...] — configures once, then builds incrementally.
psc_build() {
  if [ ! -f "$PSC_BUILD/build.ninja" ]; then
    meson setup "$PSC_BUILD" "$PSC_ROOT" "$@" >/dev/null
  elif [ $# -gt 0 ]; then
    meson configure "$PSC_BUILD" "$@" >/dev/null
  fi
  ninja -C "$PSC_BUILD" >/dev/null
}
