#!/usr/bin/env bash
# One command: install everything the tests need (Python packages, npm packages, Debian's
# chromium and redis-server when missing), then run lint (ruff, Biome), type checks and the whole
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check rooms server tests bench
.venv/bin/ruff format --check rooms server tests bench
node_modules/.bin/biome ci static biome.json  # JavaScript: lint and format check
.venv/bin/mypy
exec .venv/bin/pytest -p no:cacheprovider "$@"
