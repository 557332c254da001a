#!/usr/bin/env bash
# Runs `ansible-test sanity` on a copy of the collection laid out as
# ansible_collections/odoo_saas/platform, as ansible-test requires. No ignore file is used.
set -euo pipefail

cd "$(dirname "$0")/.."
CACHE_DIR="${ODOO_SAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/odoo-saas-platform}"
VENV="${ODOO_SAAS_VENV:-$CACHE_DIR/venv}"
TREE="$CACHE_DIR/sanity/ansible_collections/odoo_saas/platform"

# ansible-test bootstraps pip in each test venv with a get-pip script it downloads from a host this
# machine cannot reach. It uses a cached script when one exists: ours installs the same pip offline.
PIP_VERSION="$("$VENV/bin/python" - <<'PY'
import ansible_test._internal.python_requirements as r, inspect, re
print(re.search(r"pip='([^']+)'", inspect.getsource(r.get_venv_packages)).group(1))
PY
)"
GET_PIP="$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"
if [ ! -f "$GET_PIP" ]; then
  mkdir -p "$(dirname "$GET_PIP")"
  cat >"$GET_PIP" <<'PY'
"""Offline stand-in for get-pip.py: bootstrap pip with ensurepip, then install what was asked."""
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
env = dict(os.environ)
env.pop("PIP_CONFIG_FILE", None)
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=env)
PY
fi

# The tree is laid anew each run, but ansible-test's virtual environments under tests/output are kept.
KEEP="$CACHE_DIR/sanity/output"
rm -rf "$KEEP"
if [ -d "$TREE/tests/output" ]; then mv "$TREE/tests/output" "$KEEP"; fi
rm -rf "$TREE"
mkdir -p "$TREE/tests"
if [ -d "$KEEP" ]; then mv "$KEEP" "$TREE/tests/output"; fi
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$TREE/"
cd "$TREE"
PATH="$VENV/bin:$PATH" ansible-test sanity --venv --python 3.11 --requirements --color no "$@"
