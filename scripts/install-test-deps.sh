#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: Debian packages
# (real checkers and daemons; no daemon is started by installing), npm packages, the build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -vE '^\s*(#|$)' scripts/debian-packages.txt | tr '\n' ' ')
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "==> installing Debian packages:$missing"
  if [ "$(id -u)" -ne 0 ]; then echo "error: installing Debian packages needs root (run as root or with sudo)" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # policy-rc.d keeps package scripts from starting daemons on machines that have an init.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -q --no-install-recommends $missing >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

echo "==> installing npm packages"
npm ci --no-audit --no-fund --loglevel=error
echo "==> building"
npm run -s build
