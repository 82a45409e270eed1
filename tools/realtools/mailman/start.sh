#!/usr/bin/env bash
# Start Mailman 3's REST API on 127.0.0.1:$PORT (the `rest` runner alone: no mail is sent or
# received), with its configuration, SQLite database and logs in $DATA_DIR; returns once the
# API answers.
#   env: DATA_DIR PORT REST_USER REST_PASSWORD
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"

home="$("$here/install.sh")"
: "${DATA_DIR:?}" "${PORT:?}" "${REST_USER:?}" "${REST_PASSWORD:?}"
port_free "$PORT" || { say "port $PORT is taken"; exit 1; }
mkdir -p "$DATA_DIR/var"
cat >"$DATA_DIR/mailman.cfg" <<CFG
[mailman]
layout: here
site_owner: postmaster@example.com

[paths.here]
var_dir: $DATA_DIR/var

[webservice]
hostname: 127.0.0.1
port: $PORT
admin_user: $REST_USER
admin_pass: $REST_PASSWORD

[mta]
incoming: mailman.mta.null.NullMTA
CFG
# The REST runner alone is the API; the runners that move mail have nothing to do here.
start_server "$DATA_DIR" mailman env PYTHONWARNINGS=ignore \
  "$home/bin/runner" -C "$DATA_DIR/mailman.cfg" -r rest
if ! wait_http "http://127.0.0.1:$PORT/3.1/system/versions" 60 -u "$REST_USER:$REST_PASSWORD"; then
  tail -20 "$DATA_DIR/mailman.log" "$DATA_DIR/var/logs/mailman.log" >&2 || true
  "$here/stop.sh"
  exit 1
fi
