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
one() { # label port connections
  local pid t=$(( $3 < 2 ? 1 : 2 )) hz u0 s0 u1 s1 out
  pid=$(ss -Htlnp "sport = :$2" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  hz=$(getconf CLK_TCK)
  read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
  out=$(wrk -t$t -c$3 -d$d -s locate.lua --latency "http://127.0.0.1:$2")
  read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
  echo "$out" | awk -v l="$1" -v c="$3" -v du=$(( (u1-u0)*1000000/hz )) -v ds=$(( (s1-s0)*1000000/hz )) -v la="$(cut -d' ' -f1 /proc/loadavg)" \
    '/requests in/{n=$1} /Requests\/sec/{rs=$2} / 50%/{p50=$2} / 99%/{p99=$2} END{printf "%-8s c=%-2s %9s req/s  p50 %-8s p99 %-8s CPU %d + %d µs/req  load %s\n", l, c, rs, p50, p99, du/n, ds/n, la}'
}
for r in $(seq "$rounds"); do
  echo "round $r ($(date -u +%T))"
  for c in 1 16; do
    for s in "$@"; do one "${s%%=*}" "${s#*=}" $c; done
    if [ -n "${PGHOST:-}" ]; then
      env PGOPTIONS=-cjit=off /usr/lib/postgresql/15/bin/pgbench -h "$PGHOST" -U wangge -n -M prepared \
        -c $c -j $(( c < 2 ? 1 : 2 )) -T "${d%s}" -f pg_locate.sql wangge 2>/dev/null |
        awk -v c=$c -v la="$(cut -d' ' -f1 /proc/loadavg)" '/^tps/{tps=$3} /latency average/{avg=$4} END{printf "%-8s c=%-2s %9.2f tps    avg %s ms  load %s\n", "postgis", c, tps, avg, la}'
    fi
  done
done
