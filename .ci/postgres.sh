# Sourced by .ci/run: start a throwaway PostgreSQL cluster on loopback and export
# BENCH_TEST_POSTGRES_URL for the multi-worker tests.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdata=$(mktemp -d /tmp/bench-pg.XXXXXX)
chown postgres "$pgdata" 2>/dev/null || true
runpg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
runpg "$pgbin/initdb -D $pgdata -A trust -U postgres >/dev/null" \
  && runpg "$pgbin/pg_ctl -D $pgdata -o '-k /tmp -p 54329 -c listen_addresses=127.0.0.1' -l $pgdata/log -w start >/dev/null" \
  && BENCH_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
