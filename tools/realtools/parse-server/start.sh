#!/usr/bin/env bash
# Start Parse Server on 127.0.0.1:$PORT over the PostgreSQL database $DATABASE_URI, keeping
# its pid and log in $DATA_DIR; returns once /parse/health answers.
#   env: DATA_DIR PORT DATABASE_URI APP_ID MASTER_KEY WEBHOOK_KEY (optional)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"

home="$("$here/install.sh")"
: "${DATA_DIR:?}" "${PORT:?}" "${DATABASE_URI:?}" "${APP_ID:?}" "${MASTER_KEY:?}"
port_free "$PORT" || { say "port $PORT is taken"; exit 1; }
args=(--appId "$APP_ID" --masterKey "$MASTER_KEY" --databaseURI "$DATABASE_URI"
  --port "$PORT" --host 127.0.0.1 --mountPath /parse
  --serverURL "http://127.0.0.1:$PORT/parse" --masterKeyIps 127.0.0.1,::1 --verbose false
  --logsFolder "$DATA_DIR/logs")
if [ -n "${WEBHOOK_KEY:-}" ]; then
  args+=(--webhookKey "$WEBHOOK_KEY")
fi
start_server "$DATA_DIR" parse-server env NODE_NO_WARNINGS=1 PARSE_SERVER_LOGS_FOLDER="$DATA_DIR/logs" \
  "$home/node_modules/.bin/parse-server" "${args[@]}"
if ! wait_http "http://127.0.0.1:$PORT/parse/health" 90; then
  tail -20 "$DATA_DIR/parse-server.log" >&2
  "$here/stop.sh"
  exit 1
fi
