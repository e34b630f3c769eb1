# shellcheck shell=bash
# Functions shared by deploy/up, deploy/down, deploy/status and deploy/test. Source deploy/env.sh first.
#
# Every wait has a timeout; every step prints one line starting with "==>"; a failure prints "ERROR: ..." and
# exits 1. Root is needed only to install packages and to start PostgreSQL/RabbitMQ or run rabbitmqctl: as
# another user, sudo is used (non-interactive when there is no terminal); without sudo, a clear error.

# Debian keeps the service tools in sbin, which a non-root PATH often lacks.
case ":$PATH:" in *":/usr/sbin:"*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
export PATH

EJOURNAL_LOG_DIR="$EJOURNAL_STATE_DIR/logs"
_EJ_APT_UPDATED=0

step() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# The project's Python (the venv's once it exists) and the process supervisor (supervisord, driven by deploy/procs.py).
ej_python() {
  if [[ -x $EJOURNAL_HOME/.venv/bin/python ]]; then
    "$EJOURNAL_HOME/.venv/bin/python" "$@"
  else
    python3 "$@"
  fi
}
supervisor() { ej_python "$EJOURNAL_HOME/deploy/procs.py" "$@"; }
supervisor_running() { supervisor ctl ping >/dev/null 2>&1; }

check_state_dir() {
  if ! mkdir -p "$EJOURNAL_LOG_DIR" 2>/dev/null || [[ ! -w $EJOURNAL_STATE_DIR ]]; then
    die "cannot write the state directory $EJOURNAL_STATE_DIR"
  fi
  [[ -s $EJOURNAL_STATE_DIR/secrets.env ]] || die "no secrets in $EJOURNAL_STATE_DIR/secrets.env"
}

# Names end up in SQL, in rabbitmqctl and in the AMQP URI: keep them plain.
check_names() {
  [[ $EJOURNAL_DB_NAME =~ ^[a-z_][a-z0-9_]{0,50}$ ]] ||
    die "EJOURNAL_DB_NAME='$EJOURNAL_DB_NAME': use lowercase letters, digits and _ (at most 51)"
  [[ $EJOURNAL_AMQP_VHOST =~ ^[A-Za-z0-9_.-]+$ ]] ||
    die "EJOURNAL_AMQP_VHOST='$EJOURNAL_AMQP_VHOST': use letters, digits, '_', '.', '-'"
  [[ $EJOURNAL_PORT =~ ^[0-9]+$ ]] || die "EJOURNAL_PORT='$EJOURNAL_PORT' is not a port number"
}

# as_root CMD...: run CMD as root (directly, or through sudo).
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then sudo -- "$@"; else sudo -n -- "$@"; fi
  else
    die "this step needs root and sudo is not installed: run as root, or install sudo ($*)"
  fi
}

# as_postgres CMD...: run CMD as the postgres system user (peer authentication on the local socket).
as_postgres() {
  if [[ $(id -un) == postgres ]]; then
    "$@"
  elif ((EUID == 0)); then
    runuser -u postgres -- "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then sudo -u postgres -- "$@"; else sudo -n -u postgres -- "$@"; fi
  else
    die "this step needs to run as the postgres user and sudo is not installed: run as root ($*)"
  fi
}

# run_logged LOGFILE CMD...: run CMD with its output appended to LOGFILE; on failure show the log's tail.
run_logged() {
  local logfile=$1 rc=0
  shift
  printf '\n--- %s: %s\n' "$(date '+%F %T')" "$*" >>"$logfile"
  "$@" </dev/null >>"$logfile" 2>&1 || rc=$?
  if ((rc != 0)); then
    printf '    (exit code %s; last lines of %s:)\n' "$rc" "$logfile" >&2
    tail -n 25 "$logfile" | sed 's/^/    | /' >&2
  fi
  return "$rc"
}

# apt_install PKG...: install those of the Debian packages that are missing (apt-get update once per run).
apt_install() {
  local pkg missing=() log="$EJOURNAL_LOG_DIR/apt.log"
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "missing ${missing[*]}, and this is not a Debian system (no apt-get): install them yourself"
  if ((_EJ_APT_UPDATED == 0)); then
    step "apt-get update (log: $log)"
    run_logged "$log" as_root timeout 600 apt-get -o DPkg::Lock::Timeout=120 update -q ||
      die "apt-get update failed"
    _EJ_APT_UPDATED=1
  fi
  step "apt-get install -y ${missing[*]} (a few minutes on a fresh machine; log: $log)"
  run_logged "$log" as_root env DEBIAN_FRONTEND=noninteractive timeout 1800 \
    apt-get -o DPkg::Lock::Timeout=120 install -y -q "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
}

# wait_until SECONDS WHAT CMD...: retry CMD every second until it succeeds; 1 after SECONDS.
wait_until() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      warn "$what: not ready after ${seconds}s"
      return 1
    fi
    sleep 1
  done
}

# ----------------------------------------------------------------------------------------------- Python

ensure_python_venv() {
  local venv="$EJOURNAL_HOME/.venv" py="${EJOURNAL_PYTHON:-python3}" version
  local stamp="$EJOURNAL_HOME/.venv/.requirements-installed" log="$EJOURNAL_LOG_DIR/pip.log"
  local want='import sys; sys.exit(sys.version_info[:2] != (3, 11))'
  if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c "$want" 2>/dev/null; then
    step "Python venv: $venv ($("$venv/bin/python" -V 2>&1))"
  else
    if ! command -v "$py" >/dev/null 2>&1 || ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
      apt_install python3 python3-venv
    fi
    command -v "$py" >/dev/null 2>&1 || die "no $py: install Python 3.11 or set EJOURNAL_PYTHON"
    version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    "$py" -c "$want" || die "Python 3.11 is required, $py is $version: set EJOURNAL_PYTHON=/path/to/python3.11"
    step "creating the Python venv $venv ($py, Python $version)"
    run_logged "$log" timeout 300 "$py" -m venv --clear "$venv" || die "python3 -m venv failed"
    rm -f "$stamp"
  fi
  if [[ ! -f $stamp || $EJOURNAL_HOME/requirements.txt -nt $stamp ]]; then
    step "pip install -r requirements.txt (log: $log)"
    run_logged "$log" timeout 1800 "$venv/bin/python" -m pip install --disable-pip-version-check \
      --progress-bar off -r "$EJOURNAL_HOME/requirements.txt" || die "pip install failed"
    touch "$stamp"
  else
    info "requirements: up to date"
  fi
}

# module_exists MODULE: 0 when the project's Python can find MODULE; 1 when it cannot; 2 when importing its
# parent package fails (the error is printed).
module_exists() {
  ej_python - "$1" <<'PY'
import importlib.util
import sys

try:
    found = importlib.util.find_spec(sys.argv[1]) is not None
except Exception as exc:
    print(f"importing {sys.argv[1]} fails: {type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(2)
sys.exit(0 if found else 1)
PY
}

# require_module MODULE WHY: die with a clear message unless MODULE exists.
require_module() {
  local rc=0
  module_exists "$1" || rc=$?
  case $rc in
    0) ;;
    1) die "the Python module $1 is missing ($2): it has not been written yet or PYTHONPATH is wrong" ;;
    *) die "the Python module $1 does not import ($2)" ;;
  esac
}

# run_provision required|optional: `python -m deploy.ops.provision` (database, roles, schemas, migrations, queues).
run_provision() {
  local rc=0
  module_exists deploy.ops.provision || rc=$?
  if ((rc == 1)) && [[ $1 == optional ]]; then
    step "provisioning: skipped (deploy.ops.provision is not written yet)"
    return 0
  fi
  ((rc == 0)) || require_module deploy.ops.provision "it creates the database, roles, schemas and queues"
  step "provisioning database $EJOURNAL_DB_NAME and vhost $EJOURNAL_AMQP_VHOST (python -m deploy.ops.provision)"
  (cd "$EJOURNAL_HOME" && timeout "${EJOURNAL_PROVISION_TIMEOUT:-600}" python -m deploy.ops.provision) ||
    die "python -m deploy.ops.provision failed"
}

# ----------------------------------------------------------------------------------------------- PostgreSQL

pg_is_local() { [[ $EJOURNAL_PG_HOST == 127.0.0.1 || $EJOURNAL_PG_HOST == localhost || $EJOURNAL_PG_HOST == ::1 ]]; }

pg_ready() {
  command -v pg_isready >/dev/null 2>&1 &&
    timeout 15 pg_isready -q -h "$EJOURNAL_PG_HOST" -p "$EJOURNAL_PG_PORT" -t 10 >/dev/null 2>&1
}

# The newest PostgreSQL version with a Debian cluster configuration (EJOURNAL_PG_VERSION overrides).
pg_version() {
  local dir best=""
  if [[ -n ${EJOURNAL_PG_VERSION:-} ]]; then
    printf '%s\n' "$EJOURNAL_PG_VERSION"
    return
  fi
  for dir in /etc/postgresql/*/main; do
    [[ -d $dir ]] || continue
    dir=${dir%/main}
    best=$(printf '%s\n%s\n' "$best" "${dir##*/}" | sort -V | tail -n 1)
  done
  printf '%s\n' "$best"
}

# pg_superuser_psql ARGS...: psql as the postgres superuser over the local socket (peer or trust authentication).
pg_superuser_psql() {
  (cd / && as_postgres timeout 60 psql -X -q -v ON_ERROR_STOP=1 -p "$EJOURNAL_PG_PORT" "$@")
}

# psql as this stack's admin role over TCP with its password.
pg_admin_psql() {
  PGPASSWORD="$EJOURNAL_PG_ADMIN_PASSWORD" PGCONNECT_TIMEOUT=10 timeout 60 \
    psql -X -q -v ON_ERROR_STOP=1 -h "$EJOURNAL_PG_HOST" -p "$EJOURNAL_PG_PORT" \
    -U "${EJOURNAL_DB_NAME}_admin" -d postgres "$@"
}

# A value for psql's \set '...': backslashes and quotes escaped.
_psql_quote() {
  local v=${1//\\/\\\\}
  printf "'%s'" "${v//\'/\'\'}"
}

ensure_postgres() {
  local version log="$EJOURNAL_LOG_DIR/postgresql-start.log" role="${EJOURNAL_DB_NAME}_admin"
  if pg_ready; then
    step "PostgreSQL: running on $EJOURNAL_PG_HOST:$EJOURNAL_PG_PORT"
  else
    pg_is_local || die "PostgreSQL on $EJOURNAL_PG_HOST:$EJOURNAL_PG_PORT does not answer (not local: start it there)"
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z $(pg_version) ]]; then
      apt_install postgresql
    fi
    version=$(pg_version)
    [[ -n $version ]] || die "PostgreSQL is installed but has no cluster in /etc/postgresql/*/main"
    if ! pg_ready; then
      step "PostgreSQL: starting cluster $version/main (pg_ctlcluster --skip-systemctl-redirect)"
      run_logged "$log" as_root timeout 120 pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        warn "pg_ctlcluster $version main start failed (it may be running already, on another port)"
      if ! wait_until 60 "PostgreSQL on port $EJOURNAL_PG_PORT" pg_ready; then
        command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters >&2
        die "PostgreSQL does not answer on $EJOURNAL_PG_HOST:$EJOURNAL_PG_PORT (see $log; EJOURNAL_PG_PORT?)"
      fi
    fi
    info "PostgreSQL $version running on $EJOURNAL_PG_HOST:$EJOURNAL_PG_PORT"
  fi

  if pg_is_local && id postgres >/dev/null 2>&1; then
    step "PostgreSQL: admin role $role (LOGIN CREATEDB CREATEROLE, password from secrets.env)"
    pg_superuser_psql -d postgres >/dev/null <<SQL || die "could not create or update the role $role"
\\set role $(_psql_quote "$role")
\\set pw $(_psql_quote "$EJOURNAL_PG_ADMIN_PASSWORD")
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
ALTER ROLE :"role" WITH LOGIN CREATEDB CREATEROLE PASSWORD :'pw';
SQL
  fi
  pg_admin_psql -At -c 'SELECT 1' >/dev/null ||
    die "cannot log in to PostgreSQL as $role over TCP with its password: pg_hba.conf needs" \
      "'host all all 127.0.0.1/32 scram-sha-256' (Debian's default) or md5"
  info "TCP password login as $role: ok"
}

# ----------------------------------------------------------------------------------------------- RabbitMQ

rabbitmqctl_() { as_root timeout 60 rabbitmqctl -q "$@"; }
rabbit_running() { rabbitmqctl_ status >/dev/null 2>&1; }

ensure_rabbitmq() {
  local log="$EJOURNAL_LOG_DIR/rabbitmq-start.log" deadline
  if ! command -v rabbitmqctl >/dev/null 2>&1 || ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install rabbitmq-server
  fi
  if rabbit_running; then
    step "RabbitMQ: running"
  else
    step "RabbitMQ: starting (rabbitmq-server -detached)"
    run_logged "$log" as_root timeout 60 rabbitmq-server -detached ||
      warn "rabbitmq-server -detached failed (it may be starting already)"
    step "RabbitMQ: waiting for the node (rabbitmqctl await_startup, at most 120 s)"
    deadline=$((SECONDS + 120))
    until rabbitmqctl_ await_startup --timeout 20 >>"$log" 2>&1; do
      ((SECONDS < deadline)) || die "RabbitMQ did not start within 120 s (see $log and /var/log/rabbitmq/)"
      sleep 2
    done
    info "RabbitMQ started"
  fi
  if as_root timeout 60 rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1; then
    info "plugin rabbitmq_management: enabled"
  else
    step "RabbitMQ: enabling the rabbitmq_management plugin"
    run_logged "$log" as_root timeout 120 rabbitmq-plugins enable rabbitmq_management ||
      die "could not enable rabbitmq_management"
  fi
  if rabbitmqctl_ list_vhosts name | grep -qxF -- "$EJOURNAL_AMQP_VHOST"; then
    info "vhost $EJOURNAL_AMQP_VHOST: exists"
  else
    step "RabbitMQ: adding vhost $EJOURNAL_AMQP_VHOST"
    local out
    out=$(rabbitmqctl_ add_vhost "$EJOURNAL_AMQP_VHOST" 2>&1) || [[ $out == *"already exists"* ]] ||
      die "rabbitmqctl add_vhost $EJOURNAL_AMQP_VHOST failed: $out"
  fi
  rabbitmqctl_ set_permissions -p "$EJOURNAL_AMQP_VHOST" guest '.*' '.*' '.*' >/dev/null ||
    die "rabbitmqctl set_permissions -p $EJOURNAL_AMQP_VHOST guest failed"
  info "guest has full permissions on vhost $EJOURNAL_AMQP_VHOST"
}

# ----------------------------------------------------------------------------------------------- HTTP

# http_code URL: the HTTP status code of a GET (000 when nothing answers), within 5 s.
http_code() {
  local code
  if command -v curl >/dev/null 2>&1; then
    code=$(curl -sS -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null) || true
  else
    code=$(ej_python - "$1" <<'PY' 2>/dev/null
import sys
import urllib.error
import urllib.request

try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except Exception:
    print("000")
PY
    ) || true
  fi
  printf '%s\n' "${code:-000}"
}

# http_body URL: the body of a GET (empty when nothing answers), within 5 s, at most 300 characters.
http_body() {
  ej_python - "$1" <<'PY' 2>/dev/null || true
import sys
import urllib.error
import urllib.request

try:
    body = urllib.request.urlopen(sys.argv[1], timeout=5).read()
except urllib.error.HTTPError as exc:
    body = exc.read()
except Exception:
    body = b""
print(body.decode("utf-8", "replace").strip()[:300])
PY
}

# ----------------------------------------------------------------------------------------------- the stack

# Settings `deploy/up` records so that later commands (up again, status, down) use the same ones.
write_stack_env() {
  local file="$EJOURNAL_STATE_DIR/stack.env"
  {
    printf '# written by deploy/up on %s\n' "$(date '+%F %T')"
    printf 'EJOURNAL_PRESET=%s\n' "$EJOURNAL_PRESET"
    printf 'EJOURNAL_SIMULATION=%s\n' "$EJOURNAL_SIMULATION"
    printf 'EJOURNAL_PORT=%s\n' "$EJOURNAL_PORT"
    printf 'EJOURNAL_DB_NAME=%s\n' "$EJOURNAL_DB_NAME"
    printf 'EJOURNAL_AMQP_VHOST=%s\n' "$EJOURNAL_AMQP_VHOST"
    printf 'EJOURNAL_PG_HOST=%s\n' "$EJOURNAL_PG_HOST"
    printf 'EJOURNAL_PG_PORT=%s\n' "$EJOURNAL_PG_PORT"
  } >"$file.tmp"
  mv -f "$file.tmp" "$file"
}

# stack_settings: the recorded settings, without the comment line (to compare two versions).
stack_settings() { grep -v "^#" "$EJOURNAL_STATE_DIR/stack.env" 2>/dev/null || true; }

# show_log_tails [N]: the last N lines of every log of the stack.
show_log_tails() {
  local n=${1:-20} f
  for f in "$EJOURNAL_LOG_DIR"/*.log; do
    [[ -s $f ]] || continue
    printf '\n----- %s (last %s lines)\n' "$f" "$n"
    tail -n "$n" "$f"
  done
}

# stop_supervisor: shut the supervisor down and wait until its pid is gone; kill it when it does not go.
stop_supervisor() {
  local pid="" rc=0
  pid=$(cat "$EJOURNAL_STATE_DIR/supervisor.pid" 2>/dev/null) || pid=""
  if supervisor_running; then
    step "stopping the supervisor and its processes (SIGTERM, SIGKILL after 10 s)"
    supervisor ctl --timeout 60 shutdown || rc=$?
  fi
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q supervisord "/proc/$pid/cmdline" 2>/dev/null; then
    if ! wait_until 30 "supervisor pid $pid exit" bash -c "! kill -0 $pid"; then
      warn "the supervisor (pid $pid) does not exit: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
    fi
  fi
  # Children of a supervisor that was killed, if any.
  supervisor cleanup >/dev/null 2>&1 || true
  return "$rc"
}

# shellcheck source=deploy/fonts.sh
source "$EJOURNAL_HOME/deploy/fonts.sh"

# ----------------------------------------------------------------------------------------------- browser

# ensure_chromium: Debian's Chromium, which the browser tests (tests/browser) drive through Playwright. The
# Python package `playwright` is pinned in requirements.txt; its own browser downloads are never used (the
# tests launch this executable), so nothing is fetched outside Debian's archive and PyPI.
EJOURNAL_CHROMIUM=${EJOURNAL_CHROMIUM:-/usr/bin/chromium}
export EJOURNAL_CHROMIUM

ensure_chromium() {
  if [[ -x $EJOURNAL_CHROMIUM ]]; then
    return 0
  fi
  apt_install chromium
  [[ -x $EJOURNAL_CHROMIUM ]] || die "no $EJOURNAL_CHROMIUM after installing chromium (set EJOURNAL_CHROMIUM?)"
  step "browser: $EJOURNAL_CHROMIUM"
}
