#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries if they are missing (non-interactive).
# The tests start their own throwaway cluster from /usr/lib/postgresql/*/bin (initdb,
# pg_ctl) on a free port; nothing here starts or enables a system service.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
  echo "postgres: server binaries present ($(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' '))"
  exit 0
fi

if ! command -v apt-get > /dev/null; then
  echo "postgres: apt-get not available; install PostgreSQL server binaries by hand" >&2
  echo "postgres: (the PostgreSQL tests will be skipped with that reason)" >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d stops the package from starting a system cluster service we do not need
if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql > /dev/null
echo "postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
