#!/usr/bin/env bash
# One round: wangge (at $1, label $2) GET at 1 and 16 connections, batch at 2,
# then PostGIS the same; each line: label, figure, load average.
set -u
url=$1; label=$2; d=${3:-5s}
PGB="env PGOPTIONS=-cjit=off /usr/lib/postgresql/15/bin/pgbench -h ${PGHOST:-/tmp/perfhttp/data/run} -U wangge -n -M prepared"
la() { cut -d' ' -f1 /proc/loadavg; }
for c in 1 16; do
  t=$(( c < 2 ? 1 : 2 ))
  l=$(la); r=$(wrk -t$t -c$c -d$d -s locate.lua --latency $url | awk '/Requests\/sec/{rs=$2} / 50%/{p50=$2} / 99%/{p99=$2} END{print rs, "p50", p50, "p99", p99}')
  echo "$label GET c=$c: $r req/s (load $l)"
  l=$(la); r=$($PGB -c $c -j $t -T ${d%s} -f pg_locate.sql wangge 2>/dev/null | awk '/^tps/{print $3} /latency average/{print "avg", $4, "ms"}' | tr '\n' ' ')
  echo "postgis GET c=$c: $r (load $l)"
done
l=$(la); r=$(wrk -t2 -c2 -d$d -s batch.lua $url | awk '/Requests\/sec/{print $2*10000 " points/s"}')
echo "$label POST batch c=2: $r (load $l)"
l=$(la); r=$($PGB -c 2 -j 2 -T ${d%s} -f pg_batch.sql wangge 2>/dev/null | awk '/^tps/{print $3*10000 " points/s"}')
echo "postgis batch c=2: $r (load $l)"
