#!/usr/bin/env bash
# backup.sh [DEST]: an online base backup of wangge's PostgreSQL cluster
# with pg_basebackup, checked with pg_verifybackup, kept in
# DEST/<UTC time> (DEST: $WANGGE_BACKUP_DIR, default /var/backups/wangge);
# the newest $WANGGE_BACKUP_KEEP (default 7) are kept. Prints the
# backup's folder. Run by wangge-backup.timer as the postgres user.
#
# WANGGE_BACKUP_URL is a libpq connection string with the replication
# privilege. With pg_auto_failover, take it from the secondary, so that
# the primary does not pay for it: list both nodes and prefer the standby,
#   WANGGE_BACKUP_URL='postgres://postgres@db1:5432,db2:5432/postgres?target_session_attrs=prefer-standby'
# A base backup restores the cluster as it was when the backup ended;
# restore-drill.sh proves that it does, and should run after each one.
set -euo pipefail

: "${WANGGE_BACKUP_URL:?set WANGGE_BACKUP_URL to a connection string of the cluster (replication privilege)}"
dest="${1:-${WANGGE_BACKUP_DIR:-/var/backups/wangge}}"
keep="${WANGGE_BACKUP_KEEP:-7}"
if [ -z "${PG_BINDIR:-}" ]; then
	PG_BINDIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
fi
export PATH="$PG_BINDIR:$PATH"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dest"
partial="$dest/.$stamp.partial"
trap 'rm -rf "$partial"' EXIT
start=$(date +%s%N)
# Plain format with the WAL streamed alongside: the folder is a data
# directory that starts as is, and pg_verifybackup checks it against its
# manifest.
pg_basebackup --dbname="$WANGGE_BACKUP_URL" --pgdata="$partial" --format=plain --wal-method=stream \
	--checkpoint=fast --manifest-checksums=SHA256 --label="wangge $stamp" --no-password
pg_verifybackup --quiet "$partial"
mv "$partial" "$dest/$stamp"
trap - EXIT

# Retention: the newest $keep backups.
ls -1d "$dest"/[0-9]*T*Z 2>/dev/null | sort | head -n -"$keep" | while read -r old; do
	rm -rf "$old"
done
size="$(du -sh "$dest/$stamp" | cut -f1)"
ms=$((($(date +%s%N) - start) / 1000000))
echo "backup.sh: $dest/$stamp ($size, $((ms / 1000)).$((ms % 1000 / 100)) s), verified" >&2
echo "$dest/$stamp"
