#!/bin/sh
# Installs the PostgreSQL JDBC driver for the Spark causal engine from Debian (it is not fetched
# from Maven: this machine reaches only PyPI, Debian and npm). Idempotent: does nothing when the
# jar is already there. The path is the default of the CO_SPARK_JDBC_JAR setting.
set -eu
JAR=/usr/share/java/postgresql.jar
if [ -f "$JAR" ]; then
  echo "jdbc driver present: $JAR"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get install -y -q libpostgresql-jdbc-java >/dev/null || {
  $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q libpostgresql-jdbc-java >/dev/null
}
test -f "$JAR"
echo "jdbc driver installed: $JAR"
