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
# (section owned by the PostgreSQL store work)

# --- Chromium -----------------------------------------------------------------
# (section owned by the browser test work)
