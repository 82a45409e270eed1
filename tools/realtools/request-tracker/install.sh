#!/usr/bin/env bash
# Install Request Tracker 5 from Debian (request-tracker5 with its SQLite backend), once.
# Each start then builds its own database in its data folder, so nothing here holds tickets.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"

packages=(request-tracker5 rt5-db-sqlite)
installed() {
  local package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -qx 'install ok installed' || return 1
  done
}
if ! installed; then
  say "installing ${packages[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  # Debian keeps the .deb files in /var/cache/apt/archives: a second install reuses them.
  apt-get install -y -q --no-install-recommends "${packages[@]}" >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${packages[@]}" >&2; }
  installed
fi
test -x /usr/share/request-tracker5/libexec/rt-server
dpkg-query -W -f='${Version}\n' request-tracker5
