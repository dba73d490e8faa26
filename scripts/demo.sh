#!/usr/bin/env bash
# Serve Podium's demo event at http://127.0.0.1:8000 (README, quick start, command 1).
#
#   bash scripts/demo.sh [podium serve args...]     e.g. --port 9000
#
# Embedded mode by default: a SQLite file in ./data and in-memory queue and channels, so no
# PostgreSQL or Redis is needed. PODIUM_* variables you have set are honoured as they are.
# Needs root or sudo only if python3 cannot create virtual environments (apt python3-venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pick_python() {
  local candidate
  for candidate in ${PODIUM_PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
      'import sys; print(sys.executable); sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
      2>/dev/null; then
      return 0
    fi
  done
  return 1
}

python="$(pick_python || true)"
if [ -z "$python" ]; then
  echo "demo: Podium needs Python 3.11 or newer; python3 is $(python3 --version 2>&1 || echo missing)." >&2
  echo "demo: install one (Debian 12 and Ubuntu 24.04 ship it) or set PODIUM_PYTHON=/path/to/python3.11." >&2
  exit 1
fi

venv=.venv
stamp="$venv/.podium-install"

venv_usable() {
  [ -x "$venv/bin/python" ] \
    && "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

if ! venv_usable; then
  if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    pyver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 || {
        echo "demo: $python cannot create virtual environments; install python3-venv as root." >&2
        exit 1
      }
      sudo=sudo
    fi
    echo "demo: installing python3-venv (apt-get)"
    packages=(python3-venv)
    if apt-cache policy "python${pyver}-venv" 2>/dev/null | grep -q 'Candidate: [^(]'; then
      packages+=("python${pyver}-venv")
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >/dev/null
  fi
  echo "demo: creating $venv with $python"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

# Any install for this pyproject.toml will do (scripts/test.sh installs the test extras too).
hash="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cut -d' ' -f1 "$stamp" 2>/dev/null || true)" != "$hash" ]; then
  echo "demo: installing podium into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e .
  echo "$hash" >"$stamp"
fi

# The built-in judge runs submissions in a bubblewrap sandbox under runguard, which it builds
# with the C compiler once: install what is missing. Without them Podium still serves, logs
# why nothing is judged, and `podium judge doctor` says the same.
judge_packages=()
command -v bwrap >/dev/null 2>&1 || judge_packages+=(bubblewrap)
command -v cc >/dev/null 2>&1 || judge_packages+=(gcc libc6-dev)
if [ "${#judge_packages[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if command -v apt-get >/dev/null 2>&1 && { [ -z "$sudo" ] || command -v sudo >/dev/null 2>&1; }; then
    echo "demo: installing ${judge_packages[*]} (apt-get) for the judge's sandbox"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${judge_packages[@]}" \
      >/dev/null || echo "demo: could not install ${judge_packages[*]}; submissions will stay queued" >&2
  else
    echo "demo: ${judge_packages[*]} missing: submissions will stay queued (see podium judge doctor)" >&2
  fi
fi

"$venv/bin/podium" demo
echo "demo: the built-in judge judges the demo's submissions in the background (seconds)"
exec "$venv/bin/podium" serve "$@"
