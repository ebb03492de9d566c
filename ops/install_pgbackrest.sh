#!/bin/sh
# Installs pgBackRest (Debian package) for PostgreSQL backups and WAL archiving. Idempotent.
set -eu
if command -v pgbackrest >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
APT="apt-get -o DPkg::Lock::Timeout=600"
$SUDO $APT install -y -q --no-install-recommends pgbackrest >/dev/null 2>&1 || {
  $SUDO $APT update -q >/dev/null && $SUDO $APT install -y -q --no-install-recommends pgbackrest >/dev/null
}
command -v pgbackrest >/dev/null
