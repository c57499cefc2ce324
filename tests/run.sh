#!/usr/bin/env bash
# Set up everything the test suite needs, then run it. Safe to re-run.
#   bash tests/run.sh [pytest args…]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# 1. Python packages, into ./.venv (reinstalled only when pyproject.toml changes).
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.test-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python packages"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,build]'
  echo "$want" > "$stamp"
fi

# 2. Debian's Chromium for the browser tests (never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing chromium"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# 3. npm test peers (web-push-testing) into an ignored node_modules.
bash tests/peers/install.sh

# 4. Static checks: lint, format, types, the package's layers (zero findings, or the run fails).
echo "==> ruff, mypy, import-linter"
.venv/bin/ruff check -q notifier tests bench
.venv/bin/ruff format --check -q notifier tests bench
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache

# 5. The suite. pytest's exit code 5 means no test ran: that is a failure here.
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
