#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 cluster and make a role and database for the
# tests (idempotent). Prints the connection URL on stdout.
set -euo pipefail
ROLE=teamcrm
DB=teamcrm_test
PASSWORD=teamcrm
if command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster 15 main start >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do
    if su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then break; fi
    sleep 1
  done
  su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='${ROLE}'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"create role ${ROLE} login createdb password '${PASSWORD}'\"" >/dev/null
  su postgres -c "psql -qAtc \"select 1 from pg_database where datname='${DB}'\"" | grep -q 1 \
    || su postgres -c "createdb -O ${ROLE} ${DB}" >/dev/null
  echo "postgresql://${ROLE}:${PASSWORD}@127.0.0.1:5432/${DB}"
fi
