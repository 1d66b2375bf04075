#!/usr/bin/env bash
# Installs (Debian packages) and starts the real services some tests use:
# PostgreSQL and headless Chromium. Idempotent. Without root or apt-get it
# says what is missing; the tests that need a service then skip with a reason.
# Prints the environment the tests read (eval it): FACEMATCH_TEST_POSTGRES_URL, FACEMATCH_TEST_CHROMIUM.
set -uo pipefail
cd "$(dirname "$0")/.."
log() { echo "services: $*" >&2; }
can_apt() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; }
APT_UPDATED=0
apt_install() {
  can_apt || { log "not root or no apt-get: cannot install $*"; return 1; }
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# --- PostgreSQL -------------------------------------------------------------
# A throwaway cluster of Debian's postgresql, just for the tests: its own data
# directory (FACEMATCH_PG_DIR, default /tmp/facematch-pg-<uid>), listening on
# 127.0.0.1:FACEMATCH_PG_PORT (default 55432) only, fsync off (test data), a
# role `facematch` with a random password (kept in the directory, mode 600)
# and a database `facematch_test`. Reused when it is already running.
# An existing FACEMATCH_TEST_POSTGRES_URL is passed through untouched.
postgres_service() {
  if [ -n "${FACEMATCH_TEST_POSTGRES_URL:-}" ]; then
    echo "export FACEMATCH_TEST_POSTGRES_URL='${FACEMATCH_TEST_POSTGRES_URL}'"; return 0
  fi
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bindir" ]; then
    apt_install postgresql || { log "postgresql unavailable: PostgreSQL tests will skip"; return 1; }
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  fi
  [ -x "$bindir/initdb" ] || { log "no initdb in $bindir: PostgreSQL tests will skip"; return 1; }
  local dir="${FACEMATCH_PG_DIR:-/tmp/facematch-pg-$(id -u)}" port="${FACEMATCH_PG_PORT:-55432}"
  # The server refuses to run as root: as root, run it as the `postgres` user.
  local -a as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { log "no postgres user: PostgreSQL tests will skip"; return 1; }
    as_pg=(runuser -u postgres --)
  fi
  mkdir -p "$dir" && chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { log "initdb failed, see $dir/initdb.log"; return 1; }
  fi
  if ! "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null 2>&1 || { log "PostgreSQL did not start, see $dir/server.log"; return 1; }
  fi
  local pwfile="$dir/facematch.password"
  if [ ! -s "$pwfile" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$pwfile")
    [ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile"
  fi
  local pw; pw="$(cat "$pwfile")"
  local psql=("${as_pg[@]}" "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  "${psql[@]}" -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'facematch') THEN CREATE ROLE facematch LOGIN; END IF; END\$\$;" \
    -c "ALTER ROLE facematch PASSWORD '$pw'" >/dev/null || { log "could not create the facematch role"; return 1; }
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'facematch_test'")" != "1" ]; then
    "${psql[@]}" -c "CREATE DATABASE facematch_test OWNER facematch" >/dev/null || { log "could not create the database"; return 1; }
  fi
  log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
  echo "export FACEMATCH_TEST_POSTGRES_URL='postgresql://facematch:${pw}@127.0.0.1:${port}/facematch_test'"
}
postgres_service || true

# --- Chromium -----------------------------------------------------------------
# Debian's chromium for the browser test (tests/web), driven by the `playwright`
# Python package with executable_path; Playwright's own browser download is
# never used. An existing FACEMATCH_TEST_CHROMIUM is passed through untouched.
chromium_service() {
  if [ -n "${FACEMATCH_TEST_CHROMIUM:-}" ]; then
    echo "export FACEMATCH_TEST_CHROMIUM='${FACEMATCH_TEST_CHROMIUM}'"; return 0
  fi
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium || { log "chromium unavailable: the browser test will skip"; return 1; }
  fi
  local version
  version="$(/usr/bin/chromium --version 2>/dev/null)" || { log "/usr/bin/chromium does not run: the browser test will skip"; return 1; }
  log "${version:-chromium} at /usr/bin/chromium"
  echo "export FACEMATCH_TEST_CHROMIUM=/usr/bin/chromium"
}
chromium_service || true
