#!/usr/bin/env bash
# Installs what the lab and the tests need on a Debian machine, and nothing that is already there:
# Debian packages (PostgreSQL, Redis, sshd, rsync) and a Python virtual environment keyed by the
# requirements files. The Go builds, kwok, Azurite and the Traefik CRDs are fetched by lab/labctl.py
# into the same cache, on first use. Everything lives outside the repository.
set -euo pipefail

cd "$(dirname "$0")/.."
CACHE_DIR="${ODOO_SAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/odoo-saas-platform}"
VENV="${ODOO_SAAS_VENV:-$CACHE_DIR/venv}"
# libnss-myhostname resolves *.localhost to 127.0.0.1: the ARM emulator's PostgreSQL FQDNs are <server>.postgres.localhost.
APT_PACKAGES=(postgresql postgresql-client redis-server redis-tools openssh-server openssh-client rsync shellcheck libnss-myhostname)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged services where systemd runs; the lab runs its own instances.
fi

# Debian's postinst adds `myhostname` to the hosts line of nsswitch.conf; make sure it is there.
if ! grep -Eq '^hosts:.*\bmyhostname\b' /etc/nsswitch.conf; then
  echo "bootstrap: adding myhostname to the hosts line of /etc/nsswitch.conf"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  # before dns, so that an offline resolver is never waited for
  "${sudo_cmd[@]}" sed -i -E '/^hosts:/ { /[[:space:]]dns/ { s/[[:space:]]dns/ myhostname dns/; b }; s/$/ myhostname/ }' /etc/nsswitch.conf
fi
if ! getent hosts probe.postgres.localhost >/dev/null; then
  echo "bootstrap: probe.postgres.localhost does not resolve; check libnss-myhostname and /etc/nsswitch.conf" >&2
  exit 1
fi

for tool in go npm python3; do
  command -v "$tool" >/dev/null || { echo "bootstrap: '$tool' is required and is not on PATH" >&2; exit 1; }
done

wanted="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)"
if [ "$(cat "$VENV/.requirements-hash" 2>/dev/null || true)" != "$wanted" ]; then
  echo "bootstrap: preparing the Python environment in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements-dev.txt
  echo "$wanted" >"$VENV/.requirements-hash"
fi
