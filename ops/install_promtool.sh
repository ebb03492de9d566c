#!/bin/sh
# Installs Prometheus (with promtool, for the alert-rule tests) and Alertmanager from Debian's
# packages: ops/stack/ runs both locally. Idempotent.
set -eu
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 \
  && command -v prometheus-alertmanager >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES="prometheus prometheus-alertmanager"
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null
}
command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null
