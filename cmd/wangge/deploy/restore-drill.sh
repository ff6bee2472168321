#!/usr/bin/env bash
# restore-drill.sh BACKUP: proves that a backup made by backup.sh restores.
# It copies the backup into a fresh data folder, starts PostgreSQL on it
# (a Unix socket in that folder only: nothing else can reach it), disables
# every notification channel of the copy (a drill must not send SMS to
# real people), starts `wangge serve` on it and waits until /readyz answers
# with the restored generation, then prints what it found and stops it
# all. Exits non-zero when any step fails.
#
# Settings: WANGGE_BIN (default wangge on PATH), WANGGE_DRILL_DB (wangge),
# WANGGE_DRILL_USER (the database superuser: postgres, or wangge for the
# embedded cluster), PG_BINDIR (newest /usr/lib/postgresql/*/bin). As root,
# PostgreSQL runs as the postgres user.
set -euo pipefail

backup="${1:?usage: restore-drill.sh BACKUP_FOLDER}"
wangge="${WANGGE_BIN:-wangge}"
db="${WANGGE_DRILL_DB:-wangge}"
dbuser="${WANGGE_DRILL_USER:-postgres}"
if [ -z "${PG_BINDIR:-}" ]; then
	PG_BINDIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
fi
export PATH="$PG_BINDIR:$PATH"
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
t0=$(date +%s%N)
since() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }

pg_verifybackup --quiet "$backup"
work="$(mktemp -d /tmp/wangge-drill.XXXXXX)"
wpid=""
cleanup() {
	if [ -n "$wpid" ]; then kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null || true; fi
	if [ -f "$work/pgdata/postmaster.pid" ]; then as_pg pg_ctl -D "$work/pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
cp -a "$backup" "$work/pgdata"
mkdir "$work/run"
chmod 755 "$work"
chmod 700 "$work/pgdata"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$work/pgdata" "$work/run"; fi

# The backup's own settings may name a port, certificates, standbys to
# wait for (pg_auto_failover's synchronous_standby_names) or an archive:
# none of them applies to the drill's copy.
t1=$(date +%s%N)
as_pg pg_ctl -D "$work/pgdata" -l "$work/run/postgresql.log" -w -t 300 \
	-o "-c listen_addresses='' -k $work/run -c port=5432 -c ssl=off -c archive_mode=off -c synchronous_standby_names='' -c hot_standby=on" \
	start >/dev/null || { cat "$work/run/postgresql.log" >&2; exit 1; }
pg_up="$(since "$t1")"
url="host=$work/run port=5432 user=$dbuser dbname=$db sslmode=disable"
sql() { psql "$url" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
sql "UPDATE channels SET enabled = false" >/dev/null
generation="$(sql "SELECT coalesce(max(id), 0) FROM generations")"
grids="$(sql "SELECT count(*) FROM grids WHERE retired_generation IS NULL")"
incidents="$(sql "SELECT count(*) FROM incidents")"
digest="$(sql "SELECT md5(coalesce(string_agg(number, ',' ORDER BY number), '')) FROM incidents")"

t2=$(date +%s%N)
DATABASE_URL="$url" WANGGE_SECRET_KEY="restore-drill-$RANDOM$RANDOM" WANGGE_DEMO=false \
	"$wangge" serve --addr 127.0.0.1:0 2>"$work/wangge.log" &
wpid=$!
addr=""
for _ in $(seq 1 600); do
	addr="$(sed -n 's/.*msg=serving addr=\([^ ]*\).*/\1/p' "$work/wangge.log" | head -1)"
	[ -n "$addr" ] && break
	if ! kill -0 "$wpid" 2>/dev/null; then cat "$work/wangge.log" >&2; echo "restore drill: wangge exited" >&2; exit 1; fi
	sleep 0.1
done
[ -n "$addr" ] || { cat "$work/wangge.log" >&2; echo "restore drill: wangge did not serve in 60 s" >&2; exit 1; }
ready="$(curl -fsS "http://$addr/readyz")" || { echo "restore drill: /readyz failed" >&2; exit 1; }
wangge_up="$(since "$t2")"
served="$(echo "$ready" | sed -n 's/.*"generation":\([0-9]*\).*/\1/p')"
served_grids="$(echo "$ready" | sed -n 's/.*"grids":\([0-9]*\).*/\1/p')"
if [ "$served" != "$generation" ] || [ "$served_grids" != "$grids" ]; then
	echo "restore drill: wangge serves generation $served with $served_grids grids, the restored database holds $generation with $grids" >&2
	exit 1
fi
cat <<REPORT
restore drill: ok
  backup: $backup
  postgres: started on the copy in $pg_up
  database: generation=$generation grids=$grids incidents=$incidents incidents_md5=$digest
  wangge: ready in $wangge_up, /readyz generation $served with $served_grids grids
  total: $(since "$t0")
REPORT
