#!/usr/bin/env bash
# Install GNU Mailman 3 core from PyPI into its own virtualenv in the cache, once; print the
# virtualenv's folder. Mailman 3.3.10 breaks on SQLAlchemy 2.1 (its REST rosters answer 500:
# a count over a query), so SQLAlchemy stays below 2.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"

version="${MAILMAN_VERSION:-3.3.10}"
cache="$(realtools_cache)"
target="$cache/mailman-$version"
if [ -f "$target/.installed" ]; then
  printf '%s\n' "$target"
  exit 0
fi
say "installing mailman $version into $target"
python="${MAILMAN_PYTHON:-python3}"
rm -rf "$target"
# A virtualenv keeps its own path inside: build it where it will stay.
"$python" -m venv "$target"
if ! "$target/bin/pip" install --quiet --cache-dir "$cache/pip" \
  "mailman==$version" "sqlalchemy>=2.0,<2.1" >"$target/install.log" 2>&1; then
  grep -v '^WARNING: Location' "$target/install.log" | tail -30 >&2
  exit 1
fi
"$target/bin/mailman" --version >/dev/null
touch "$target/.installed"
printf '%s\n' "$target"
