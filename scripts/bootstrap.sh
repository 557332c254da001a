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

# The roles use kubernetes.core (awx/requirements.yml, galaxy.yml). Galaxy is not always reachable, PyPI is: the
# `ansible` wheel ships the collection, so take that one folder from it into the collections path.
COLLECTIONS="${ANSIBLE_COLLECTIONS_PATH:-$CACHE_DIR/collections}"
COLLECTIONS="${COLLECTIONS%%:*}"
KUBERNETES_CORE_FROM="ansible>=12,<13"
if [ ! -f "$COLLECTIONS/ansible_collections/kubernetes/core/MANIFEST.json" ]; then
  echo "bootstrap: installing kubernetes.core into $COLLECTIONS (from the $KUBERNETES_CORE_FROM wheel on PyPI)"
  wheels="$(mktemp -d)"
  trap 'rm -rf "$wheels"' EXIT
  "$VENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$wheels" "$KUBERNETES_CORE_FROM"
  "$VENV/bin/python" - "$COLLECTIONS" "$wheels"/ansible-*.whl <<'PY'
import os, shutil, sys, tempfile, zipfile
dest, wheel = sys.argv[1], sys.argv[2]
prefix = "ansible_collections/kubernetes/core/"
with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory(dir=os.path.dirname(dest) or ".") as tmp:
    members = [name for name in archive.namelist() if name.startswith(prefix)]
    if not any(name == prefix + "MANIFEST.json" for name in members):
        sys.exit(f"bootstrap: {wheel} has no {prefix}MANIFEST.json")
    archive.extractall(tmp, members)
    target = os.path.join(dest, prefix)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(os.path.dirname(target.rstrip("/")), exist_ok=True)
    os.rename(os.path.join(tmp, prefix), target)
PY
fi
