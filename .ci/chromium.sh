#!/usr/bin/env bash
# Install Debian's Chromium for the inbox's real-browser test (driven by Playwright from
# PyPI with executable_path; never `playwright install`, which downloads a browser build).
# On failure the browser test skips and says why; CI still runs everything else.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: present ($(/usr/bin/chromium --version 2> /dev/null || echo unknown version))"
  exit 0
fi

if ! command -v apt-get > /dev/null; then
  echo "chromium: apt-get not available; the browser test will be skipped" >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium > /dev/null
echo "chromium: installed ($(/usr/bin/chromium --version 2> /dev/null || echo unknown version))"
