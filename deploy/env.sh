# shellcheck shell=bash
# The stack's environment. Sourced by every deploy/ script (and usable by hand: `source deploy/env.sh`).
#
# Every variable may be set by the caller; what the caller leaves unset comes, in this order, from
# $EJOURNAL_STATE_DIR/stack.env (what `deploy/up` recorded for this stack), then from the defaults below.
# Two stacks with different EJOURNAL_STATE_DIR / DB_NAME / AMQP_VHOST / PORT run side by side.
# Secrets are generated once per stack into $EJOURNAL_STATE_DIR/secrets.env (mode 600).
#
# This file only sets variables and creates the state directory: no `set -e`, no exit, safe in a login shell.

# The repository root is always the one this file lives in (a value inherited from another clone is ignored).
EJOURNAL_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export EJOURNAL_HOME

: "${EJOURNAL_STATE_DIR:=$EJOURNAL_HOME/.run/default}"
export EJOURNAL_STATE_DIR

# _ejournal_load_env FILE: export KEY=VALUE lines of FILE whose KEY the environment does not already have.
_ejournal_load_env() {
  local line key
  [[ -r $1 ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^(EJOURNAL_[A-Z0-9_]+)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]}
    if [[ -z ${!key+set} ]]; then
      export "$key=${BASH_REMATCH[2]}"
    fi
  done <"$1"
}

# _ejournal_random_hex: 64 random hex characters (python3, else openssl, else /dev/urandom through od).
_ejournal_random_hex() {
  local hex=""
  if command -v python3 >/dev/null 2>&1; then
    hex=$(python3 -c 'import secrets; print(secrets.token_hex(32))' 2>/dev/null) || hex=""
  fi
  if [[ ${#hex} -ne 64 ]] && command -v openssl >/dev/null 2>&1; then
    hex=$(openssl rand -hex 32 2>/dev/null) || hex=""
  fi
  if [[ ${#hex} -ne 64 ]]; then
    hex=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  fi
  printf '%s\n' "$hex"
}

# _ejournal_secrets: make sure secrets.env holds every secret (adding only the missing ones), then load it.
_ejournal_secrets() {
  local file="$EJOURNAL_STATE_DIR/secrets.env" key value missing=()
  for key in EJOURNAL_DB_PASSWORD EJOURNAL_PG_ADMIN_PASSWORD EJOURNAL_JWT_SECRET; do
    if [[ ! -f $file ]] || ! grep -q "^$key=" "$file"; then
      missing+=("$key")
    fi
  done
  if ((${#missing[@]})); then
    (
      umask 077
      for key in "${missing[@]}"; do
        # A value the caller exported is the one recorded; otherwise a new random one.
        value=${!key:-$(_ejournal_random_hex)}
        printf '%s=%s\n' "$key" "$value" >>"$file"
      done
    )
  fi
  chmod 600 "$file" 2>/dev/null || true
  _ejournal_load_env "$file"
}

mkdir -p "$EJOURNAL_STATE_DIR/logs" 2>/dev/null || true
_ejournal_load_env "$EJOURNAL_STATE_DIR/stack.env"

: "${EJOURNAL_DB_NAME:=ejournal}"
: "${EJOURNAL_PG_HOST:=127.0.0.1}"
: "${EJOURNAL_PG_PORT:=5432}"
: "${EJOURNAL_AMQP_VHOST:=ejournal}"
: "${EJOURNAL_AMQP_URI:=amqp://guest:guest@127.0.0.1:5672/$EJOURNAL_AMQP_VHOST}"
: "${EJOURNAL_PORT:=8080}"
: "${EJOURNAL_PRESET:=oshtu}"
: "${EJOURNAL_SIMULATION:=0}"
export EJOURNAL_DB_NAME EJOURNAL_PG_HOST EJOURNAL_PG_PORT EJOURNAL_AMQP_VHOST EJOURNAL_AMQP_URI \
  EJOURNAL_PORT EJOURNAL_PRESET EJOURNAL_SIMULATION

if [[ -d $EJOURNAL_STATE_DIR ]]; then
  _ejournal_secrets
fi
export EJOURNAL_DB_PASSWORD EJOURNAL_PG_ADMIN_PASSWORD EJOURNAL_JWT_SECRET

case ":$PATH:" in
  *":$EJOURNAL_HOME/.venv/bin:"*) ;;
  *) PATH="$EJOURNAL_HOME/.venv/bin:$PATH" ;;
esac
export PATH
# eventlet warns of its own deprecation on every import (a Warning, not a DeprecationWarning); the project pins
# it knowingly (ARCHITECTURE.md). EVENTLET_TESTS is the only switch eventlet reads, and only for that warning.
export EVENTLET_TESTS="${EVENTLET_TESTS:-1}"
export PYTHONPATH="$EJOURNAL_HOME:$EJOURNAL_HOME/gateway:$EJOURNAL_HOME/services/identity:$EJOURNAL_HOME/services/attendance:$EJOURNAL_HOME/services/grading:$EJOURNAL_HOME/services/makeup:$EJOURNAL_HOME/services/reports"
