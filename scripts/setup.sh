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
  libgstreamer-plugins-bad1.0-dev libnice-dev libsoup-3.0-dev libjson-glib-dev libcrypt-dev
  libgnutls28-dev libsqlite3-dev glib-networking
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice gstreamer1.0-x
)
# What the tests need on top: decoders for the test viewer, two browser engines, the
# Prometheus client's parser that checks /metrics, Janus, which the benchmark (and its
# smoke run) compares periscope with, and curl, which checks the HTTPS certificate as a user
# would.
PSC_TEST_PACKAGES=(gstreamer1.0-libav chromium firefox-esr python3-prometheus-client janus curl
  libgstrtspserver-1.0-dev)
# What scripts/test's build checks need on top: gtk-doc for the reference, the 32-bit libc
# and compiler runtime for the i386 build (psc_build_i386), and clang with its sanitizer and
# libFuzzer runtimes (libclang-rt-14-dev) and llvm-symbolizer (llvm) for the sanitized
# build (psc_build_asan).
PSC_CHECK_PACKAGES=(gtk-doc-tools gcc-multilib clang libclang-rt-14-dev llvm)

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
  ninja --quiet -C "$PSC_BUILD"
}

PSC_ASAN=${PSC_ASAN:-$PSC_ROOT/build-asan}

# psc_build_asan — the sanitized build (build-asan/): clang with AddressSanitizer and UBSan on
# everything (b_lundef=false: the sanitizer runtimes resolve at link), and the libFuzzer
# targets (-Dfuzzing=true). `meson test -C build-asan --setup asan` runs suites under it.
# Not -Werror: clang 14 warns of g_autoptr variables that only hold a reference to drop
# (-Wunused-variable); the gcc build (psc_build) is the warning gate.
psc_build_asan() {
  if [ ! -f "$PSC_ASAN/build.ninja" ]; then
    CC=clang meson setup "$PSC_ASAN" "$PSC_ROOT" -Db_sanitize=address,undefined -Db_lundef=false \
      -Dfuzzing=true -Dbrowser_tests=disabled >/dev/null
  fi
  ninja --quiet -C "$PSC_ASAN"
}

# The 32-bit check (scripts/test): the daemon, tests and bench built with gcc -m32 against
# Debian's i386 packages (gcc-multilib, in PSC_CHECK_PACKAGES, brings the 32-bit libc).
# i386 packages unpacked into a sysroot, not installed: the -dev packages of PSC_RUN_PACKAGES
# and the shared libraries they link, transitively. Installing them with dpkg's multiarch
# instead drags in far more (libgstreamer-plugins-bad1.0-dev depends on libopencv-dev, hence Qt5
# and Mesa), and needs every Multi-Arch: same library at exactly the amd64 version, which an
# i386 index a point release behind breaks.
PSC_I386_PACKAGES=(
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev libnice-dev libsoup-3.0-dev libjson-glib-dev
  libgstrtspserver-1.0-dev libcrypt-dev libsqlite3-dev
  libgnutls28-dev nettle-dev libtasn1-6-dev libidn2-dev libp11-kit-dev libgmp-dev
  libcrypt1 libglib2.0-0 libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libgstreamer-plugins-bad1.0-0
  libgstrtspserver-1.0-0
  libnice10 libsoup-3.0-0 libjson-glib-1.0-0
  libblkid1 libbrotli1 libbz2-1.0 libcom-err2 libdw1 libelf1 libffi8 libgmp10 libgnutls30
  libgssapi-krb5-2 libgssdp-1.6-0 libgupnp-1.6-0 libgupnp-igd-1.0-4 libhogweed6 libicu72
  libidn2-0 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 liblzma5 libmount1 libnettle8
  libnghttp2-14 liborc-0.4-0 libp11-kit0 libpcre2-8-0 libpsl5 libselinux1 libsqlite3-0
  libstdc++6 libtasn1-6 libunistring2 libunwind8 libxml2 zlib1g
)
PSC_I386=${PSC_I386:-$PSC_ROOT/build-i386}

# psc_build_i386 — fetches the i386 sysroot once (with apt's own client, from the machine's
# Debian sources, in a private apt state so the machine's dpkg never gains the i386
# architecture), then configures with scripts/i386.cross and builds into build-i386/build.
# Only builds: the tests cannot run where the kernel has no 32-bit emulation (ia32_emulation=off,
# as on the CI machine).
psc_build_i386() {
  local sysroot=$PSC_I386/sysroot apt=$PSC_I386/apt
  # The sysroot is kept while the package list is the same.
  if [ "$(cat "$sysroot/.complete" 2>/dev/null)" != "${PSC_I386_PACKAGES[*]}" ]; then
    rm -rf "$sysroot" "$apt"
    mkdir -p "$sysroot" "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
    : >"$apt/status"
    cat >"$apt/apt.conf" <<CONF
Dir::State "$apt/state";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
APT::Architecture "i386";
APT::Architectures { "i386"; };
APT::Sandbox::User "root";
CONF
    # An index that fails (a mirror mid-sync) is not fatal: apt-get download below fails,
    # naming the package, if one that is needed is missing.
    APT_CONFIG=$apt/apt.conf apt-get update -qq || echo "periscope: some i386 package indexes failed; carrying on" >&2
    (cd "$apt/debs" && APT_CONFIG=$apt/apt.conf apt-get download -qq "${PSC_I386_PACKAGES[@]}")
    local deb
    for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
    rm -rf "$apt"
    printf '%s' "${PSC_I386_PACKAGES[*]}" >"$sysroot/.complete"
  fi
  printf "[constants]\nsysroot = '%s'\n" "$sysroot" >"$PSC_I386/sysroot.ini"
  if [ ! -f "$PSC_I386/build/build.ninja" ]; then
    meson setup "$PSC_I386/build" "$PSC_ROOT" --cross-file "$PSC_I386/sysroot.ini" \
      --cross-file "$PSC_ROOT/scripts/i386.cross" -Dwerror=true -Dbrowser_tests=disabled >/dev/null
  fi
  ninja --quiet -C "$PSC_I386/build"
}

# psc_build_docs — builds the gtk-doc reference (needs -Ddocs=true) and fails unless every
# public symbol of src/*.h is documented whole: a malformed doc comment (a parameter that does
# not exist, a section or symbol gtk-doc cannot place), a symbol, parameter, field, value or
# section description missing (build/docs/reference/periscope-undocumented.txt must say 100 %
# and list nothing), or a link to one of our own symbols (psc_*, Psc*, PSC_*) that gtk-doc cannot
# resolve. Links to GLib/GStreamer/libsoup docs, not installed here, are not errors.
psc_build_docs() {
  local dir=$PSC_BUILD/docs/reference log bad undocumented
  log=$dir/gtkdoc.log
  mkdir -p "$dir"
  ninja -C "$PSC_BUILD" periscope-doc >"$log" 2>&1 || { cat "$log" >&2; return 1; }
  bad=$(grep -E '^/.*: warning: |: warning: no link for: "(psc|Psc|PSC)' "$log" | sort -u || true)
  if [ -n "$bad" ]; then
    printf 'periscope: gtk-doc warnings from our comments:\n%s\n' "$bad" >&2
    return 1
  fi
  undocumented=$dir/periscope-undocumented.txt
  if [ ! -f "$undocumented" ] || ! head -n 1 "$undocumented" | grep -q '^100% symbol docs coverage\.$' ||
      ! grep -q '^0 symbols incomplete\.$' "$undocumented" ||
      ! grep -q '^0 not documented\.$' "$undocumented" ||
      [ -n "$(tail -n +5 "$undocumented" | grep -v '^[[:space:]]*$')" ]; then
    printf 'periscope: public symbols not documented (or incomplete), from %s:\n' "$undocumented" >&2
    cat "$undocumented" >&2
    return 1
  fi
}
