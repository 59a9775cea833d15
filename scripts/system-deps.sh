#!/usr/bin/env bash
# Install the Debian packages the test suite and benchmarks need, only where they are missing.
set -euo pipefail

need=()
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v wrk >/dev/null 2>&1 || need+=(wrk)  # the online exchange benchmark's load generator

[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
