#!/bin/bash
# Init container of a replica: clone the primary once (an empty data directory), with a replication slot of this
# pod's own so the primary keeps the WAL it has not received (bounded by max_slot_wal_keep_size), and -R writes
# standby.signal and primary_conninfo so the server starts as a hot standby that streams from the primary.
set -euo pipefail
if [[ -s $PGDATA/PG_VERSION ]]; then
  echo "data directory present: streaming resumes from the primary"
  exit 0
fi
slot=${POD_NAME//-/_}
until pg_isready -q -h "$PRIMARY_HOST" -p 5432; do
  echo "waiting for the primary $PRIMARY_HOST"
  sleep 2
done
mkdir -p "$PGDATA"
# a slot left by an earlier copy of this pod is reused (-C fails when it exists)
pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -R -S "$slot" -C ||
  { rm -rf "${PGDATA:?}"/*; pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -R -S "$slot"; }
chmod 700 "$PGDATA"
