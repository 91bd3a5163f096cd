#!/usr/bin/env bash
# Installs Debian's chromium, the browser the report's tests open the report in (test/report-browser.test.ts),
# when /usr/bin/chromium is missing. Without apt-get it says so and exits 0: those tests then skip, saying why.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "install-chromium: /usr/bin/chromium is installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no apt-get on this machine: install Chromium at /usr/bin/chromium yourself (the report's browser tests skip without it)"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-chromium: not root and no sudo: run 'apt-get install chromium' as root (the report's browser tests skip without it)"
    exit 0
  fi
  sudo="sudo"
fi
echo "install-chromium: installing Debian's chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
