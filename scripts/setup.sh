#!/usr/bin/env bash
# Installs what Circle needs into ./.venv and ./node_modules. Idempotent; sourced by serve.sh and test.sh.
# Usage: scripts/setup.sh [--test]   (--test also installs test tools, Chromium and redis-server)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_install() {
  # Debian packages, only when missing (CI runs as root; a developer may need sudo).
  local missing=()
  for pair in "$@"; do
    local bin=${pair%%:*} pkg=${pair##*:}
    command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

command -v npm >/dev/null 2>&1 || apt_install npm:npm
python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "setup: Python 3.11 is required" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.circle-installed
extras=""
[ $want_test -eq 1 ] && extras="[test]"
# (setup.py and the C sources: `pip install -e .` also builds server/media/*.c)
if [ ! -f "$stamp$extras" ] || [ pyproject.toml -nt "$stamp$extras" ] \
  || [ setup.py -nt "$stamp$extras" ] \
  || [ -n "$(find server/media -name '*.c' -newer "$stamp$extras")" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".$extras"
  touch "$stamp$extras"
fi
if [ ! -d node_modules/socket.io-client ] || [ ! -x node_modules/.bin/biome ] \
  || [ package.json -nt node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --silent
fi

if [ $want_test -eq 1 ]; then
  apt_install chromium:chromium redis-server:redis-server ip:iproute2 espeak-ng:espeak-ng \
    turnserver:coturn
fi
