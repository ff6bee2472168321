#!/usr/bin/env bash
# What the server loop alone costs: wangge (serving at $1, pid $2) beside a
# bare net/http server and a goroutine-per-connection loop (Tile38's shape)
# answering the same bytes (floor/), interleaved, $3 rounds (default 3) of
# wrk at 1 and 16 connections for $4 (default 5s) each. Each line: server,
# connections, req/s, p50, p99, server CPU per request, load average.
# With SPIN=1, two nice-19 busy loops run throughout: they take almost no CPU
# from the servers but keep both vCPUs from idling, which shows how much of the
# 1-connection rate is the virtual machine's wake-up from idle. With PGHOST
# set (the socket folder of the cluster `wangge serve` uses), PostGIS's
# single-point query (pg_locate.sql, pgbench) runs in the same rounds. The
# two floor servers poll answered connections for BUSY_POLL (default 50us,
# wangge's default; 0: no polling), as `wangge serve --busy-poll` does: start
# wangge with the same setting.
#   ./floor.sh http://127.0.0.1:18080 $(pgrep -f 'wangge serve') 3 5s
set -eu
url=$1; pid=$2; rounds=${3:-3}; d=${4:-5s}
cd "$(dirname "$0")"
spin=""
bin=$(mktemp -d); trap 'kill $p1 $p2 $spin 2>/dev/null; rm -rf "$bin"' EXIT
go build -o "$bin/floor" ./floor
"$bin/floor" -mode nethttp -addr 127.0.0.1:18090 -busy-poll "${BUSY_POLL:-50us}" & p1=$!
"$bin/floor" -mode loop -addr 127.0.0.1:18091 -busy-poll "${BUSY_POLL:-50us}" & p2=$!
sleep 1
kill -0 $p1 && kill -0 $p2 # both listening (ports 18090, 18091 free)
if [ "${SPIN:-0}" = 1 ]; then
  for _ in 1 2; do nice -n 19 sh -c 'while :; do :; done' & spin="$spin $!"; done
fi
. ./measure.sh
for r in $(seq "$rounds"); do
  echo "round $r ($(date -u +%T))"
  for c in 1 16; do
    one wangge "$url" "$pid" $c
    one nethttp http://127.0.0.1:18090 $p1 $c
    one loop http://127.0.0.1:18091 $p2 $c
    postgis $c
  done
done
