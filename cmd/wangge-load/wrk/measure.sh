# Functions floor.sh and compare.sh share (sourced; $d is the duration of
# each figure, e.g. 5s).

# one LABEL URL PID CONNECTIONS: wrk (locate.lua) against URL with that many
# connections; prints req/s, p50, p99, the server's (PID's) user + system
# CPU per request and the load average.
one() {
  local t=$(( $4 < 2 ? 1 : 2 )) hz u0 s0 u1 s1 out
  hz=$(getconf CLK_TCK)
  read -r u0 s0 < <(awk '{print $14, $15}' /proc/$3/stat)
  out=$(wrk -t$t -c$4 -d$d -s locate.lua --latency "$2")
  read -r u1 s1 < <(awk '{print $14, $15}' /proc/$3/stat)
  echo "$out" | awk -v l="$1" -v c="$4" -v du=$(( (u1-u0)*1000000/hz )) -v ds=$(( (s1-s0)*1000000/hz )) -v la="$(cut -d' ' -f1 /proc/loadavg)" \
    '/requests in/{n=$1} /Requests\/sec/{rs=$2} / 50%/{p50=$2} / 99%/{p99=$2} END{printf "%-8s c=%-2s %9s req/s  p50 %-8s p99 %-8s CPU %d + %d µs/req  load %s\n", l, c, rs, p50, p99, du/n, ds/n, la}'
}

# postgis CONNECTIONS: PostGIS's single-point query (pg_locate.sql) through
# pgbench on the cluster whose socket folder is $PGHOST, when it is set.
postgis() {
  [ -n "${PGHOST:-}" ] || return 0
  env PGOPTIONS=-cjit=off /usr/lib/postgresql/15/bin/pgbench -h "$PGHOST" -U wangge -n -M prepared \
    -c $1 -j $(( $1 < 2 ? 1 : 2 )) -T "${d%s}" -f pg_locate.sql wangge 2>/dev/null |
    awk -v c=$1 -v la="$(cut -d' ' -f1 /proc/loadavg)" '/^tps/{tps=$3} /latency average/{avg=$4} END{printf "%-8s c=%-2s %9.2f tps    avg %s ms  load %s\n", "postgis", c, tps, avg, la}'
}
