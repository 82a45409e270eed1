# Shared by the real tools' scripts: where downloads are cached, and starting/stopping a
# server in its own process group with a pid file in its data folder.
# shellcheck shell=bash

# CI on the same machine reuses what an earlier run installed: the cache outlives the clone.
realtools_cache() {
  local cache="${SYNCWELL_REALTOOLS_CACHE:-}"
  if [ -z "$cache" ]; then
    if mkdir -p /var/cache/syncwell-realtools 2>/dev/null && [ -w /var/cache/syncwell-realtools ]; then
      cache=/var/cache/syncwell-realtools
    else
      cache="${XDG_CACHE_HOME:-$HOME/.cache}/syncwell/realtools"
    fi
  fi
  mkdir -p "$cache" || return 1
  printf '%s\n' "$cache"
}

say() { printf '[realtools] %s\n' "$*" >&2; }

# start_server DATA_DIR NAME CMD...: run CMD in a new session (its own process group), log to
# DATA_DIR/NAME.log, and keep its pid (= its group id) in DATA_DIR/NAME.pid.
start_server() {
  local data="$1" name="$2"
  shift 2
  mkdir -p "$data"
  # In its data folder: a tool that writes files where it runs (Parse's logs/) keeps them there.
  (cd "$data" && exec setsid "$@" >"$data/$name.log" 2>&1 </dev/null) &
  echo $! >"$data/$name.pid"
}

# wait_http URL SECONDS [CURL_ARGS...]: until URL answers 2xx, or fail with the log's tail.
wait_http() {
  local url="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "no answer from $url within ${seconds}s"
      return 1
    fi
    sleep 0.3
  done
}

# stop_server DATA_DIR NAME: TERM the server's process group, KILL it after 10 s.
stop_server() {
  local pidfile="$1/$2.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
