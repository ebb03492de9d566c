#!/bin/sh
# Installs what the browser tests (tests/web) and `bench:web` need. Idempotent.
# - Debian's chromium + chromium-driver (Playwright drives it by executable_path; Playwright's own
#   browser download is not used);
# - axe-core (pinned in tests/web/package.json) from the npm registry, injected into pages by the tests.
set -eu
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
  }
}
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium chromium-driver fonts-dejavu-core
fi
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if [ ! -f tests/web/node_modules/axe-core/axe.min.js ]; then
  npm install --prefix tests/web --no-audit --no-fund --no-package-lock -q >/dev/null
fi
test -f tests/web/node_modules/axe-core/axe.min.js
command -v chromium >/dev/null
