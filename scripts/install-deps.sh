#!/usr/bin/env bash
# Installs what building and testing tallyd needs on Debian 12, and nothing that is there.
#   scripts/install-deps.sh run    -> system packages for building and running
#   scripts/install-deps.sh test   -> also promtool, prometheus, socat, and the Python venv
#   scripts/install-deps.sh deb    -> also debhelper, lintian and mmdebstrap (make deb, make test-package)
#   scripts/install-deps.sh peers  -> also collectd's statsd plugin (make bench-peers compares with it)
#                                     and valgrind (the callgrind counts of make bench-report)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libsystemd-dev zlib1g-dev libcrypt-dev libsnappy-dev libyaml-dev pkg-config; do have_pkg "$p" || need+=("$p"); done
if [ "$mode" = peers ]; then
  # write_prometheus (how the bench reads collectd's counts) needs libmicrohttpd and protobuf-c.
  for p in collectd-core libmicrohttpd12 libprotobuf-c1 valgrind; do have_pkg "$p" || need+=("$p"); done
fi
if [ "$mode" = deb ]; then
  # make deb and make test-package: Debian's packaging tools, and mmdebstrap for a clean root.
  for p in debhelper dpkg-dev lintian fakeroot mmdebstrap man-db; do have_pkg "$p" || need+=("$p"); done
fi
if [ "$mode" = test ]; then
  for p in prometheus socat curl python3-venv systemd chromium fonts-dejavu-core openssl; do have_pkg "$p" || need+=("$p"); done
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  venv=.build/venv
  stamp=$venv/.tally-deps-6
  if [ ! -f "$stamp" ]; then
    echo "install-deps: Python venv in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      "datadog>=0.49" "statsd>=4.0" "prometheus-client>=0.19" "pytest>=7.4" "PyYAML>=6" \
      "setuptools>=61" "wheel" "bcrypt>=4" "build>=1" "ruff==0.17.6"
    touch "$stamp"
  fi
fi
