#!/usr/bin/env bash
# Make this Debian/Ubuntu machine ready for Podium's whole test suite.
#
# Ensures, installing from the distribution's packages only when something is missing:
#   python3 >= 3.11 with venv    PostgreSQL on 127.0.0.1:5432 (user postgres, no password)
#   Redis on 127.0.0.1:6379      bubblewrap     chromium     a running Docker engine
#   the judges' toolchains: gcc, g++, javac, /usr/bin/node, /usr/bin/rustc; pandoc
#
# Idempotent: when everything is there it only checks, and finishes in about a second.
# Needs root or sudo only when it has to install or start something. Every missing service is a
# hard failure, except the Docker engine: when it cannot start, a WARNING is printed and
# PODIUM_TEST_DOCKER=unavailable is reported, so that only the docker tests skip.
#
# Usage: scripts/provision.sh [--env-file PATH]
#   --env-file PATH   write PODIUM_TEST_DOCKER, PODIUM_TEST_CHROMIUM and PODIUM_PYTHON there
#                     as shell assignments (scripts/test.sh sources it).
#
# Honoured: PODIUM_TEST_POSTGRES_URL / PODIUM_TEST_REDIS_URL, when set, are checked instead of
# the local defaults, and nothing is installed or started for that service.
set -euo pipefail

PG_URL_DEFAULT="postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
DOCKER_WAIT_SECONDS=30

env_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) env_file="${2:?--env-file needs a path}"; shift 2 ;;
    --env-file=*) env_file="${1#*=}"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "provision: unknown argument: $1" >&2; exit 2 ;;
  esac
done

# -- helpers ---------------------------------------------------------------------------------

die() {
  printf 'provision: ERROR: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '           %s\n' "$line" >&2; done
  exit 1
}

status() { printf '  %-11s %-12s %s\n' "$1" "$2" "${3:-}"; }

have() { command -v "$1" >/dev/null 2>&1; }

systemd_running() { [ -d /run/systemd/system ]; }

SUDO_CMD=""
need_root() {
  # Called only when something must be installed or started.
  if [ "$(id -u)" -eq 0 ]; then
    SUDO_CMD=""
  elif have sudo; then
    SUDO_CMD="sudo"
  else
    die "this step needs root: run as root or install sudo (needed: $1)."
  fi
}

as_root() {
  need_root "$*"
  ${SUDO_CMD:+$SUDO_CMD} "$@"
}

APT_UPDATED=0
apt_install() {
  [ $# -gt 0 ] || return 0
  have apt-get || die "cannot install $* : apt-get not found (this script supports Debian/Ubuntu)." \
    "Install them by hand, then run it again."
  need_root "apt-get install $*"
  local log
  log="$(mktemp -t podium-apt.XXXXXX)"
  echo "provision: installing $* (apt-get; output in $log)"
  if [ "$APT_UPDATED" -eq 0 ]; then
    ${SUDO_CMD:+$SUDO_CMD} env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 \
      || { tail -n 20 "$log" >&2; die "apt-get update failed (log: $log)."; }
    APT_UPDATED=1
  fi
  ${SUDO_CMD:+$SUDO_CMD} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" >>"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "apt-get install $* failed (log: $log)."; }
  rm -f "$log"
}

apt_has_candidate() {
  have apt-cache || return 1
  apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'
}

# -- python ----------------------------------------------------------------------------------

pick_python() {
  # The newest python3 >= 3.11 on PATH; PODIUM_PYTHON wins when set.
  local candidate
  for candidate in ${PODIUM_PYTHON:-} python3.13 python3.12 python3.11 python3; do
    # Print the real executable (not a pyenv shim), so later calls are fast and stable.
    if have "$candidate" && "$candidate" -c \
      'import sys; print(sys.executable); sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
      2>/dev/null; then
      return 0
    fi
  done
  return 1
}

python_venv_ok() { "$1" -c 'import venv, ensurepip' >/dev/null 2>&1; }

# -- postgresql ------------------------------------------------------------------------------

PG_URL="${PODIUM_TEST_POSTGRES_URL:-$PG_URL_DEFAULT}"
PG_URL="${PG_URL/postgresql+asyncpg:\/\//postgresql://}"

pg_ok() {
  have psql && PGCONNECT_TIMEOUT=3 psql -w -X -q -A -t -d "$PG_URL" -c 'select 1' >/dev/null 2>&1
}

pg_clusters() { ls /etc/postgresql/*/*/postgresql.conf 2>/dev/null || true; }

pg_trust_local() {
  # Only for a server this script installed: trust local TCP connections (first match wins,
  # so the lines go on top of pg_hba.conf).
  local conf hba
  for conf in $(pg_clusters); do
    hba="$(dirname "$conf")/pg_hba.conf"
    grep -q 'podium provision' "$hba" && continue
    as_root sh -c "{ printf '%s\n' '# podium provision: trust local TCP for the test suite' \
      'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust'; cat '$hba'; } > '$hba.new' \
      && cat '$hba.new' > '$hba' && rm -f '$hba.new'"
  done
}

pg_start() {
  # pg_start FRESH: start the clusters on port 5432; reload one only if this script set it up.
  local fresh="$1"
  if systemd_running; then
    as_root systemctl start postgresql >/dev/null 2>&1 || true
  fi
  local ver name port state rest
  while read -r ver name port state rest; do
    if [ "$port" = 5432 ] && [ "$state" != online ]; then
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >/dev/null 2>&1 \
        || as_root pg_ctlcluster "$ver" "$name" start >/dev/null 2>&1 || true
    elif [ "$port" = 5432 ] && [ "$fresh" -eq 1 ]; then
      as_root pg_ctlcluster "$ver" "$name" reload >/dev/null 2>&1 || true
    fi
  done < <(pg_lsclusters -h 2>/dev/null || true)
}

pg_version() { PGCONNECT_TIMEOUT=3 psql -w -X -q -A -t -d "$PG_URL" -c 'show server_version' 2>/dev/null | cut -d' ' -f1; }

# -- redis -----------------------------------------------------------------------------------

redis_ok() {
  if [ -n "${PODIUM_TEST_REDIS_URL:-}" ]; then
    have redis-cli && redis-cli -u "$PODIUM_TEST_REDIS_URL" ping 2>/dev/null | grep -q PONG
    return
  fi
  timeout 3 bash -c "exec 3<>/dev/tcp/$REDIS_HOST/$REDIS_PORT && printf 'PING\r\n' >&3 \
    && IFS= read -r line <&3 && [ \"\${line%\$'\r'}\" = '+PONG' ]" 2>/dev/null
}

redis_start() {
  if systemd_running; then
    as_root systemctl start redis-server >/dev/null 2>&1 || true
    redis_ok && return 0
  fi
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/podium-provision.log \
    >/dev/null 2>&1 \
  || as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/podium-provision.log \
    >/dev/null 2>&1 || true
}

wait_for() {
  # wait_for SECONDS COMMAND...: poll every half second.
  local tries=$(( $1 * 2 ))
  shift
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    sleep 0.5
    tries=$(( tries - 1 ))
  done
  return 1
}

# -- docker ----------------------------------------------------------------------------------

DOCKERD_LOG=/var/log/podium-dockerd.log

docker_ok() { have docker && timeout 10 docker info >/dev/null 2>&1; }

DOCKERD_PID=""
dockerd_start() {
  # dockerd_start [extra dockerd flags]: start it detached from this script; remember its pid.
  DOCKERD_PID="$(as_root sh -c "nohup setsid dockerd $* >>'$DOCKERD_LOG' 2>&1 </dev/null & echo \$!")"
}

dockerd_alive() {
  # The engine this script started (or, if none, the one in the pid file) is still running.
  local pid="${DOCKERD_PID:-$(cat /var/run/docker.pid 2>/dev/null || true)}"
  [ -n "$pid" ] && grep -q '^State:[[:space:]]*[^Z]' "/proc/$pid/status" 2>/dev/null
}

dockerd_up_or_dead() { docker_ok || ! dockerd_alive; }

docker_warning() {
  local reason="$1"
  {
    echo
    echo "################################################################################"
    echo "#  WARNING: no usable Docker engine on this machine."
    echo "#  $reason"
    echo "#  Tests marked 'docker' will be SKIPPED (PODIUM_TEST_DOCKER=unavailable)."
    echo "#  Everything else runs as usual. Details: $DOCKERD_LOG"
    if [ -r "$DOCKERD_LOG" ]; then
      tail -n 5 "$DOCKERD_LOG" | sed 's/^/#    /'
    fi
    echo "################################################################################"
    echo
  } >&2
}

# -- main ------------------------------------------------------------------------------------

started_at=$SECONDS
echo "provision: checking the services Podium's tests use"

# 1. Decide what to install, all in one apt-get run.
packages=()

python="$(pick_python || true)"
if [ -z "$python" ]; then
  die "no python3 >= 3.11 found on PATH (python3 is $(python3 --version 2>&1 || echo missing))." \
    "Podium needs Python 3.11 or newer: install it (Debian 12 and Ubuntu 24.04 ship one)," \
    "or set PODIUM_PYTHON=/path/to/python3.11."
fi
venv_ok=0
python_venv_ok "$python" && venv_ok=1
if [ "$venv_ok" -eq 0 ]; then
  pyver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  packages+=(python3-venv)
  if apt_has_candidate "python${pyver}-venv"; then packages+=("python${pyver}-venv"); fi
fi

pg_fresh=0
if [ -z "${PODIUM_TEST_POSTGRES_URL:-}" ] && ! pg_ok; then
  if [ -z "$(pg_clusters)" ]; then
    packages+=(postgresql)
    pg_fresh=1
  elif ! have psql; then
    packages+=(postgresql-client)
  fi
fi

if [ -z "${PODIUM_TEST_REDIS_URL:-}" ] && ! redis_ok && ! have redis-server; then
  packages+=(redis-server)
fi

have bwrap || packages+=(bubblewrap)

# Toolchains the language judges run (Python 3, C and C++ with a static libc, Java).
have gcc || packages+=(gcc libc6-dev)
have g++ || packages+=(g++)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] \
  || packages+=(libc6-dev)
have javac || packages+=(default-jdk-headless)
# Node.js and Rust where the sandboxes look (/usr/bin): a rustup or nvm toolchain under a home
# directory is invisible to them. Debian's rustc brings its sysroot (/usr/lib/rustlib) and cc.
[ -x /usr/bin/node ] || packages+=(nodejs)
[ -x /usr/bin/rustc ] || packages+=(rustc)
# LaTeX problem statements (Kattis problem.en.tex) are converted to HTML with pandoc.
have pandoc || packages+=(pandoc)

chromium_bin() { command -v chromium || command -v chromium-browser || true; }
if [ -z "$(chromium_bin)" ]; then
  if apt_has_candidate chromium || ! apt_has_candidate chromium-browser; then
    packages+=(chromium fonts-liberation)
  else
    packages+=(chromium-browser)  # Ubuntu: the deb is a wrapper around the snap
  fi
fi

if ! docker_ok && ! have dockerd; then
  packages+=(docker.io)
fi

if [ "${#packages[@]}" -gt 0 ]; then
  apt_install "${packages[@]}"
fi

failed=0

# 2. python
if [ "$venv_ok" -eq 1 ] || python_venv_ok "$python"; then
  status python ok "$python ($("$python" --version 2>&1 | cut -d' ' -f2), venv available)"
else
  status python MISSING "$python cannot create virtual environments (ensurepip is missing)"
  failed=1
fi

# 3. PostgreSQL
if [ -n "${PODIUM_TEST_POSTGRES_URL:-}" ]; then
  if pg_ok; then
    status postgresql ok "$PG_URL (PODIUM_TEST_POSTGRES_URL, PostgreSQL $(pg_version))"
  else
    status postgresql FAILED "cannot connect to PODIUM_TEST_POSTGRES_URL=$PG_URL"
    failed=1
  fi
else
  note="already running"
  if ! pg_ok; then
    [ "$pg_fresh" -eq 1 ] && pg_trust_local
    pg_start "$pg_fresh"
    wait_for 20 pg_ok || true
    note="started"
    [ "$pg_fresh" -eq 1 ] && note="installed and started"
  fi
  if pg_ok; then
    status postgresql ok "$PG_URL (PostgreSQL $(pg_version), $note)"
  else
    status postgresql FAILED "cannot connect to $PG_URL"
    if have pg_isready && pg_isready -q -h 127.0.0.1 -p 5432; then
      echo "provision: a server is listening on 127.0.0.1:5432 but refuses user postgres" \
        "without a password. This script leaves an existing server alone: add" \
        "'host all all 127.0.0.1/32 trust' to its pg_hba.conf and reload it, or set" \
        "PODIUM_TEST_POSTGRES_URL to a URL that works." >&2
    fi
    failed=1
  fi
fi

# 4. Redis
if [ -n "${PODIUM_TEST_REDIS_URL:-}" ]; then
  if redis_ok; then
    status redis ok "$PODIUM_TEST_REDIS_URL (PODIUM_TEST_REDIS_URL)"
  else
    status redis FAILED "no PONG from PODIUM_TEST_REDIS_URL=$PODIUM_TEST_REDIS_URL (redis-cli needed)"
    failed=1
  fi
else
  note="already running"
  if ! redis_ok; then
    redis_start
    wait_for 10 redis_ok || true
    note="started"
  fi
  if redis_ok; then
    status redis ok "redis://$REDIS_HOST:$REDIS_PORT/0 ($note)"
  else
    status redis FAILED "nothing answers PING on $REDIS_HOST:$REDIS_PORT (log: /var/log/redis/)"
    failed=1
  fi
fi

# 5. bubblewrap
if have bwrap; then
  status bubblewrap ok "$(command -v bwrap) ($(bwrap --version 2>/dev/null | cut -d' ' -f2))"
else
  status bubblewrap MISSING "bwrap not found after install"
  failed=1
fi

# 5b. compilers of the language judges
for tool in gcc g++ javac python3; do
  if have "$tool"; then
    status "$tool" ok "$(command -v "$tool")"
  else
    status "$tool" MISSING "$tool not found after install"
    failed=1
  fi
done
for tool in /usr/bin/node /usr/bin/rustc /usr/bin/pandoc; do
  if [ -x "$tool" ]; then
    status "${tool##*/}" ok "$tool ($("$tool" --version 2>/dev/null | head -n 1))"
  else
    status "${tool##*/}" MISSING "$tool not found after install"
    failed=1
  fi
done

# 6. chromium
chromium="$(chromium_bin)"
if [ -n "$chromium" ]; then
  version="$(dpkg-query -W -f '${Version}' chromium 2>/dev/null \
    || dpkg-query -W -f '${Version}' chromium-browser 2>/dev/null || echo '?')"
  status chromium ok "$chromium ($version)"
else
  status chromium MISSING "chromium not found after install"
  failed=1
fi

# 7. Docker: the only service whose absence is a warning, not a failure.
docker_state=available
if docker_ok; then
  status docker ok "engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null) (already running)"
elif ! have dockerd; then
  docker_state=unavailable
  status docker UNAVAILABLE "dockerd not found after install"
  docker_warning "dockerd is not installed."
else
  note="started"
  if systemd_running; then
    as_root systemctl start docker >/dev/null 2>&1 || true
    wait_for 10 docker_ok || true
  fi
  if ! docker_ok && ! dockerd_alive; then
    dockerd_start
    wait_for "$DOCKER_WAIT_SECONDS" dockerd_up_or_dead || true
    if ! docker_ok && ! dockerd_alive; then
      # It died at once: sandboxes often forbid the iptables/bridge setup. Judging containers
      # run with --network none, so an engine without its bridge is still useful.
      dockerd_start --iptables=false --bridge=none
      note="started with --iptables=false --bridge=none"
    fi
  fi
  wait_for "$DOCKER_WAIT_SECONDS" docker_ok || true
  if docker_ok; then
    status docker ok "engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null) ($note)"
  elif [ -n "$SUDO_CMD" ] && timeout 10 sudo docker info >/dev/null 2>&1; then
    docker_state=unavailable
    status docker UNAVAILABLE "the engine runs, but $(id -un) may not use its socket"
    docker_warning "The engine runs, but $(id -un) cannot use it: sudo usermod -aG docker $(id -un), log in again."
  else
    docker_state=unavailable
    status docker UNAVAILABLE "dockerd did not start within ${DOCKER_WAIT_SECONDS}s"
    docker_warning "dockerd did not start within ${DOCKER_WAIT_SECONDS}s (this sandbox may forbid it)."
  fi
fi
echo "PODIUM_TEST_DOCKER=$docker_state"

if [ -n "$env_file" ]; then
  {
    printf 'PODIUM_TEST_DOCKER=%q\n' "$docker_state"
    printf 'PODIUM_TEST_CHROMIUM=%q\n' "$chromium"
    printf 'PODIUM_PYTHON=%q\n' "$python"
  } >"$env_file"
fi

if [ "$failed" -ne 0 ]; then
  die "some services are missing (see the lines above); the test suite needs them."
fi
echo "provision: ready in $(( SECONDS - started_at ))s"
