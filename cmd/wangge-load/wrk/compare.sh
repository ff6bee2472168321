#!/usr/bin/env bash
# GET /v1/locate against several servers in turn, interleaved, $1 rounds of
# wrk at 1 and 16 connections for $2 each, then PostGIS's single-point query
# (pg_locate.sql, pgbench) when PGHOST is set. Each further argument is
# label=port of a server on 127.0.0.1 (`wangge serve` binaries or settings
# side by side on one database). Each line: label, connections, req/s, p50,
# p99, the server's CPU per request (user + system), load average.
#   PGHOST=/tmp/bp/data/run ./compare.sh 3 5s poll=18080 nopoll=18081 before=18082
set -eu
rounds=$1; d=$2; shift 2
cd "$(dirname "$0")"
. ./measure.sh
portpid() { ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; } # the server on port $1
for r in $(seq "$rounds"); do
  echo "round $r ($(date -u +%T))"
  for c in 1 16; do
    for s in "$@"; do one "${s%%=*}" "http://127.0.0.1:${s#*=}" "$(portpid "${s#*=}")" $c; done
    postgis $c
  done
done
