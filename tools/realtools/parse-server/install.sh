#!/usr/bin/env bash
# Install Parse Server from the npm registry into the cache, once; print the folder it is in.
# It runs on the machine's Node.js (20.19+) and PostgreSQL; its Postgres adapter needs PostGIS
# only for geo fields, which the tests do not use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"

version="${PARSE_SERVER_VERSION:-9.10.0}"
cache="$(realtools_cache)"
target="$cache/parse-server-$version"
if [ -f "$target/.installed" ]; then
  printf '%s\n' "$target"
  exit 0
fi
command -v node >/dev/null || { say "parse-server needs Node.js 20.19+ and npm"; exit 1; }
say "installing parse-server $version into $target"
stage="$(mktemp -d "$cache/.parse-server-XXXXXX")"
trap 'rm -rf "$stage"' EXIT
npm install --prefix "$stage" --cache "$cache/npm" --no-audit --no-fund --loglevel=error \
  "parse-server@$version" >&2
test -x "$stage/node_modules/.bin/parse-server"
rm -rf "$target"
mv "$stage" "$target"
trap - EXIT
touch "$target/.installed"
printf '%s\n' "$target"
