#!/bin/sh
# A PostgreSQL base backup for point-in-time recovery.
#
# With the WAL archive that archive_command fills (deploy/postgres/postgresql.conf),
# a base backup restores the database to any moment after it was taken
# (deploy/backup/pg-restore.sh). Run it daily; keep KEEP_BASE_BACKUPS of them.
# WAL older than the oldest kept base backup is removed.
#
# Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD (a role with REPLICATION or
# superuser), BACKUP_DIR, WAL_ARCHIVE, KEEP_BASE_BACKUPS (default 7).
set -eu
: "${BACKUP_DIR:?set BACKUP_DIR}" "${WAL_ARCHIVE:?set WAL_ARCHIVE}"
keep="${KEEP_BASE_BACKUPS:-7}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$BACKUP_DIR/base/$stamp"
mkdir -p "$BACKUP_DIR/base"

# tar + gzip: base.tar.gz and pg_wal.tar.gz (the WAL needed to make it consistent).
pg_basebackup --pgdata="$target.partial" --format=tar --gzip --wal-method=stream \
    --checkpoint=fast --label="voicebridge $stamp" --no-password
mv "$target.partial" "$target"
echo "$stamp" > "$BACKUP_DIR/base/LATEST.tmp"
mv "$BACKUP_DIR/base/LATEST.tmp" "$BACKUP_DIR/base/LATEST"
echo "base backup $target ($(du -sh "$target" | cut -f1))"

# Retention: the newest $keep base backups, and the WAL they need.
ls -1d "$BACKUP_DIR"/base/2*Z 2>/dev/null | sort | head -n "-$keep" | while read -r old; do
    rm -rf "$old"
    echo "removed $old"
done
oldest="$(ls -1d "$BACKUP_DIR"/base/2*Z | sort | head -n 1)"
find "$WAL_ARCHIVE" -type f ! -newer "$oldest" -name '0*' -delete
