#!/bin/sh
# One-shot (service temporal-admin-tools): create the Temporal and visibility databases on
# PostgreSQL and bring their schemas to the version this admin-tools image ships.
# Safe to run again: existing databases are kept, update-schema only applies what is new.
set -eu
SQL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -p ${DB_PORT} -u ${POSTGRES_USER}"
SCHEMA=/etc/temporal/schema/postgresql/v12

until nc -z "${POSTGRES_SEEDS}" "${DB_PORT}"; do echo "waiting for ${POSTGRES_SEEDS}"; sleep 1; done

for pair in "${DBNAME}:temporal" "${VISIBILITY_DBNAME}:visibility"; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  $SQL --db "$db" create || echo "database $db exists"
  $SQL --db "$db" setup-schema -v 0.0 || echo "schema of $db already set up"
  $SQL --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
touch /tmp/schema-ready
echo "schema ready"
