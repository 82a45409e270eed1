#!/usr/bin/env bash
# Stop the Request Tracker started in $DATA_DIR (nothing to do when none runs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"
stop_server "${DATA_DIR:?}" rt
