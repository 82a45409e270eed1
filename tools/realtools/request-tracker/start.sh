#!/usr/bin/env bash
# Start Request Tracker 5 on 127.0.0.1:$PORT with a new SQLite database in $DATA_DIR (its own
# site config there: the machine's /etc/request-tracker5 is not read); returns once REST 2.0
# answers. The `root` user's password is RT's default, `password`.
#   env: DATA_DIR PORT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../common.sh
source "$here/../common.sh"

"$here/install.sh" >/dev/null
: "${DATA_DIR:?}" "${PORT:?}"
port_free "$PORT" || { say "port $PORT is taken"; exit 1; }
mkdir -p "$DATA_DIR/site.d"
cat >"$DATA_DIR/RT_SiteConfig.pm" <<CFG
Set(\$rtname, 'syncwell-test');
Set(\$Organization, 'syncwell-test');
Set(\$Timezone, 'UTC');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$DATA_DIR/rt.db');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebPath, '');
Set(\$WebBaseURL, 'http://127.0.0.1:$PORT');
Set(\$LogToSTDERR, 'error');
Set(\$LogToFile, undef);
Set(\$LogToSyslog, undef);
1;
CFG
export RT_SITE_CONFIG="$DATA_DIR/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$DATA_DIR/site.d"
if [ ! -f "$DATA_DIR/rt.db" ]; then
  rt-setup-database-5 --action init --skip-create >"$DATA_DIR/setup.log" 2>&1 \
    || { tail -20 "$DATA_DIR/setup.log" >&2; exit 1; }
fi
start_server "$DATA_DIR" rt /usr/share/request-tracker5/libexec/rt-server --port "$PORT"
if ! wait_http "http://127.0.0.1:$PORT/REST/2.0/queues/all" 90 -u root:password; then
  tail -20 "$DATA_DIR/rt.log" >&2
  "$here/stop.sh"
  exit 1
fi
