#!/usr/bin/env bash
# Run Podium's whole test suite on this machine (README, quick start, command 2).
#
#   bash scripts/test.sh [pytest args...]
#
# 1. scripts/provision.sh: PostgreSQL, Redis, bubblewrap, Chromium and Docker (installs what is
#    missing; needs root or sudo only then).
# 2. .venv with `pip install -e '.[test]'`, redone only when pyproject.toml changed.
# 3. pytest -v, with the services' URLs in PODIUM_TEST_* (values already set are kept).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Values the caller set win over what provisioning finds.
caller_docker="${PODIUM_TEST_DOCKER:-}"
caller_chromium="${PODIUM_TEST_CHROMIUM:-}"

provision_env="$(mktemp -t podium-provision.XXXXXX)"
if ! bash scripts/provision.sh --env-file "$provision_env"; then
  rm -f "$provision_env"
  echo "test: provisioning failed (see above); not running the tests." >&2
  exit 1
fi
# shellcheck source=/dev/null
. "$provision_env"
rm -f "$provision_env"

python="${PODIUM_PYTHON:?provision.sh did not report a python}"
venv=.venv
stamp="$venv/.podium-install"

if [ ! -x "$venv/bin/python" ] \
  || ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "test: creating $venv with $python"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

# The stamp records pyproject.toml's hash and the extras installed (scripts/demo.sh shares it).
want="$(sha256sum pyproject.toml | cut -d' ' -f1) test"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "test: installing podium[test] into $venv (pyproject.toml changed or first run)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
  echo "$want" >"$stamp"
fi

export PODIUM_TEST_POSTGRES_URL="${PODIUM_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
export PODIUM_TEST_REDIS_URL="${PODIUM_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
export PODIUM_TEST_DOCKER="${caller_docker:-${PODIUM_TEST_DOCKER:-unavailable}}"
export PODIUM_TEST_CHROMIUM="${caller_chromium:-${PODIUM_TEST_CHROMIUM:-}}"
echo "test: PODIUM_TEST_POSTGRES_URL=$PODIUM_TEST_POSTGRES_URL PODIUM_TEST_REDIS_URL=$PODIUM_TEST_REDIS_URL"
echo "test: PODIUM_TEST_DOCKER=$PODIUM_TEST_DOCKER PODIUM_TEST_CHROMIUM=$PODIUM_TEST_CHROMIUM"

# One test process per core (pytest-xdist): each has its own PostgreSQL database and Redis key
# prefixes. PODIUM_TEST_WORKERS=0 runs everything in this process.
workers="${PODIUM_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
echo "test: $workers test processes (PODIUM_TEST_WORKERS)"
exec "$venv/bin/python" -m pytest -v -n "$workers" "$@"
