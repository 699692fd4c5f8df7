#!/bin/sh
# Restores a base backup into an EMPTY data directory and sets up recovery:
# when PostgreSQL next starts there, it replays the archived WAL up to
# RECOVERY_TARGET_TIME (e.g. '2026-11-28 14:05:00+08'), or to the end of the
# archive when unset, and then opens for writes.
#
# Environment: PGDATA (empty or missing), BACKUP_DIR, WAL_ARCHIVE,
# BASE_BACKUP (a directory name under $BACKUP_DIR/base; default the latest),
# RECOVERY_TARGET_TIME (optional). Run as the user PostgreSQL runs as.
set -eu
: "${PGDATA:?set PGDATA}" "${BACKUP_DIR:?set BACKUP_DIR}" "${WAL_ARCHIVE:?set WAL_ARCHIVE}"
base="${BASE_BACKUP:-$(cat "$BACKUP_DIR/base/LATEST")}"
source="$BACKUP_DIR/base/$base"
[ -f "$source/base.tar.gz" ] || { echo "no base backup at $source" >&2; exit 1; }
if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
    echo "$PGDATA is not empty: move it aside first" >&2
    exit 1
fi
mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
tar -xzf "$source/base.tar.gz" -C "$PGDATA"
tar -xzf "$source/pg_wal.tar.gz" -C "$PGDATA/pg_wal"
{
    echo "restore_command = 'cp \"$WAL_ARCHIVE/%f\" \"%p\"'"
    echo "recovery_target_action = 'promote'"
    if [ -n "${RECOVERY_TARGET_TIME:-}" ]; then
        echo "recovery_target_time = '$RECOVERY_TARGET_TIME'"
    fi
} >> "$PGDATA/postgresql.auto.conf"
touch "$PGDATA/recovery.signal"
echo "restored $base into $PGDATA; start PostgreSQL to replay the WAL archive"
