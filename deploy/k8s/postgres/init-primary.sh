#!/bin/bash
# Runs once, when the primary's data directory is created (the postgres image's /docker-entrypoint-initdb.d):
# the stack's admin role (what deploy/lib.sh's ensure_postgres creates on one machine; deploy.ops.provision creates the
# database, schemas and service roles as this role) and, when REPLICATION_PASSWORD is set, the replicator role.
set -euo pipefail
: "${EJOURNAL_DB_NAME:?}" "${EJOURNAL_PG_ADMIN_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v role="${EJOURNAL_DB_NAME}_admin" -v pw="$EJOURNAL_PG_ADMIN_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN CREATEDB CREATEROLE PASSWORD :'pw';
SQL
if [[ -n ${REPLICATION_PASSWORD:-} ]]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'pw';
SQL
  # the image's pg_hba.conf admits every database but not the replication pseudo-database
  echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
fi
