#!/usr/bin/env bash
# One command: install and start the Circle server on embedded defaults (no Redis, nothing else).
# Extra arguments go to `circle serve` (see `circle serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/circle serve "$@"
